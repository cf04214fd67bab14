//! A vault (locks) and a minter (burns) on one chain number their messages independently: equal
//! nonces from the two contracts are two messages (issue 11, item 1).

use crate::common::{both_backends, message_from, Backend, TestDb, MINTER, VAULT};
use alloy_primitives::{Address, B256};
use ghostbridge_store::{InsertOutcome, Status, Store, StoreError};
use std::{borrow::Cow, time::Duration};

both_backends!(
    lock_and_burn_with_equal_nonce_are_two_messages,
    migration_keys_existing_rows_by_their_source_contract,
);

async fn lock_and_burn_with_equal_nonce_are_two_messages(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let lock = message_from(VAULT, 10, 7);
    let burn = message_from(MINTER, 10, 7);
    assert_eq!(
        store.insert_seen(&lock).await.unwrap(),
        InsertOutcome::Inserted
    );
    assert_eq!(
        store.insert_seen(&burn).await.unwrap(),
        InsertOutcome::Inserted
    );
    assert_eq!(
        store.insert_seen(&burn).await.unwrap(),
        InsertOutcome::AlreadyKnown
    );
    // Interleaved in one batch, as a scanner of both contracts sees them.
    let batch: Vec<_> = (8..20)
        .flat_map(|n| [message_from(VAULT, 10, n), message_from(MINTER, 10, n)])
        .collect();
    assert_eq!(store.insert_seen_batch(&batch).await.unwrap(), 24);
    for m in [&lock, &burn] {
        let rec = store.message(&m.id).await.unwrap().unwrap();
        assert_eq!((rec.src_contract, rec.nonce), (m.src_contract, 7));
    }
    // Both are claimed and confirmed independently.
    let claimed = store
        .claim_batch("r1", 10, 100, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 26);
    store.mark_confirmed(&burn.id, "r1").await.unwrap();
    assert_eq!(
        store.message(&lock.id).await.unwrap().unwrap().status,
        Status::Seen
    );

    // The same contract and nonce with other content is still refused, naming the contract.
    let mut forged = message_from(MINTER, 10, 7);
    forged.id = B256::repeat_byte(0x42);
    let err = store.insert_seen(&forged).await.unwrap_err();
    assert!(
        matches!(err, StoreError::DuplicateNonce { nonce: 7, src_contract, existing, .. }
            if src_contract == MINTER && existing == burn.id),
        "{err}"
    );
    db.cleanup().await;
}

/// Rows written under schema 1 get their source contract from `encoded`; afterwards a burn
/// with a lock's nonce is accepted.
async fn migration_keys_existing_rows_by_their_source_contract(backend: Backend) {
    let db = TestDb::unmigrated(backend).await;
    let store = db.open().await;
    let dir = match backend {
        Backend::Sqlite => concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"),
        Backend::Postgres => concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"),
    };
    let mut v1 = sqlx::migrate::Migrator::new(std::path::Path::new(dir))
        .await
        .unwrap();
    v1.migrations = Cow::Owned(
        v1.migrations
            .iter()
            .filter(|m| m.version == 1)
            .cloned()
            .collect(),
    );
    let lock = message_from(VAULT, 10, 7);
    let odd = Address::repeat_byte(0x0d);
    let old = [lock.clone(), message_from(odd, 11, 7)];
    const INSERT_V1: &str = "INSERT INTO messages (id, src_chain, dst_chain, nonce, encoded, \
        status, attempts, next_attempt_at, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, 'seen', 0, 0, 0, 0)";
    macro_rules! seed_v1 {
        ($pool:expr) => {{
            v1.run($pool).await.unwrap();
            for m in &old {
                sqlx::query(INSERT_V1)
                    .bind(m.id.as_slice())
                    .bind(1i64)
                    .bind(i64::try_from(m.dst_chain).unwrap())
                    .bind(i64::try_from(m.nonce).unwrap())
                    .bind(m.encoded.as_ref())
                    .execute($pool)
                    .await
                    .unwrap();
            }
        }};
    }
    match &store {
        Store::Sqlite(pool) => seed_v1!(pool),
        Store::Postgres(pool) => seed_v1!(pool),
    }
    store.migrate().await.unwrap();
    for m in &old {
        let rec = store.message(&m.id).await.unwrap().unwrap();
        assert_eq!(rec.src_contract, m.src_contract, "backfilled from encoded");
        assert_eq!((rec.status, rec.final_attempts), (Status::Seen, 0));
    }
    let burn = message_from(MINTER, 10, 7);
    assert_eq!(
        store.insert_seen(&burn).await.unwrap(),
        InsertOutcome::Inserted
    );
    assert_eq!(store.status_counts().await.unwrap().seen, 3);
    store.close().await;
    db.cleanup().await;
}
