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
    start_with(
        EngineConfig {
            accounts_depth: 10,
            batch_transactions_max: 1024,
            ..EngineConfig::default()
        },
        batch_size,
        timeout_ms,
        capacity,
    )
}

fn start_with(
    config: EngineConfig,
    batch_size: usize,
    timeout_ms: u64,
    capacity: usize,
) -> (sequencer::SequencerHandle, Arc<InMemorySink>) {
    let engine = Engine::new(config).unwrap();
    let sink = Arc::new(InMemorySink::default());
    let (handle, _task) = sequencer::spawn(
        engine,
        SequencerConfig {
            batch_size,
            batch_timeout: Duration::from_millis(timeout_ms),
            queue_capacity: capacity,
            ..SequencerConfig::default()
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

/// A signed withdrawal of `amount` GCC to `l1_recipient` by test key `key`.
fn signed_withdrawal(key: u64, l1_recipient: Address, amount: u128, nonce: u64) -> Vec<u8> {
    ghostbridge_sequencer::tx::UnsignedWithdrawal {
        l1_recipient,
        token: 0,
        amount,
        nonce,
    }
    .sign(&test_key(key))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_batches_carry_their_settlement_records_and_withdrawal_proofs() {
    use ghostbridge_sequencer::settlement::{self, Op, Record, SettlementError, StepState};
    let (handle, sink) = start(8, 100, 64);
    let alice = address_of(test_key(1).verifying_key());
    let bob = Address::repeat_byte(0xb0);
    let l1 = Address::repeat_byte(0x11);
    // Portal deposit 0 (the index must be the cursor: 1 is refused and changes nothing).
    assert!(handle.deposit_l1(1, l1, alice, 0, 100 * FEE).is_err());
    assert_eq!(handle.deposit_cursor(), 0);
    handle.deposit_l1(0, l1, alice, 0, 100 * FEE).unwrap();
    assert_eq!(handle.deposit_cursor(), 1);
    // Call data cannot be settled: refused at admission.
    let with_data = UnsignedTx {
        to: bob,
        value: 1,
        token: 0,
        gas_limit: 1_000_000,
        gas_price: 1_000_000_000,
        nonce: 0,
        data: vec![1, 2, 3],
    }
    .sign(&test_key(1))
    .unwrap();
    assert!(matches!(
        handle.submit_raw(with_data),
        Err(SubmitError::DataNotSettleable { len: 3 })
    ));
    // Neither can a gas price wider than the record's 40 bits.
    let wide = UnsignedTx {
        to: bob,
        value: 1,
        token: 0,
        gas_limit: 1,
        gas_price: 1 << 40,
        nonce: 0,
        data: Vec::new(),
    }
    .sign(&test_key(1))
    .unwrap();
    assert_eq!(
        handle.submit_raw(wide),
        Err(SubmitError::NotSettleable(SettlementError::FieldTooWide {
            field: "gas_price",
            value: 1 << 40,
            max: (1 << 40) - 1,
        }))
    );
    // Nonce order across kinds: transfer 0, withdrawal 1, transfer 2, arriving out of order.
    let w = handle
        .submit_raw_withdrawal(signed_withdrawal(1, l1, 7 * FEE, 1))
        .unwrap();
    let t2 = handle.submit_raw(signed(1, bob, 3, 2)).unwrap();
    let t0 = handle.submit_raw(signed(1, bob, 5, 0)).unwrap();
    // A withdrawal with a nonce already used is rejected in the batch, changing nothing.
    let replay = handle
        .submit_raw_withdrawal(signed_withdrawal(1, l1, FEE, 0))
        .unwrap();
    wait_batches(&sink, 1).await;
    wait_final(&handle, &[w, t2, t0, replay]).await;
    for h in [w, t2, t0] {
        assert!(
            matches!(
                handle.receipt(&h),
                Some(Receipt::Applied {
                    batch_number: 1,
                    ..
                })
            ),
            "{:?}",
            handle.receipt(&h)
        );
    }
    assert!(matches!(
        handle.receipt(&replay),
        Some(Receipt::Rejected { .. })
    ));
    let batch = &sink.batches()[0];
    let s = &batch.settlement;
    let ops: Vec<Op> = s
        .records
        .iter()
        .map(|r| Record::decode(r).unwrap().op)
        .collect();
    // Bob and the L1 recipient get register ops right before the ops that name their slots.
    assert!(
        matches!(&ops[..], [Op::Deposit(d), Op::Register(rb), Op::Transfer(a), Op::Register(rl), Op::Withdrawal(x), Op::Transfer(b)]
        if d.index == 0 && d.recipient == alice && rb.address == bob && a.value == 5 && a.to_slot == rb.slot
            && rl.address == l1 && x.recipient_slot == rl.slot && x.amount == 7 * FEE && b.value == 3),
        "{ops:?}"
    );
    // The L1 header is the engine's sealed state, from genesis.
    let h = &s.l1_header;
    assert_eq!(h.number, 1);
    assert_eq!(h.stateRoot, batch.header.state_root);
    assert_eq!(h.withdrawalsRoot, batch.header.withdrawals_root);
    assert_eq!((h.opCount, h.depositCursor, h.withdrawalCount), (6, 1, 1));
    assert_eq!(
        s.start,
        StepState::genesis(10, EngineConfig::default().fee_collector)
    );
    assert_eq!(h.dataCommitment, settlement::data_commitment(&s.records));
    let last = Record::decode(s.records.last().unwrap()).unwrap();
    assert_eq!(last.commitment, settlement::header_final(h).commitment());
    // The withdrawal leaf and its proof, as finalizeWithdrawal checks them.
    let proof = handle.withdrawal_proof(1, 0).unwrap();
    assert_eq!(proof.withdrawal.l1Recipient, l1);
    assert_eq!(proof.withdrawal.from, alice);
    assert_eq!(proof.withdrawal.amount, 7 * FEE);
    assert!(roots::verify_proof(
        &h.withdrawalsRoot,
        &settlement::withdrawal_leaf(&proof.withdrawal),
        0,
        &proof.siblings
    ));
    assert!(handle.withdrawal_proof(1, 1).is_none());
    assert!(handle.withdrawal_proof(2, 0).is_none());
    // Alice paid: 5 + 3 transferred, 7 withdrawn, three fees.
    assert_eq!(
        handle.account(alice).unwrap().unwrap().balances[0],
        100 * FEE - 8 - 7 * FEE - 3 * FEE
    );
}

/// A rejected transaction changed nothing and may be sent again once it would be valid; a
/// flood of unfunded transactions leaves at most `receipts_max` final receipts behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_transactions_can_be_resent_and_receipts_are_bounded() {
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
            batch_size: 64,
            batch_timeout: Duration::from_millis(30),
            queue_capacity: 256,
            receipts_max: 50,
        },
        sink.clone(),
    );
    let alice = address_of(test_key(1).verifying_key());
    let to = Address::repeat_byte(9);
    // Unfunded: rejected.
    let raw = signed(1, to, 1, 0);
    let h = handle.submit_raw(raw.clone()).unwrap();
    wait_final(&handle, &[h]).await;
    assert!(matches!(handle.receipt(&h), Some(Receipt::Rejected { .. })));
    // Funded now: the same bytes are accepted again and applied.
    handle.deposit(alice, 0, 10 * FEE).unwrap();
    assert_eq!(handle.submit_raw(raw.clone()).unwrap(), h);
    wait_final(&handle, &[h]).await;
    assert!(
        matches!(handle.receipt(&h), Some(Receipt::Applied { .. })),
        "{:?}",
        handle.receipt(&h)
    );
    // Applied: never again.
    assert!(matches!(
        handle.submit_raw(raw),
        Err(SubmitError::AlreadyKnown { .. })
    ));
    // 300 unfunded senders: every one rejected, at most 50 receipts kept, no batch sealed
    // with them (nothing applied).
    let batches_before = sink.len();
    let mut flood = Vec::new();
    for k in 100..400u64 {
        flood.push(handle.submit_raw(signed(k, to, 1, 0)).unwrap());
        if flood.len() % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for _ in 0..3000 {
        if handle.receipts_held() <= 50
            && handle
                .receipt(flood.last().unwrap())
                .is_some_and(|r| !matches!(r, Receipt::Pending))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        handle.receipts_held() <= 50,
        "{} receipts held",
        handle.receipts_held()
    );
    assert!(matches!(
        handle.receipt(flood.last().unwrap()),
        Some(Receipt::Rejected { .. })
    ));
    assert!(
        handle.receipt(&flood[0]).is_none(),
        "the oldest receipts are forgotten"
    );
    assert_eq!(
        sink.len(),
        batches_before,
        "a batch was sealed with nothing applied"
    );
}

/// Ops of a sealed batch, decoded from its records.
fn ops_of(batch: &sequencer::SealedBatch) -> Vec<ghostbridge_sequencer::settlement::Op> {
    use ghostbridge_sequencer::settlement::Record;
    batch
        .settlement
        .records
        .iter()
        .map(|r| Record::decode(r).unwrap().op)
        .collect()
}

/// Transfers to new addresses take two ops each (register + transfer), so a batch of
/// `batch_size` of them overflows the engine's op limit: the overflow opens the next batch
/// (nothing rejected, every sender's nonces still in order) instead of being refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_batch_carries_its_overflow_to_the_next_batch() {
    use ghostbridge_sequencer::settlement::Op;
    const OPS_MAX: usize = 16;
    let (handle, sink) = start_with(
        EngineConfig {
            accounts_depth: 10,
            batch_transactions_max: OPS_MAX as u32,
            ..EngineConfig::default()
        },
        OPS_MAX,
        // The first batch fills by size long before this; only a stalled run waits for it.
        5_000,
        64,
    );
    let alice = address_of(test_key(1).verifying_key());
    handle.deposit(alice, 0, 100 * FEE).unwrap();
    let recipients: Vec<Address> = (1..=OPS_MAX as u8).map(Address::with_last_byte).collect();
    let hashes: Vec<_> = recipients
        .iter()
        .enumerate()
        .map(|(nonce, &to)| {
            handle
                .submit_raw(signed(1, to, nonce as u128 + 1, nonce as u64))
                .unwrap()
        })
        .collect();
    wait_final(&handle, &hashes).await;
    for (i, h) in hashes.iter().enumerate() {
        assert!(
            matches!(handle.receipt(h), Some(Receipt::Applied { .. })),
            "transfer {i}: {:?}",
            handle.receipt(h)
        );
    }
    // 1 deposit + 16 × 2 ops: three batches of at most 16 ops, none empty.
    let batches = sink.batches();
    assert_eq!(
        batches.len(),
        3,
        "{:?}",
        batches.iter().map(ops_of).collect::<Vec<_>>()
    );
    let mut applied = Vec::new();
    for (i, batch) in batches.iter().enumerate() {
        let ops = ops_of(batch);
        assert!(
            !ops.is_empty() && ops.len() <= OPS_MAX,
            "batch {i}: {} ops",
            ops.len()
        );
        assert_eq!(batch.header.batch_number, i as u64 + 1);
        applied.extend(ops.into_iter().filter_map(|op| match op {
            Op::Transfer(t) => Some(t.value),
            _ => None,
        }));
        for h in &batch.transaction_hashes {
            let expected = Some(Receipt::Applied {
                batch_number: batch.header.batch_number,
                from: alice,
            });
            assert_eq!(handle.receipt(h), expected);
        }
    }
    // Alice's nonces in order across the three batches (value = nonce + 1).
    assert_eq!(applied, (1..=OPS_MAX as u128).collect::<Vec<_>>());
    for (i, to) in recipients.iter().enumerate() {
        assert_eq!(
            handle.account(*to).unwrap().unwrap().balances[0],
            i as u128 + 1
        );
    }
}

/// A batch holds `batch_withdrawals_max` withdrawals: the rest wait for the next batch, and
/// every one of them gets its finalization proof.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawals_past_the_batch_maximum_go_in_the_next_batch() {
    let (handle, sink) = start_with(
        EngineConfig {
            accounts_depth: 10,
            batch_transactions_max: 1024,
            batch_withdrawals_max: 2,
            ..EngineConfig::default()
        },
        64,
        1_000,
        64,
    );
    let alice = address_of(test_key(1).verifying_key());
    handle.deposit(alice, 0, 100 * FEE).unwrap();
    // To alice's own address on L1: it has an L2 account, so no register op.
    let hashes: Vec<_> = (0..5)
        .map(|nonce| {
            handle
                .submit_raw_withdrawal(signed_withdrawal(1, alice, FEE, nonce))
                .unwrap()
        })
        .collect();
    wait_final(&handle, &hashes).await;
    let mut numbers = Vec::new();
    for h in &hashes {
        match handle.receipt(h) {
            Some(Receipt::Applied { batch_number, .. }) => numbers.push(batch_number),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(numbers, vec![1, 1, 2, 2, 3]);
    assert_eq!(sink.len(), 3);
    for (batch, index) in [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0)] {
        let proof = handle.withdrawal_proof(batch, index).unwrap();
        assert_eq!(
            (proof.withdrawal.from, proof.withdrawal.amount),
            (alice, FEE)
        );
    }
    assert_eq!(
        handle.account(alice).unwrap().unwrap().balances[0],
        100 * FEE - 5 * FEE - 5 * FEE
    );
}
