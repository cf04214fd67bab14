//! Refusals with a known retry time (a spent release window, a refilling rate-limit bucket):
//! the message waits for it and never fails for it, however many times it is refused.

use crate::common::{both_backends, message, Backend, TestDb};
use ghostbridge_store::{BackoffPolicy, Status, StoreError};
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(60);

both_backends!(
    window_refusals_never_fail_a_message,
    a_deferred_message_waits_and_defer_needs_the_lease,
);

async fn window_refusals_never_fail_a_message(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let m = message(10, 1);
    store
        .insert_seen_batch(std::slice::from_ref(&m))
        .await
        .unwrap();
    let policy = BackoffPolicy {
        base: Duration::ZERO,
        max: Duration::ZERO,
        max_attempts: 3,
    };
    store.claim_batch("r1", 10, 10, LEASE).await.unwrap();
    store.mark_attested(&m.id, "r1").await.unwrap();
    let rec = store
        .record_failure(&m.id, "r1", "rpc timeout", &policy)
        .await
        .unwrap();
    assert_eq!((rec.status, rec.attempts), (Status::Attested, 0));
    // Ten times max_attempts refusals by the release window: none counts.
    for _ in 0..30 {
        let claimed = store.claim_batch("r1", 10, 10, LEASE).await.unwrap();
        assert_eq!(
            claimed.len(),
            1,
            "a deferred message is claimed again once due"
        );
        let rec = store
            .defer(
                &m.id,
                "r1",
                "ReleaseShareExceeded: window ends at 123",
                Duration::ZERO,
            )
            .await
            .unwrap();
        assert_eq!(rec.status, Status::Attested);
        assert_eq!(
            rec.attempts,
            claimed[0].attempts - 1,
            "the refused attempt is given back"
        );
        assert!(rec.lease.is_none());
        assert!(rec.last_error.unwrap().contains("ReleaseShareExceeded"));
    }
    // Transient failures still count and stay bounded: the third claim is the last attempt.
    for _ in 0..2 {
        store.claim_batch("r1", 10, 10, LEASE).await.unwrap();
        let rec = store
            .record_failure(&m.id, "r1", "rpc timeout", &policy)
            .await
            .unwrap();
        assert_eq!(rec.status, Status::Attested);
    }
    store.claim_batch("r1", 10, 10, LEASE).await.unwrap();
    let rec = store
        .record_failure(&m.id, "r1", "rpc timeout", &policy)
        .await
        .unwrap();
    assert_eq!(rec.status, Status::FailedPermanently);
}

async fn a_deferred_message_waits_and_defer_needs_the_lease(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let m = message(10, 1);
    store
        .insert_seen_batch(std::slice::from_ref(&m))
        .await
        .unwrap();
    // No lease: refused.
    assert!(matches!(
        store
            .defer(&m.id, "r1", "window", Duration::from_secs(3600))
            .await,
        Err(StoreError::LeaseNotHeld { .. })
    ));
    store.claim_batch("r1", 10, 10, LEASE).await.unwrap();
    let rec = store
        .defer(&m.id, "r1", "window", Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!((rec.status, rec.attempts), (Status::Seen, 0));
    // Not due before the window ends, for this relayer or another.
    assert!(store
        .claim_batch("r1", 10, 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .claim_batch("r2", 10, 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let counts = store.status_counts().await.unwrap();
    assert_eq!(counts.seen, 1);
}
