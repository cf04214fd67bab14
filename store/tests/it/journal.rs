//! The validator's journal: one admitted content per (source chain, source contract, nonce),
//! ever; the batch roots it signed; its own cursors. None of it shares rows with the relayer's
//! lifecycle.

use crate::common::{both_backends, message, message_from, Backend, TestDb, MINTER, VAULT};
use alloy_primitives::{keccak256, Address, Bytes, B256};
use ghostbridge_store::{Admission, AdmittedMessage, NewMessage, Store, StoreError};
use std::borrow::Cow;

both_backends!(
    admit_is_idempotent_and_admitted_round_trips,
    conflicting_admission_is_refused_and_nothing_written,
    concurrent_validators_agree_on_one_content,
    signed_batch_journal,
    relayer_and_validator_rows_stay_apart,
    migration_carries_the_old_journal_over,
);

/// The fixture message as the validator's follower admits it.
fn admission(m: &NewMessage) -> Admission {
    Admission {
        id: m.id,
        src_chain: m.src_chain,
        src_contract: m.src_contract,
        nonce: m.nonce,
        dst_chain: m.dst_chain,
        encoded: m.encoded.clone(),
    }
}

async fn admit_is_idempotent_and_admitted_round_trips(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let (a, b) = (admission(&message(10, 7)), admission(&message(10, 8)));
    assert_eq!(store.admit(&[a.clone(), b.clone()]).await.unwrap(), 2);
    // A rescan admits the same messages again: nothing changes.
    assert_eq!(store.admit(&[a.clone(), b.clone()]).await.unwrap(), 0);
    assert_eq!(store.admit(&[]).await.unwrap(), 0);
    // A burn with the lock's nonce is another message (the minter numbers on its own).
    let burn = admission(&message_from(MINTER, 10, 7));
    assert_eq!(store.admit(&[a.clone(), burn.clone()]).await.unwrap(), 1);

    let got = store.admitted(&a.id).await.unwrap().unwrap();
    assert!(got.admitted_at_ms > 0);
    assert_eq!(
        got,
        AdmittedMessage {
            id: a.id,
            src_chain: 1,
            src_contract: VAULT,
            nonce: 7,
            dst_chain: 10,
            encoded: a.encoded.clone(),
            admitted_at_ms: got.admitted_at_ms,
        }
    );
    assert_eq!(
        store
            .admitted(&burn.id)
            .await
            .unwrap()
            .unwrap()
            .src_contract,
        MINTER
    );
    assert_eq!(
        store.admitted(&B256::repeat_byte(0x55)).await.unwrap(),
        None
    );

    // u64 values above i64::MAX round-trip.
    let encoded = Bytes::from(vec![0xee; 288]);
    let far = Admission {
        id: keccak256(&encoded),
        src_chain: u64::MAX,
        src_contract: VAULT,
        nonce: u64::MAX,
        dst_chain: u64::MAX - 1,
        encoded,
    };
    assert_eq!(store.admit(core::slice::from_ref(&far)).await.unwrap(), 1);
    let got = store.admitted(&far.id).await.unwrap().unwrap();
    assert_eq!(
        (got.src_chain, got.nonce, got.dst_chain, got.encoded),
        (u64::MAX, u64::MAX, u64::MAX - 1, far.encoded)
    );
    db.cleanup().await;
}

