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
    // Generous (30 s): the wait only ends early; slow runs (valgrind, loaded CI) must not flake.
    for _ in 0..3000 {
        if sink.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "timed out waiting for {n} batches, have {}",
        sink.batches().len()
    );
}

/// Receipts are published right after settlement; wait until none of `hashes` is pending.
async fn wait_final(handle: &sequencer::SequencerHandle, hashes: &[alloy_primitives::B256]) {
    for _ in 0..3000 {
        if hashes
            .iter()
            .all(|h| !matches!(handle.receipt(h), Some(Receipt::Pending) | None))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("receipts still pending after 30 s");
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
    wait_final(&handle, &hashes).await;
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
    wait_final(&handle, &[good, broke, tampered_hash]).await;
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

mod props {
    use super::*;
    use ghostbridge_sequencer::{roots::AccountState, TOKEN_COUNT};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

        /// Random signed transfers (4 keys, shuffled arrival, some nonce gaps and overspends)
        /// through the full sequencer: after every sealed batch the header's transactions root
        /// equals the Rust recomputation over the sealed hashes, the state root equals the Rust
        /// state root over the engine's accounts in slot order, and per-token supply equals the
        /// deposits (no withdrawals here).
        #[test]
        fn sequencer_batches_match_rust_roots(
            txs in prop::collection::vec((0u64..4, 0u64..6, 0u128..3 * FEE, 0u64..5), 1..40),
            batch_size in 1usize..12,
        ) {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async {
                let (handle, sink) = start(batch_size, 20, 256);
                let keys: Vec<Address> = (0..4).map(|k| address_of(test_key(k).verifying_key())).collect();
                let mut known: Vec<Address> = keys.clone();
                known.push(Address::repeat_byte(0xfe));
                for k in &keys {
                    handle.deposit(*k, 0, 5 * FEE).unwrap();
                }
                let mut hashes = Vec::new();
                for (key, to, value, nonce) in &txs {
                    let to = if *to < 4 { keys[*to as usize] } else { Address::repeat_byte(*to as u8) };
                    known.push(to);
                    // Duplicates (same key, fields and nonce) are refused as already known.
                    if let Ok(h) = handle.submit_raw(signed(*key, to, *value, *nonce)) {
                        hashes.push(h);
                    }
                }
                // Wait until every submission has a final receipt.
                let is_final = |h: &alloy_primitives::B256| !matches!(handle.receipt(h), Some(Receipt::Pending) | None);
                for _ in 0..3000 {
                    if hashes.iter().all(is_final) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                prop_assert!(hashes.iter().all(is_final), "receipts still pending after 30 s");
                let batches = sink.batches();
                let applied = hashes.iter().filter(|h| matches!(handle.receipt(h), Some(Receipt::Applied { .. }))).count();
                prop_assert_eq!(applied, batches.iter().map(|b| b.transaction_hashes.len()).sum::<usize>());
                for b in &batches {
                    prop_assert_eq!(b.header.transactions_root, roots::transactions_root(&b.transaction_hashes));
                }
                let last = batches.last().unwrap().header;
                known.sort();
                known.dedup();
                let mut accounts: Vec<(u64, AccountState)> = known
                    .iter()
                    .filter_map(|a| handle.account(*a).unwrap().map(|i| (i.slot, AccountState { address: *a, nonce: i.nonce, balances: i.balances })))
                    .collect();
                accounts.sort_by_key(|(slot, _)| *slot);
                prop_assert_eq!(accounts.len() as u64, last.account_count);
                let states: Vec<AccountState> = accounts.into_iter().map(|(_, a)| a).collect();
                prop_assert_eq!(roots::state_root(10, &states), last.state_root);
                for t in 0..TOKEN_COUNT {
                    let sum: u128 = states.iter().map(|a| a.balances[t]).sum();
                    prop_assert_eq!(sum, if t == 0 { 20 * FEE } else { 0 });
                }
                Ok(())
            })?;
        }
    }
}
