//! The journal through the real engine: a sequencer stopped at any point and started again over
//! its journal holds the same state, answers the same receipts and withdrawal proofs, and goes
//! on sealing from there; a journal that is not this engine's is refused.

use super::sequencer::{signed, FEE};
use alloy_primitives::{Address, B256};
use ghostbridge_sequencer::{
    engine::{Engine, EngineConfig},
    sequencer::{self, InMemorySink, Receipt, RecoverError, SealedBatch, SequencerConfig},
    tx::{address_of, test_key, UnsignedWithdrawal},
};
use std::{path::Path, sync::Arc, time::Duration};

fn engine(base_fee: u128) -> Engine {
    Engine::new(EngineConfig {
        accounts_depth: 10,
        batch_transactions_max: 1024,
        base_fee,
        ..EngineConfig::default()
    })
    .unwrap()
}

fn config() -> SequencerConfig {
    SequencerConfig {
        batch_size: 4,
        batch_timeout: Duration::from_millis(50),
        queue_capacity: 256,
        ..SequencerConfig::default()
    }
}

fn start(
    path: &Path,
    base_fee: u128,
) -> Result<
    (
        sequencer::SequencerHandle,
        Arc<InMemorySink>,
        Vec<SealedBatch>,
    ),
    RecoverError,
> {
    let sink = Arc::new(InMemorySink::default());
    let mut replayed = Vec::new();
    let (handle, _task) =
        sequencer::spawn_journaled(engine(base_fee), config(), sink.clone(), path, |b| {
            replayed.push(b)
        })?;
    Ok((handle, sink, replayed))
}

async fn settled(handle: &sequencer::SequencerHandle, hashes: &[B256]) {
    for _ in 0..3000 {
        if hashes
            .iter()
            .all(|h| matches!(handle.receipt(h), Some(Receipt::Applied { .. })))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not all applied after 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sequencer_replays_its_journal_to_the_same_state() {
    let path = std::env::temp_dir().join(format!("gp-journal-it-{}.journal", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let alice = address_of(test_key(1).verifying_key());
    let bob = Address::repeat_byte(0xb0);
    let l1 = Address::repeat_byte(0x11);

    // First life: deposits, transfers across several batches, a withdrawal.
    let (handle, sink, replayed) = start(&path, FEE).unwrap();
    assert!(replayed.is_empty());
    handle.deposit_l1(0, l1, alice, 0, 100 * FEE).unwrap();
    let mut acked = Vec::new();
    for nonce in 0..9 {
        acked.push(
            handle
                .submit_raw(signed(1, bob, 1 + nonce as u128, nonce))
                .unwrap(),
        );
    }
    let w = UnsignedWithdrawal {
        l1_recipient: l1,
        token: 0,
        amount: 2 * FEE,
        nonce: 9,
    }
    .sign(&test_key(1))
    .unwrap();
    acked.push(handle.submit_raw_withdrawal(w).unwrap());
    settled(&handle, &acked).await;
    handle.deposit_l1(1, l1, bob, 0, 5 * FEE).unwrap();
    while handle.deposit_cursor() != 2 || sink.last_header().map(|h| h.deposit_cursor) != Some(2) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = sink.batches();
    let latest = handle.latest_batch().unwrap();
    let alice_before = handle.account(alice).unwrap().unwrap();
    let w_batch = match handle.receipt(acked.last().unwrap()) {
        Some(Receipt::Applied { batch_number, .. }) => batch_number,
        r => panic!("{r:?}"),
    };
    let proof_before = handle.withdrawal_proof(w_batch, 0).unwrap();
    drop(handle); // the task seals what it holds and stops; the journal stays

    // Second life: the journal rebuilds everything, batch by batch, without the network.
    let (handle, sink, replayed) = start(&path, FEE).unwrap();
    assert_eq!(replayed, before, "the replayed batches are the sealed ones");
    assert!(sink.is_empty(), "replay posts nothing by itself");
    assert_eq!(handle.latest_batch(), Some(latest));
    assert_eq!(handle.account(alice).unwrap().unwrap(), alice_before);
    assert_eq!(handle.deposit_cursor(), 2);
    assert_eq!(handle.withdrawal_proof(w_batch, 0), Some(proof_before));
    for h in &acked {
        assert!(
            matches!(handle.receipt(h), Some(Receipt::Applied { from, .. }) if from == alice),
            "{:?}",
            handle.receipt(h)
        );
    }
    // An applied transaction is still known; the next nonce goes on from the replayed state.
    assert!(handle.submit_raw(signed(1, bob, 1, 0)).is_err());
    let next = handle.submit_raw(signed(1, bob, 1, 10)).unwrap();
    settled(&handle, &[next]).await;
    assert_eq!(
        sink.last_header().unwrap().batch_number,
        latest.batch_number + 1
    );
    drop(handle);

    // Another engine configuration (a different fee) does not replay this journal.
    let Err(err) = start(&path, 2 * FEE) else {
        panic!("a journal of another fee replayed")
    };
    assert!(matches!(err, RecoverError::Replay(_)), "{err}");
    std::fs::remove_file(&path).unwrap();
}
