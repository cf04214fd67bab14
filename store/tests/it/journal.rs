//! Validator signing journal: one content per nonce, ever.

use crate::common::{both_backends, Backend, TestDb};
use alloy_primitives::{Address, B256};
use ghostbridge_store::{SignDecision, StoreError};

both_backends!(
    conflicting_signature_is_refused,
    concurrent_signers_agree_on_one_content
);

async fn conflicting_signature_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let vault = Address::repeat_byte(0xaa);
    let (m1, m2) = (B256::repeat_byte(1), B256::repeat_byte(2));

    assert_eq!(
        store.record_signed(1, &vault, 7, &m1).await.unwrap(),
        SignDecision::First
    );
    assert_eq!(
        store.record_signed(1, &vault, 7, &m1).await.unwrap(),
        SignDecision::AlreadySignedSame
    );
    let err = store.record_signed(1, &vault, 7, &m2).await.unwrap_err();
    assert!(
        matches!(err, StoreError::ConflictingSignature { nonce: 7, existing, new, chain_id: 1, .. }
            if existing == m1 && new == m2),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(store.signed_message(1, &vault, 7).await.unwrap(), Some(m1));

    // Other nonce, other contract, other chain: independent (and u64::MAX round-trips).
    assert_eq!(
        store.record_signed(1, &vault, 8, &m2).await.unwrap(),
        SignDecision::First
    );
    let minter = Address::repeat_byte(0xbb);
    assert_eq!(
        store.record_signed(1, &minter, 7, &m2).await.unwrap(),
        SignDecision::First
    );
    assert_eq!(
        store
            .record_signed(u64::MAX, &vault, u64::MAX, &m2)
            .await
            .unwrap(),
        SignDecision::First
    );
    assert_eq!(
        store
            .signed_message(u64::MAX, &vault, u64::MAX)
            .await
            .unwrap(),
        Some(m2)
    );
    assert_eq!(store.signed_message(2, &vault, 7).await.unwrap(), None);
    db.cleanup().await;
}

/// Two validator processes racing to journal different contents for the same nonces: for each
/// nonce exactly one wins, the other is refused.
async fn concurrent_signers_agree_on_one_content(backend: Backend) {
    let db = TestDb::new(backend).await;
    let vault = Address::repeat_byte(0xaa);
    let mut tasks = Vec::new();
    for signer in 0u8..2 {
        let store = db.open().await;
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for nonce in 1..=200u64 {
                let id = B256::repeat_byte(signer + 1);
                match store.record_signed(5, &vault, nonce, &id).await {
                    Ok(SignDecision::First) => won.push(nonce),
                    Ok(SignDecision::AlreadySignedSame) => panic!("nonce {nonce} seen as same"),
                    Err(StoreError::ConflictingSignature { .. }) => {}
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
    assert_eq!(all, (1..=200).collect::<Vec<_>>());
    db.cleanup().await;
}
