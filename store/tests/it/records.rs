//! Attestations, batches, chain cursors and status look-ups.

use crate::common::{both_backends, message, tx, Backend, TestDb};
use alloy_primitives::{Address, Bytes, B256, U256};
use ghostbridge_store::{AttestationRecord, AttestationSubject};
use std::time::Duration;

both_backends!(
    attestations_are_kept_per_subject_epoch_validator,
    batches_and_tx_lookup,
    cursors_resume
);

async fn attestations_are_kept_per_subject_epoch_validator(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let root = B256::repeat_byte(9);
    let att = |subject, validator: u8, epoch| AttestationRecord {
        subject,
        epoch,
        validator: Address::repeat_byte(validator),
        ecdsa_sig: Bytes::from(vec![validator; 64]),
        mldsa_sig: Bytes::from(vec![validator; 3309]),
    };
    let msg = AttestationSubject::Message(message(10, 1).id);
    let batch = AttestationSubject::Batch(root);
    assert!(store.put_attestation(&att(msg, 2, 1)).await.unwrap());
    assert!(store.put_attestation(&att(msg, 1, 1)).await.unwrap());
    assert!(!store.put_attestation(&att(msg, 1, 1)).await.unwrap());
    assert!(store.put_attestation(&att(msg, 1, 2)).await.unwrap());
    assert!(store.put_attestation(&att(batch, 1, 1)).await.unwrap());

    let got = store.attestations(&msg, 1).await.unwrap();
    assert_eq!(got, vec![att(msg, 1, 1), att(msg, 2, 1)]);
    assert_eq!(store.attestations(&msg, 2).await.unwrap().len(), 1);
    assert_eq!(
        store.attestations(&batch, 1).await.unwrap(),
        vec![att(batch, 1, 1)]
    );
    assert!(store
        .attestations(&AttestationSubject::Batch(B256::ZERO), 1)
        .await
        .unwrap()
        .is_empty());
    db.cleanup().await;
}

async fn batches_and_tx_lookup(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let msgs: Vec<_> = (1..=3).map(|n| message(10, n)).collect();
    store.insert_seen_batch(&msgs).await.unwrap();
    let ids: Vec<_> = msgs.iter().map(|m| m.id).collect();
    let root = B256::repeat_byte(7);
    assert!(store.put_batch(&root, 10, &ids).await.unwrap());
    assert!(!store.put_batch(&root, 10, &ids[..1]).await.unwrap());
    assert_eq!(store.batch_members(&root).await.unwrap(), Some(ids.clone()));
    assert_eq!(store.batch_members(&B256::ZERO).await.unwrap(), None);
    assert!(store
        .put_batch(&B256::repeat_byte(8), 10, &ids[1..])
        .await
        .unwrap());
    assert_eq!(
        store.batches_containing(&ids[2]).await.unwrap(),
        vec![root, B256::repeat_byte(8)]
    );
    assert_eq!(store.batches_containing(&ids[0]).await.unwrap(), vec![root]);

    // One batch release transaction carries all three messages.
    let claimed = store
        .claim_batch("r1", 10, 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    for id in &ids {
        store.mark_attested(id, "r1").await.unwrap();
        store
            .mark_submitted(id, "r1", &tx(5), 3, U256::from(1))
            .await
            .unwrap();
    }
    let by_tx = store.messages_by_tx(&tx(5)).await.unwrap();
    assert_eq!(by_tx.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    assert!(store.messages_by_tx(&tx(6)).await.unwrap().is_empty());
    assert_eq!(store.lookup(&tx(5)).await.unwrap(), by_tx);
    assert_eq!(store.lookup(&ids[1]).await.unwrap(), vec![by_tx[1].clone()]);
    assert!(store.lookup(&tx(6)).await.unwrap().is_empty());
    assert_eq!(store.status_counts().await.unwrap().submitted, 3);
    db.cleanup().await;
}

async fn cursors_resume(backend: Backend) {
    let db = TestDb::new(backend).await;
    let vault = Address::repeat_byte(1);
    {
        let store = db.open().await;
        assert_eq!(store.cursor(1, &vault).await.unwrap(), None);
        store
            .set_cursor(1, &vault, 100, &B256::repeat_byte(1))
            .await
            .unwrap();
        store
            .set_cursor(1, &vault, 120, &B256::repeat_byte(2))
            .await
            .unwrap();
        store
            .set_cursor(2, &vault, 5, &B256::repeat_byte(3))
            .await
            .unwrap();
        store.close().await;
    }
    // A restarted daemon (new pool) resumes where it stopped.
    let store = db.open().await;
    let c = store.cursor(1, &vault).await.unwrap().unwrap();
    assert_eq!(
        (c.chain_id, c.contract, c.block_number, c.block_hash),
        (1, vault, 120, B256::repeat_byte(2))
    );
    // Reorg rewind is allowed.
    store
        .set_cursor(1, &vault, 118, &B256::repeat_byte(4))
        .await
        .unwrap();
    assert_eq!(
        store.cursor(1, &vault).await.unwrap().unwrap().block_number,
        118
    );
    assert_eq!(
        store.cursor(2, &vault).await.unwrap().unwrap().block_number,
        5
    );
    assert_eq!(
        store.cursor(1, &Address::repeat_byte(2)).await.unwrap(),
        None
    );
    db.cleanup().await;
}
