//! Status transitions and their refusals.

use crate::common::{both_backends, message, tx, Backend, TestDb};
use alloy_primitives::{B256, U256};
use ghostbridge_store::{InsertOutcome, Status, StoreError};
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(60);

both_backends!(
    happy_path_seen_to_confirmed,
    transitions_refused_out_of_order,
    transitions_need_the_lease,
    insert_is_idempotent_and_refuses_duplicate_nonce,
    permanent_failure_needs_reason,
);

async fn happy_path_seen_to_confirmed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let m = message(10, 1);
    assert_eq!(
        store.insert_seen(&m).await.unwrap(),
        InsertOutcome::Inserted
    );

    let claimed = store.claim_batch("r1", 10, 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let rec = &claimed[0];
    assert_eq!((rec.id, rec.status, rec.attempts), (m.id, Status::Seen, 1));
    assert_eq!(rec.encoded, m.encoded);
    assert_eq!(rec.lease.as_ref().unwrap().owner, "r1");

    let rec = store.mark_attested(&m.id, "r1").await.unwrap();
    assert_eq!((rec.status, rec.attempts), (Status::Attested, 0));

    let rec = store
        .mark_submitted(&m.id, "r1", &tx(1), 7, U256::from(100))
        .await
        .unwrap();
    assert_eq!(rec.status, Status::Submitted);
    let sub = rec.submission.unwrap();
    assert_eq!(
        (sub.tx_hash, sub.account_nonce, sub.fee),
        (tx(1), 7, U256::from(100))
    );

    // Replacement transaction (fee bump, same account nonce).
    let rec = store
        .mark_submitted(&m.id, "r1", &tx(2), 7, U256::MAX)
        .await
        .unwrap();
    assert_eq!(rec.submission.unwrap().fee, U256::MAX);
    assert!(store.messages_by_tx(&tx(1)).await.unwrap().is_empty());
    assert_eq!(store.messages_by_tx(&tx(2)).await.unwrap()[0].id, m.id);

    let rec = store.mark_confirmed(&m.id, "r1").await.unwrap();
    assert_eq!(rec.status, Status::Confirmed);
    assert!(rec.lease.is_none());
    assert_eq!(store.message(&m.id).await.unwrap().unwrap(), rec);

    // Terminal: nothing left to claim.
    assert!(store
        .claim_batch("r1", 10, 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let counts = store.status_counts().await.unwrap();
    assert_eq!((counts.confirmed, counts.seen), (1, 0));
    assert_eq!(counts.oldest_pending_created_at_ms, None);
    db.cleanup().await;
}

async fn transitions_refused_out_of_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let m = message(10, 1);
    store.insert_seen(&m).await.unwrap();
    store.claim_batch("r1", 10, 1, LEASE).await.unwrap();

    // seen → submitted skips the attestation.
    let err = store
        .mark_submitted(&m.id, "r1", &tx(1), 0, U256::ZERO)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidTransition {
                from: Status::Seen,
                to: Status::Submitted,
                ..
            }
        ),
        "{err}"
    );
    store.mark_attested(&m.id, "r1").await.unwrap();
    // attested → attested is not progress.
    let err = store.mark_attested(&m.id, "r1").await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidTransition {
                from: Status::Attested,
                ..
            }
        ),
        "{err}"
    );
    store
        .mark_submitted(&m.id, "r1", &tx(1), 0, U256::ZERO)
        .await
        .unwrap();
    // submitted → attested goes backwards.
    let err = store.mark_attested(&m.id, "r1").await.unwrap_err();
    assert!(matches!(
        err,
        StoreError::InvalidTransition {
            from: Status::Submitted,
            ..
        }
    ));
    store.mark_confirmed(&m.id, "r1").await.unwrap();

    // A confirmed message never goes back, nor fails, nor is confirmed twice.
    for err in [
        store.mark_confirmed(&m.id, "r1").await.unwrap_err(),
        store.mark_attested(&m.id, "r1").await.unwrap_err(),
        store
            .mark_submitted(&m.id, "r1", &tx(9), 1, U256::ZERO)
            .await
            .unwrap_err(),
        store
            .fail_permanently(&m.id, "r1", "late")
            .await
            .unwrap_err(),
        store
            .release(&m.id, "r1", Duration::ZERO)
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                StoreError::InvalidTransition {
                    from: Status::Confirmed,
                    ..
                }
            ),
            "{err}"
        );
        assert!(!err.is_retryable());
    }
    let rec = store.message(&m.id).await.unwrap().unwrap();
    assert_eq!(
        (rec.status, rec.submission.unwrap().tx_hash),
        (Status::Confirmed, tx(1))
    );

    let unknown = B256::repeat_byte(0xee);
    assert!(matches!(
        store.mark_attested(&unknown, "r1").await.unwrap_err(),
        StoreError::NotFound(id) if id == unknown
    ));
    assert!(store.message(&unknown).await.unwrap().is_none());
    db.cleanup().await;
}

