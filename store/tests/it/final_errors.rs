//! Final errors: counted apart from transient ones, bounded, then `failed_permanently` with the
//! reason; `redeliver` (operator) puts the message back (issue 11, item 2).

use crate::common::{both_backends, message, Backend, TestDb};
use alloy_primitives::B256;
use ghostbridge_store::{BackoffPolicy, Status, StoreError};
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(60);
const MAX_FINAL: u32 = 3;

both_backends!(
    final_errors_are_bounded_then_failed_and_redelivered,
    final_failure_needs_the_lease_and_redeliver_only_failed,
);

fn retry_now() -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::ZERO,
        max: Duration::ZERO,
        max_attempts: 100,
    }
}

async fn final_errors_are_bounded_then_failed_and_redelivered(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let (bad, good) = (message(10, 1), message(10, 2));
    store
        .insert_seen_batch(&[bad.clone(), good.clone()])
        .await
        .unwrap();
    let policy = retry_now();

    // Attempt 1: attested, then the release reverts with a final error.
    assert_eq!(
        store.claim_batch("r1", 10, 10, LEASE).await.unwrap().len(),
        2
    );
    store.mark_attested(&bad.id, "r1").await.unwrap();
    let rec = store
        .record_final_failure(&bad.id, "r1", "UnknownRoute", &policy, MAX_FINAL)
        .await
        .unwrap();
    assert_eq!((rec.status, rec.final_attempts), (Status::Attested, 1));
    assert!(rec.lease.is_none());
    assert!(rec.last_error.unwrap().contains("UnknownRoute"));

    // Transient failures never count, and progress does not reset the count.
    let claimed = store.claim_batch("r1", 10, 10, LEASE).await.unwrap();
    assert_eq!(
        claimed.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![bad.id]
    );
    for _ in 0..5 {
        let rec = store
            .record_failure(&bad.id, "r1", "rpc timeout", &policy)
            .await
            .unwrap();
        assert_eq!((rec.status, rec.final_attempts), (Status::Attested, 1));
        store.claim_batch("r1", 10, 10, LEASE).await.unwrap();
    }
    let rec = store
        .record_final_failure(&bad.id, "r1", "UnknownRoute", &policy, MAX_FINAL)
        .await
        .unwrap();
    assert_eq!((rec.status, rec.final_attempts), (Status::Attested, 2));

    // Attempt 3 is the last: failed with its reason, no longer claimed.
    store.claim_batch("r1", 10, 10, LEASE).await.unwrap();
    let rec = store
        .record_final_failure(
            &bad.id,
            "r1",
            "UnknownRoute(31337, 0xabc)",
            &policy,
            MAX_FINAL,
        )
        .await
        .unwrap();
    assert_eq!(
        (rec.status, rec.final_attempts),
        (Status::FailedPermanently, 3)
    );
    let reason = rec.failure_reason.unwrap();
    assert!(
        reason.contains("3 of 3") && reason.contains("UnknownRoute(31337, 0xabc)"),
        "{reason}"
    );
    assert!(store
        .claim_batch("r1", 10, 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let failed = store.failed_messages(10).await.unwrap();
    assert_eq!(
        failed.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![bad.id]
    );
    let counts = store.status_counts().await.unwrap();
    assert_eq!((counts.failed_permanently, counts.seen), (1, 1));

    // The operator fixed the cause: back to seen, counters cleared, claimable now.
    let rec = store.redeliver(&bad.id).await.unwrap();
    assert_eq!(
        (rec.status, rec.attempts, rec.final_attempts),
        (Status::Seen, 0, 0)
    );
    assert!(rec.failure_reason.is_none() && rec.last_error.is_none() && rec.lease.is_none());
    assert!(store.failed_messages(10).await.unwrap().is_empty());
    let claimed = store.claim_batch("r2", 10, 10, LEASE).await.unwrap();
    assert!(claimed.iter().any(|m| m.id == bad.id));
    store.mark_attested(&bad.id, "r2").await.unwrap();
    store.mark_confirmed(&bad.id, "r2").await.unwrap();
    db.cleanup().await;
}

async fn final_failure_needs_the_lease_and_redeliver_only_failed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let m = message(10, 1);
    store.insert_seen(&m).await.unwrap();
    let policy = retry_now();
    let err = store
        .record_final_failure(&m.id, "r1", "x", &policy, MAX_FINAL)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseNotHeld { .. }), "{err}");
    let err = store.redeliver(&m.id).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidTransition {
                from: Status::Seen,
                to: Status::Seen,
                ..
            }
        ),
        "{err}"
    );
    let unknown = B256::repeat_byte(9);
    assert!(matches!(
        store.redeliver(&unknown).await.unwrap_err(),
        StoreError::NotFound(id) if id == unknown
    ));
    // A backoff between final attempts: not due again at once.
    store.claim_batch("r1", 10, 1, LEASE).await.unwrap();
    let slow = BackoffPolicy {
        base: Duration::from_secs(100),
        max: Duration::from_secs(1000),
        ..policy
    };
    store
        .record_final_failure(&m.id, "r1", "x", &slow, MAX_FINAL)
        .await
        .unwrap();
    assert!(store
        .claim_batch("r1", 10, 1, LEASE)
        .await
        .unwrap()
        .is_empty());
    db.cleanup().await;
}