async fn conflicting_admission_is_refused_and_nothing_written(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let first = admission(&message(10, 7));
    assert_eq!(store.admit(core::slice::from_ref(&first)).await.unwrap(), 1);

    // The chain now shows another message under the admitted nonce (here: another destination),
    // in one range with a message never seen before.
    let other = admission(&message(11, 7));
    assert_eq!(
        (other.src_chain, other.src_contract, other.nonce),
        (1, VAULT, 7)
    );
    assert_ne!(other.id, first.id);
    let fresh = admission(&message(10, 9));
    let err = store
        .admit(&[fresh.clone(), other.clone()])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ConflictingAdmission { src_chain: 1, src_contract, nonce: 7, existing, new }
            if src_contract == VAULT && existing == first.id && new == other.id),
        "{err}"
    );
    assert!(!err.is_retryable());
    // All or nothing: the fresh message of the refused range is not admitted either.
    assert_eq!(store.admitted(&fresh.id).await.unwrap(), None);
    assert_eq!(store.admitted(&other.id).await.unwrap(), None);
    assert_eq!(
        store.admitted(&first.id).await.unwrap().unwrap().dst_chain,
        10,
        "the first content stays"
    );
    // The conflict is refused however often it is retried.
    assert!(matches!(
        store.admit(core::slice::from_ref(&other)).await,
        Err(StoreError::ConflictingAdmission { .. })
    ));

    // An admitted id under other coordinates is the caller's mix-up: refused, nothing written.
    let moved = Admission {
        nonce: 99,
        ..first.clone()
    };
    let err = store.admit(&[fresh.clone(), moved]).await.unwrap_err();
    assert!(
        matches!(err, StoreError::AdmissionIdReused { id, nonce: 99, .. } if id == first.id),
        "{err}"
    );
    assert_eq!(store.admitted(&fresh.id).await.unwrap(), None);
    // The range without the conflict goes through.
    assert_eq!(store.admit(&[first, fresh.clone()]).await.unwrap(), 1);
    assert!(store.admitted(&fresh.id).await.unwrap().is_some());
    db.cleanup().await;
}

