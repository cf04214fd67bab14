//! Bulk transitions (one database transaction per batch release).

use crate::common::{both_backends, message, tx, Backend, TestDb};
use alloy_primitives::U256;
use ghostbridge_store::Status;
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(60);

both_backends!(bulk_transitions_move_leased_rows_and_report_the_rest,);

async fn bulk_transitions_move_leased_rows_and_report_the_rest(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let mine: Vec<_> = (1..=3).map(|n| message(10, n)).collect();
    for m in &mine {
        store.insert_seen(m).await.unwrap();
    }
    assert_eq!(
        store.claim_batch("r1", 10, 10, LEASE).await.unwrap().len(),
        3
    );
    let theirs = message(10, 4);
    store.insert_seen(&theirs).await.unwrap();
    assert_eq!(
        store.claim_batch("r2", 10, 10, LEASE).await.unwrap().len(),
        1
    );

    let mut ids: Vec<_> = mine.iter().map(|m| m.id).collect();
    ids.push(theirs.id);
    // r1 cannot move r2's message; its own three move.
    assert_eq!(
        store.mark_attested_many(&ids, "r1").await.unwrap(),
        vec![theirs.id]
    );
    // Already attested: a second call moves nothing.
    assert_eq!(
        store.mark_attested_many(&ids[..3], "r1").await.unwrap(),
        ids[..3].to_vec()
    );
    assert_eq!(
        store
            .mark_submitted_many(&ids, "r1", &tx(9), 5, U256::from(7))
            .await
            .unwrap(),
        vec![theirs.id]
    );
    for id in &ids[..3] {
        let rec = store.message(id).await.unwrap().unwrap();
        assert_eq!(rec.status, Status::Submitted);
        assert_eq!(rec.submission.unwrap().tx_hash, tx(9));
    }
    assert_eq!(store.messages_by_tx(&tx(9)).await.unwrap().len(), 3);
    assert_eq!(
        store.mark_confirmed_many(&ids, "r1").await.unwrap(),
        vec![theirs.id]
    );
    let counts = store.status_counts().await.unwrap();
    assert_eq!((counts.confirmed, counts.seen), (3, 1));
    db.cleanup().await;
}
