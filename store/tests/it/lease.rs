//! Leases, expiry, retries with backoff, and what `claim_batch` selects.

use crate::common::{both_backends, message, tx, Backend, TestDb};
use alloy_primitives::U256;
use ghostbridge_store::{BackoffPolicy, Status, Store, StoreError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

both_backends!(
    expired_lease_is_claimable_and_old_holder_is_locked_out,
    extend_lease_keeps_the_message,
    failure_is_rescheduled_with_backoff_then_given_up,
    claim_filters_by_destination_and_limit,
);

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

async fn expired_lease_is_claimable_and_old_holder_is_locked_out(backend: Backend) {
    let db = TestDb::new(backend).await;
    // Two pools: the crashed relayer and its successor.
    let (a, b) = (db.open().await, db.open().await);
    let m = message(10, 1);
    a.insert_seen(&m).await.unwrap();
    let claimed = a
        .claim_batch("crashed", 10, 5, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    a.mark_attested(&m.id, "crashed").await.unwrap();
    assert!(b
        .claim_batch("successor", 10, 5, Duration::from_secs(60))
        .await
        .unwrap()
        .is_empty());

    tokio::time::sleep(Duration::from_millis(400)).await;
    // The expired holder can no longer move it, even though nobody took it over yet.
    let err = a
        .mark_submitted(&m.id, "crashed", &tx(1), 0, U256::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseNotHeld { .. }), "{err}");

    let claimed = b
        .claim_batch("successor", 10, 5, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].status, claimed[0].attempts),
        (Status::Attested, 1)
    );
    assert_eq!(claimed[0].lease.as_ref().unwrap().owner, "successor");
    b.mark_submitted(&m.id, "successor", &tx(1), 0, U256::ZERO)
        .await
        .unwrap();
    let err = a.mark_confirmed(&m.id, "crashed").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::LeaseNotHeld { holder: Some(h), .. } if h == "successor"),
        "{err}"
    );
    b.mark_confirmed(&m.id, "successor").await.unwrap();
    db.cleanup().await;
}

async fn extend_lease_keeps_the_message(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let m = message(10, 1);
    store.insert_seen(&m).await.unwrap();
    store
        .claim_batch("r1", 10, 1, Duration::from_millis(300))
        .await
        .unwrap();
    let rec = store
        .extend_lease(&m.id, "r1", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(rec.lease.unwrap().expires_at_ms > now_ms() + 50_000);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(store
        .claim_batch("r2", 10, 1, Duration::from_secs(60))
        .await
        .unwrap()
        .is_empty());
    store.mark_attested(&m.id, "r1").await.unwrap();
    db.cleanup().await;
}

async fn failure_is_rescheduled_with_backoff_then_given_up(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let m = message(10, 1);
    store.insert_seen(&m).await.unwrap();
    let lease = Duration::from_secs(60);

    // A long backoff: the message is not due again.
    let slow = BackoffPolicy {
        base: Duration::from_secs(100),
        max: Duration::from_secs(1000),
        max_attempts: 3,
    };
    store.claim_batch("r1", 10, 1, lease).await.unwrap();
    let before = now_ms();
    let rec = store
        .record_failure(&m.id, "r1", "rpc timeout", &slow)
        .await
        .unwrap();
    assert_eq!(rec.status, Status::Seen);
    assert_eq!(rec.last_error.as_deref(), Some("rpc timeout"));
    assert!(rec.lease.is_none());
    // attempt 1: delay in [base/2, base].
    assert!(
        rec.next_attempt_at_ms >= before + 50_000,
        "{}",
        rec.next_attempt_at_ms
    );
    assert!(rec.next_attempt_at_ms <= now_ms() + 100_000);
    assert!(store
        .claim_batch("r1", 10, 1, lease)
        .await
        .unwrap()
        .is_empty());
    let counts = store.status_counts().await.unwrap();
    assert_eq!((counts.retrying, counts.seen), (1, 1));
    assert!(counts.oldest_pending_created_at_ms.unwrap() <= now_ms());

    // Make it due again (operator "retry now"), then exhaust the attempts.
    force_due(&store).await;
    let fast = BackoffPolicy {
        base: Duration::ZERO,
        max: Duration::ZERO,
        ..slow
    };
    for attempt in 2..=3 {
        let claimed = store.claim_batch("r1", 10, 1, lease).await.unwrap();
        assert_eq!(claimed[0].attempts, attempt);
        let rec = store
            .record_failure(&m.id, "r1", "reverted: paused", &fast)
            .await
            .unwrap();
        if attempt < 3 {
            assert_eq!(rec.status, Status::Seen);
        } else {
            assert_eq!(rec.status, Status::FailedPermanently);
            let reason = rec.failure_reason.unwrap();
            assert!(
                reason.contains("3 attempts") && reason.contains("reverted: paused"),
                "{reason}"
            );
        }
    }
    assert!(store
        .claim_batch("r1", 10, 1, lease)
        .await
        .unwrap()
        .is_empty());
    // Without the lease, a failure report is refused.
    let m2 = message(10, 2);
    store.insert_seen(&m2).await.unwrap();
    let err = store
        .record_failure(&m2.id, "r1", "x", &fast)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseNotHeld { .. }), "{err}");
    db.cleanup().await;
}

async fn force_due(store: &Store) {
    let sql = "UPDATE messages SET next_attempt_at = 0";
    match store {
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop).unwrap(),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop).unwrap(),
    }
}

async fn claim_filters_by_destination_and_limit(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let to10: Vec<_> = (1..=30).map(|n| message(10, n)).collect();
    let to11: Vec<_> = (1..=5).map(|n| message(11, n)).collect();
    store.insert_seen_batch(&to10).await.unwrap();
    store.insert_seen_batch(&to11).await.unwrap();
    let lease = Duration::from_secs(60);

    let first = store.claim_batch("r1", 10, 20, lease).await.unwrap();
    assert_eq!(first.len(), 20);
    assert!(first.iter().all(|m| m.dst_chain == 10));
    let second = store.claim_batch("r2", 10, 20, lease).await.unwrap();
    assert_eq!(second.len(), 10);
    assert!(second.iter().all(|m| first.iter().all(|f| f.id != m.id)));
    assert!(store
        .claim_batch("r3", 10, 20, lease)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.claim_batch("r3", 11, 20, lease).await.unwrap().len(),
        5
    );
    assert!(store
        .claim_batch("r3", 12, 20, lease)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .claim_batch("r3", 10, 0, lease)
        .await
        .unwrap()
        .is_empty());
    db.cleanup().await;
}

/// The claim's inner select is served by the partial index `messages_due`.
#[tokio::test]
async fn sqlite_claim_uses_due_index() {
    let db = TestDb::new(Backend::Sqlite).await;
    let Store::Sqlite(pool) = db.open().await else {
        unreachable!()
    };
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT id FROM messages \
         WHERE dst_chain = 1 AND status IN ('seen', 'attested', 'submitted') \
         AND next_attempt_at <= 5 AND (lease_expires_at IS NULL OR lease_expires_at <= 5) \
         ORDER BY next_attempt_at LIMIT 10",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let text: Vec<_> = plan.iter().map(|r| r.3.as_str()).collect();
    assert!(text.iter().any(|d| d.contains("messages_due")), "{text:?}");
    assert!(
        !text.iter().any(|d| d.contains("TEMP B-TREE")),
        "sorts in memory: {text:?}"
    );
}