async fn transitions_need_the_lease(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let m = message(10, 1);
    store.insert_seen(&m).await.unwrap();

    // Nobody holds it yet.
    let err = store.mark_attested(&m.id, "r1").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::LeaseNotHeld { holder: None, .. }),
        "{err}"
    );

    store.claim_batch("r1", 10, 1, LEASE).await.unwrap();
    // A live lease is exclusive: another relayer can neither claim nor move it.
    assert!(store
        .claim_batch("r2", 10, 1, LEASE)
        .await
        .unwrap()
        .is_empty());
    for err in [
        store.mark_attested(&m.id, "r2").await.unwrap_err(),
        store.mark_confirmed(&m.id, "r2").await.unwrap_err(),
        store
            .fail_permanently(&m.id, "r2", "nope")
            .await
            .unwrap_err(),
        store
            .release(&m.id, "r2", Duration::ZERO)
            .await
            .unwrap_err(),
        store.extend_lease(&m.id, "r2", LEASE).await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, StoreError::LeaseNotHeld { relayer, holder: Some(h), .. }
                if relayer == "r2" && h == "r1"),
            "{err}"
        );
    }
    // The holder releases; after that it can't move it either, but anyone can claim it.
    let rec = store.release(&m.id, "r1", Duration::ZERO).await.unwrap();
    assert!(rec.lease.is_none());
    assert!(matches!(
        store.mark_attested(&m.id, "r1").await.unwrap_err(),
        StoreError::LeaseNotHeld { .. }
    ));
    let claimed = store.claim_batch("r2", 10, 1, LEASE).await.unwrap();
    assert_eq!((claimed[0].id, claimed[0].attempts), (m.id, 2));
    store.mark_attested(&m.id, "r2").await.unwrap();
    db.cleanup().await;
}

async fn insert_is_idempotent_and_refuses_duplicate_nonce(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let m = message(10, 5);
    assert_eq!(
        store.insert_seen(&m).await.unwrap(),
        InsertOutcome::Inserted
    );
    assert_eq!(
        store.insert_seen(&m).await.unwrap(),
        InsertOutcome::AlreadyKnown
    );

    // Same (dst, src, nonce), other content.
    let mut forged = message(10, 5);
    forged.id = B256::repeat_byte(0x42);
    let err = store.insert_seen(&forged).await.unwrap_err();
    assert!(
        matches!(err, StoreError::DuplicateNonce { nonce: 5, existing, new, .. }
            if existing == m.id && new == forged.id),
        "{err}"
    );
    // A batch with a conflict is refused whole.
    let batch = vec![message(10, 6), forged.clone()];
    assert!(store.insert_seen_batch(&batch).await.is_err());
    assert!(store.message(&batch[0].id).await.unwrap().is_none());

    // Same nonce towards another destination is another message.
    assert_eq!(
        store.insert_seen(&message(11, 5)).await.unwrap(),
        InsertOutcome::Inserted
    );
    let many: Vec<_> = (100..200).map(|n| message(10, n)).collect();
    assert_eq!(store.insert_seen_batch(&many).await.unwrap(), 100);
    assert_eq!(store.insert_seen_batch(&many).await.unwrap(), 0);
    assert_eq!(store.status_counts().await.unwrap().seen, 102);
    db.cleanup().await;
}

async fn permanent_failure_needs_reason(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let m = message(10, 1);
    store.insert_seen(&m).await.unwrap();
    store.claim_batch("r1", 10, 1, LEASE).await.unwrap();
    assert!(matches!(
        store.fail_permanently(&m.id, "r1", "  ").await.unwrap_err(),
        StoreError::MissingReason(id) if id == m.id
    ));
    let rec = store
        .fail_permanently(&m.id, "r1", "token not registered")
        .await
        .unwrap();
    assert_eq!(rec.status, Status::FailedPermanently);
    assert_eq!(rec.failure_reason.as_deref(), Some("token not registered"));
    assert!(store
        .claim_batch("r1", 10, 1, LEASE)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.mark_confirmed(&m.id, "r1").await.unwrap_err(),
        StoreError::InvalidTransition {
            from: Status::FailedPermanently,
            ..
        }
    ));
    assert_eq!(store.status_counts().await.unwrap().failed_permanently, 1);
    db.cleanup().await;
}

/// `sqlite::memory:` works as a throw-away store (one shared in-memory database per pool).
#[tokio::test]
async fn in_memory_sqlite_store() {
    let store = ghostbridge_store::Store::open("sqlite::memory:")
        .await
        .unwrap();
    assert_eq!(store.backend(), "sqlite");
    let m = message(10, 1);
    store.insert_seen(&m).await.unwrap();
    let claimed = store.claim_batch("r1", 10, 5, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    store.mark_attested(&m.id, "r1").await.unwrap();
    assert_eq!(
        store.message(&m.id).await.unwrap().unwrap().status,
        Status::Attested
    );
}