/// Two validator processes racing to admit different contents for the same nonces: for each
/// nonce exactly one content is admitted, the other refused, and the journal holds the winner.
async fn concurrent_validators_agree_on_one_content(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut tasks = Vec::new();
    for dst in [10u64, 11] {
        let store = db.open().await;
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for nonce in 1..=200u64 {
                let m = admission(&message(dst, nonce));
                match store.admit(core::slice::from_ref(&m)).await {
                    Ok(1) => won.push((nonce, m.id)),
                    Ok(n) => panic!("nonce {nonce}: {n} admitted"),
                    Err(StoreError::ConflictingAdmission { .. }) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            won
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(
        all.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        (1..=200).collect::<Vec<_>>()
    );
    let store = db.open().await;
    for (nonce, id) in &all {
        assert_eq!(store.admitted(id).await.unwrap().unwrap().nonce, *nonce);
    }
    db.cleanup().await;
}

async fn signed_batch_journal(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let msgs: Vec<_> = (1..=3).map(|n| admission(&message(10, n))).collect();
    store.admit(&msgs).await.unwrap();
    let ids: Vec<_> = msgs.iter().map(|m| m.id).collect();
    let (root, root2) = (B256::repeat_byte(7), B256::repeat_byte(8));
    assert!(store.put_signed_batch(&root, 10, &ids).await.unwrap());
    // A root commits to its members: journaled again, it keeps the first ones.
    assert!(!store.put_signed_batch(&root, 10, &ids[..1]).await.unwrap());
    assert_eq!(
        store.signed_batch_members(&root).await.unwrap(),
        Some(ids.clone())
    );
    assert_eq!(store.signed_batch_members(&B256::ZERO).await.unwrap(), None);
    assert!(store.put_signed_batch(&root2, 10, &ids[1..]).await.unwrap());
    assert_eq!(
        store.signed_batches_containing(&ids[2]).await.unwrap(),
        vec![root, root2]
    );
    assert_eq!(
        store.signed_batches_containing(&ids[0]).await.unwrap(),
        vec![root]
    );

    // A member that is not admitted: refused, and nothing of that batch is written.
    let unknown = message(10, 50).id;
    let root3 = B256::repeat_byte(9);
    assert!(store
        .put_signed_batch(&root3, 10, &[ids[0], unknown])
        .await
        .is_err());
    assert_eq!(store.signed_batch_members(&root3).await.unwrap(), None);
    assert_eq!(
        store.signed_batches_containing(&ids[0]).await.unwrap(),
        vec![root]
    );

    // The relayer's batches are another table: neither sees the other's roots.
    assert_eq!(store.batch_members(&root).await.unwrap(), None);
    assert!(store.batches_containing(&ids[0]).await.unwrap().is_empty());
    let relayer_root = B256::repeat_byte(0x0a);
    assert!(store.put_batch(&relayer_root, 10, &ids).await.unwrap());
    assert_eq!(
        store.signed_batch_members(&relayer_root).await.unwrap(),
        None
    );
    assert_eq!(
        store.signed_batches_containing(&ids[0]).await.unwrap(),
        vec![root]
    );
    db.cleanup().await;
}

/// A relayer and a validator on one database: the validator never takes the relayer's `seen`
/// rows for admitted messages, never writes them, and their cursors move apart.
async fn relayer_and_validator_rows_stay_apart(backend: Backend) {
    let db = TestDb::new(backend).await;
    let relayer = db.open().await;
    let validator = db.open().await;
    let scanned = message(10, 1);
    relayer.insert_seen(&scanned).await.unwrap();
    assert_eq!(validator.admitted(&scanned.id).await.unwrap(), None);

    let admitted = message(10, 2);
    validator.admit(&[admission(&admitted)]).await.unwrap();
    assert_eq!(relayer.message(&admitted.id).await.unwrap(), None);
    assert_eq!(relayer.status_counts().await.unwrap().seen, 1);
    // The same message in both is fine either way round.
    validator.admit(&[admission(&scanned)]).await.unwrap();
    relayer.insert_seen(&admitted).await.unwrap();
    assert_eq!(relayer.status_counts().await.unwrap().seen, 2);

    let (h1, h2) = (B256::repeat_byte(1), B256::repeat_byte(2));
    relayer.set_cursor(1, &VAULT, 100, &h1).await.unwrap();
    assert_eq!(validator.admission_cursor(1, &VAULT).await.unwrap(), None);
    validator
        .set_admission_cursor(1, &VAULT, 50, &h2)
        .await
        .unwrap();
    validator
        .set_admission_cursor(1, &VAULT, 60, &h2)
        .await
        .unwrap();
    let mine = validator
        .admission_cursor(1, &VAULT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            mine.chain_id,
            mine.contract,
            mine.block_number,
            mine.block_hash
        ),
        (1, VAULT, 60, h2)
    );
    let theirs = relayer.cursor(1, &VAULT).await.unwrap().unwrap();
    assert_eq!((theirs.block_number, theirs.block_hash), (100, h1));
    assert_eq!(validator.admission_cursor(1, &MINTER).await.unwrap(), None);
    db.cleanup().await;
}

/// Schema 3 → 4: the nonces the validator journaled in `signed_nonces` whose message it stored
/// are admitted with that content; a journaled nonce without its message, and a message only the
/// relayer stored, are not. Batches come over when attested and all members admitted. Cursors
/// stay the relayer's.
async fn migration_carries_the_old_journal_over(backend: Backend) {
    let db = TestDb::unmigrated(backend).await;
    let store = db.open().await;
    let dir = match backend {
        Backend::Sqlite => concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"),
        Backend::Postgres => concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"),
    };
    let mut v3 = sqlx::migrate::Migrator::new(std::path::Path::new(dir))
        .await
        .unwrap();
    v3.migrations = Cow::Owned(
        v3.migrations
            .iter()
            .filter(|m| m.version <= 3)
            .cloned()
            .collect(),
    );
    match &store {
        Store::Sqlite(pool) => v3.run(pool).await.unwrap(),
        Store::Postgres(pool) => v3.run(pool).await.unwrap(),
    }
    let signed = message(10, 1); // journaled and stored: carried over
    let crashed = message(10, 2); // journaled, crash before the message row: not
    let scanned = message(10, 3); // only the relayer's scanner stored it: not
    store
        .insert_seen_batch(&[signed.clone(), scanned.clone()])
        .await
        .unwrap();
    const JOURNAL_V1: &str = "INSERT INTO signed_nonces \
        (chain_id, source_contract, nonce, message_id, signed_at) VALUES ($1, $2, $3, $4, 1234)";
    for m in [&signed, &crashed] {
        journal_v1(&store, JOURNAL_V1, m).await;
    }
    let attested = |root: B256| ghostbridge_store::AttestationRecord {
        subject: ghostbridge_store::AttestationSubject::Batch(root),
        epoch: 1,
        validator: Address::repeat_byte(0x77),
        ecdsa_sig: Bytes::from(vec![1; 65]),
        mldsa_sig: Bytes::from(vec![2; 3309]),
    };
    let (kept, mixed, unsigned) = (
        B256::repeat_byte(0x11),
        B256::repeat_byte(0x12),
        B256::repeat_byte(0x13),
    );
    store.put_batch(&kept, 10, &[signed.id]).await.unwrap();
    store
        .put_batch(&mixed, 10, &[signed.id, scanned.id])
        .await
        .unwrap();
    store.put_batch(&unsigned, 10, &[signed.id]).await.unwrap();
    store.put_attestation(&attested(kept)).await.unwrap();
    store.put_attestation(&attested(mixed)).await.unwrap();
    store
        .set_cursor(1, &VAULT, 500, &B256::repeat_byte(5))
        .await
        .unwrap();

    store.migrate().await.unwrap();

    assert_eq!(
        store.admitted(&signed.id).await.unwrap(),
        Some(AdmittedMessage {
            id: signed.id,
            src_chain: 1,
            src_contract: VAULT,
            nonce: 1,
            dst_chain: 10,
            encoded: signed.encoded.clone(),
            admitted_at_ms: 1234,
        })
    );
    assert_eq!(store.admitted(&crashed.id).await.unwrap(), None);
    assert_eq!(store.admitted(&scanned.id).await.unwrap(), None);
    // The carried-over nonce keeps its content.
    assert!(matches!(
        store.admit(&[admission(&message(11, 1))]).await,
        Err(StoreError::ConflictingAdmission { existing, .. }) if existing == signed.id
    ));
    assert_eq!(
        store.signed_batch_members(&kept).await.unwrap(),
        Some(vec![signed.id])
    );
    assert_eq!(store.signed_batch_members(&mixed).await.unwrap(), None);
    assert_eq!(store.signed_batch_members(&unsigned).await.unwrap(), None);
    assert_eq!(
        store.signed_batches_containing(&signed.id).await.unwrap(),
        vec![kept]
    );
    // The relayer's rows are untouched; the validator's followers start over.
    assert_eq!(store.status_counts().await.unwrap().seen, 2);
    assert_eq!(
        store.batch_members(&mixed).await.unwrap().map(|m| m.len()),
        Some(2)
    );
    assert_eq!(
        store
            .cursor(1, &VAULT)
            .await
            .unwrap()
            .map(|c| c.block_number),
        Some(500)
    );
    assert_eq!(store.admission_cursor(1, &VAULT).await.unwrap(), None);
    store.close().await;
    db.cleanup().await;
}

/// Runs the 4-bind `signed_nonces` insert of schema 1 for `m`.
async fn journal_v1(store: &Store, sql: &str, m: &NewMessage) {
    let (chain, nonce) = (
        i64::try_from(m.src_chain).unwrap(),
        i64::try_from(m.nonce).unwrap(),
    );
    macro_rules! run {
        ($pool:expr) => {{
            sqlx::query(sql)
                .bind(chain)
                .bind(m.src_contract.as_slice())
                .bind(nonce)
                .bind(m.id.as_slice())
                .execute($pool)
                .await
                .unwrap();
        }};
    }
    match store {
        Store::Sqlite(pool) => run!(pool),
        Store::Postgres(pool) => run!(pool),
    }
}
