//! The sequencer end to end in process: signed transactions → parallel recovery → ordering →
//! batched execution → sealed batches in the in-memory sink, with roots checked in Rust.

use alloy_primitives::Address;
use ghostbridge_sequencer::{
    engine::{Engine, EngineConfig},
    roots,
    sequencer::{self, InMemorySink, Receipt, SequencerConfig, SubmitError},
    tx::{address_of, test_key, UnsignedTx},
};
use std::{sync::Arc, time::Duration};

pub const FEE: u128 = 1_000_000_000_000_000;

pub fn signed(key: u64, to: Address, value: u128, nonce: u64) -> Vec<u8> {
    UnsignedTx {
        to,
        value,
        token: 0,
        gas_limit: 1_000_000,
        gas_price: 1_000_000_000,
        nonce,
        data: vec![],
    }
    .sign(&test_key(key))
    .unwrap()
}

pub fn start(
    batch_size: usize,
    timeout_ms: u64,
    capacity: usize,
) -> (sequencer::SequencerHandle, Arc<InMemorySink>) {
    let engine = Engine::new(EngineConfig {
        accounts_depth: 10,
        batch_transactions_max: 1024,
        ..EngineConfig::default()
    })
    .unwrap();
    let sink = Arc::new(InMemorySink::default());
    let (handle, _task) = sequencer::spawn(
        engine,
        SequencerConfig {
            batch_size,
            batch_timeout: Duration::from_millis(timeout_ms),
            queue_capacity: capacity,
        },
        sink.clone(),
    );
    (handle, sink)
}

async fn wait_batches(sink: &InMemorySink, n: usize) {
    for _ in 0..200 {
        if sink.batches().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "timed out waiting for {n} batches, have {}",
        sink.batches().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seals_by_size_and_orders_nonces() {
    let (handle, sink) = start(4, 60_000, 64);
    let alice = address_of(test_key(1).verifying_key());
    let bob = address_of(test_key(2).verifying_key());
    handle.deposit(alice, 0, 100 * FEE).unwrap();
    handle.deposit(bob, 0, 100 * FEE).unwrap();
    // Alice's nonces arrive out of order: 1 before 0. Ordering fixes them within her positions.
    let raws = [
        signed(1, bob, 5, 1),
        signed(2, alice, 7, 0),
        signed(1, bob, 6, 0),
        signed(2, alice, 8, 1),
    ];
    let hashes: Vec<_> = raws
        .iter()
        .map(|r| handle.submit_raw(r.clone()).unwrap())
        .collect();
    wait_batches(&sink, 1).await;
    let batch = &sink.batches()[0];
    assert_eq!(batch.header.transaction_count, 4);
    assert_eq!(batch.header.batch_number, 1);
    assert_eq!(
        batch.header.transactions_root,
        roots::transactions_root(&batch.transaction_hashes)
    );
    // Execution order: alice n0 (raws[2]), bob n0, alice n1 (raws[0]), bob n1.
    assert_eq!(
        batch.transaction_hashes,
        vec![hashes[2], hashes[1], hashes[0], hashes[3]]
    );
    for h in &hashes {
        assert!(matches!(
            handle.receipt(h),
            Some(Receipt::Applied {
                batch_number: 1,
                ..
            })
        ));
    }
    assert_eq!(handle.latest_batch().unwrap(), batch.header);
    assert_eq!(
        handle.account(bob).unwrap().unwrap().balances[0],
        100 * FEE + 11 - 7 - 8 - 2 * FEE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seals_by_timeout_and_rejects_bad_ones() {
    let (handle, sink) = start(1000, 50, 64);
    let alice = address_of(test_key(1).verifying_key());
    handle.deposit(alice, 0, 10 * FEE).unwrap();
    let good = handle
        .submit_raw(signed(1, Address::repeat_byte(9), 1, 0))
        .unwrap();
    let broke = handle
        .submit_raw(signed(3, Address::repeat_byte(9), 1, 0))
        .unwrap();
    // A tampered payload recovers some other (unfunded) sender.
    let mut tampered = signed(1, Address::repeat_byte(9), 1, 1);
    tampered[10] ^= 0x55;
    let tampered_hash = handle.submit_raw(tampered).unwrap();
    assert!(matches!(
        handle.submit_raw(vec![1, 2, 3]),
        Err(SubmitError::Invalid(_))
    ));
    assert!(matches!(
        handle.submit_raw(signed(1, Address::repeat_byte(9), 1, 0)),
        Err(SubmitError::AlreadyKnown { .. })
    ));
    wait_batches(&sink, 1).await;
    assert_eq!(sink.batches()[0].header.transaction_count, 1);
    assert!(matches!(
        handle.receipt(&good),
        Some(Receipt::Applied { .. })
    ));
    assert!(matches!(
        handle.receipt(&broke),
        Some(Receipt::Rejected { .. })
    ));
    assert!(matches!(
        handle.receipt(&tampered_hash),
        Some(Receipt::Rejected { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn full_queue_is_a_clear_retryable_error() {
    // current_thread: the sequencer task cannot drain the queue while this test runs.
    let (handle, _sink) = start(1000, 60_000, 2);
    handle
        .submit_raw(signed(1, Address::repeat_byte(9), 1, 0))
        .unwrap();
    handle
        .submit_raw(signed(1, Address::repeat_byte(9), 1, 1))
        .unwrap();
    let err = handle
        .submit_raw(signed(1, Address::repeat_byte(9), 1, 2))
        .unwrap_err();
    assert_eq!(err, SubmitError::QueueFull { capacity: 2 });
    assert!(err.is_retryable());
    assert!(err.to_string().contains("queue full"));
}
