//! The challenger's executor (`replay.rs`, independent of the Zig engine) against batches the
//! real sequencer sealed: every honest batch replays to the same commitments and balances, and
//! each kind of lie in a record or header is named at the op that holds it.

use crate::sequencer::{signed, FEE};
use alloy_primitives::Address;
use ghostbridge_sequencer::{
    engine::{Engine, EngineConfig},
    replay::{PortalDeposit, Replayer, Verdict},
    sequencer::{self, InMemorySink, Receipt, SealedBatch, SequencerConfig},
    settlement::{Op, Record, RECORD_LEN},
    tx::{address_of, test_key, UnsignedWithdrawal},
};
use std::{sync::Arc, time::Duration};

const DEPTH: u32 = 10;

async fn settle(
    handle: &sequencer::SequencerHandle,
    sink: &InMemorySink,
    hashes: &[alloy_primitives::B256],
    batches: usize,
) {
    for _ in 0..3000 {
        let done = hashes
            .iter()
            .all(|h| !matches!(handle.receipt(h), Some(Receipt::Pending) | None));
        if done && sink.len() >= batches {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("batches not sealed");
}

/// Five batches of the real sequencer: L1 deposits (new and existing accounts, two tokens),
/// transfers (to new and existing accounts, self-transfers, some unfunded and rejected),
/// withdrawals; returns the batches and the portal's deposits.
async fn engine_batches() -> (
    Vec<SealedBatch>,
    Vec<PortalDeposit>,
    sequencer::SequencerHandle,
) {
    let engine = Engine::new(EngineConfig {
        accounts_depth: DEPTH,
        batch_transactions_max: 1024,
        ..EngineConfig::default()
    })
    .unwrap();
    let sink = Arc::new(InMemorySink::default());
    let (handle, _task) = sequencer::spawn(
        engine,
        SequencerConfig {
            batch_size: 64,
            batch_timeout: Duration::from_millis(40),
            queue_capacity: 1024,
            ..SequencerConfig::default()
        },
        sink.clone(),
    );
    let users: Vec<Address> = (1..=6)
        .map(|k| address_of(test_key(k).verifying_key()))
        .collect();
    let l1 = Address::repeat_byte(0x11);
    let mut deposits = Vec::new();
    let mut nonces = [0u64; 7];
    let mut deposit =
        |handle: &sequencer::SequencerHandle, to: Address, token: u8, amount: u128| {
            let index = deposits.len() as u64;
            handle
                .deposit_l1(index, l1, to, token.into(), amount)
                .unwrap();
            deposits.push(PortalDeposit {
                l1_sender: l1,
                recipient: to,
                token,
                amount,
            });
        };
    let mut batches = 0;
    for round in 0..5u64 {
        for (i, &u) in users.iter().enumerate().take(3 + round as usize % 3) {
            deposit(&handle, u, (i % 2) as u8, 50 * FEE + u128::from(round));
        }
        let mut hashes = Vec::new();
        for k in 1..=6u64 {
            let to = if k % 3 == 0 {
                Address::repeat_byte((0x40 + round * 8 + k) as u8) // a new account
            } else {
                users[(k as usize + round as usize) % users.len()] // existing (or self)
            };
            let h = handle
                .submit_raw(signed(k, to, 1_000 + u128::from(k), nonces[k as usize]))
                .unwrap();
            nonces[k as usize] += 1;
            hashes.push(h);
        }
        // User 6 has no funds in round 0: rejected, its nonce not used.
        if round == 0 {
            nonces[6] = 0;
        }
        let w = UnsignedWithdrawal {
            l1_recipient: Address::repeat_byte(0x77),
            token: 0,
            amount: FEE + u128::from(round),
            nonce: nonces[1],
        }
        .sign(&test_key(1))
        .unwrap();
        nonces[1] += 1;
        hashes.push(handle.submit_raw_withdrawal(w).unwrap());
        batches += 1;
        settle(&handle, &sink, &hashes, batches).await;
        // The sink may hold one more (a deposit sealed alone before the transactions).
        batches = sink.len();
    }
    (sink.batches(), deposits, handle)
}

fn replayer() -> Replayer {
    let c = EngineConfig::default();
    Replayer::genesis(DEPTH, c.base_fee, c.fee_collector)
}

fn verdicts(batches: &[SealedBatch], deposits: &[PortalDeposit]) -> Vec<Verdict> {
    let mut r = replayer();
    batches
        .iter()
        .map(|b| r.replay(&b.settlement.l1_header, &b.settlement.records, deposits))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_engine_batches_replay_to_the_same_state_and_each_lie_is_named() {
    let (batches, deposits, handle) = engine_batches().await;
    assert!(batches.len() >= 5);
    let kinds: usize = batches
        .iter()
        .flat_map(|b| &b.settlement.records)
        .map(|r| match Record::decode(r).unwrap().op {
            Op::Deposit(_) => 1,
            Op::Transfer(_) => 10,
            Op::Withdrawal(_) => 100,
            Op::Refund(_) => 1000,
            Op::Register(_) => 10000,
        })
        .sum();
    assert!(
        kinds % 10 > 0 && (kinds / 10) % 10 > 0 && (kinds / 100) % 10 > 0 && kinds / 10000 > 0,
        "{kinds}"
    );

    // Honest: every batch, and the replayed balances are the engine's.
    let mut r = replayer();
    for b in &batches {
        assert_eq!(
            r.replay(&b.settlement.l1_header, &b.settlement.records, &deposits),
            Verdict::Honest,
            "batch {}",
            b.header.batch_number
        );
    }
    for k in 1..=6u64 {
        let a = address_of(test_key(k).verifying_key());
        let engine = handle.account(a).unwrap().map_or([0; 8], |i| i.balances);
        assert_eq!(r.balance(&a, 0), engine[0], "user {k} GCC");
        assert_eq!(r.balance(&a, 1), engine[1], "user {k} SPIRIT");
    }
    // Replaying a batch twice is not next.
    assert!(matches!(
        r.replay(
            &batches[0].settlement.l1_header,
            &batches[0].settlement.records,
            &deposits
        ),
        Verdict::NotNext { .. }
    ));

    // Lies, each in the last batch holding the op kind; the batches before stay honest.
    let last = batches.len() - 1;
    let find = |pred: fn(&Op) -> bool| {
        batches
            .iter()
            .enumerate()
            .rev()
            .find_map(|(bi, b)| {
                b.settlement
                    .records
                    .iter()
                    .position(|r| pred(&Record::decode(r).unwrap().op))
                    .map(|i| (bi, i))
            })
            .unwrap()
    };
    let lie = |bi: usize, mutate: &dyn Fn(&mut SealedBatch)| {
        let mut bs = batches[..=bi].to_vec();
        mutate(&mut bs[bi]);
        let v = verdicts(&bs, &deposits);
        assert!(v[..bi].iter().all(|v| *v == Verdict::Honest));
        v[bi].clone()
    };
    // A transfer's value changed: its signature no longer recovers the sender.
    let (tb, t) = find(|op| matches!(op, Op::Transfer(_)));
    let v = lie(tb, &|b| {
        let mut rec = Record::decode(&b.settlement.records[t]).unwrap();
        if let Op::Transfer(x) = &mut rec.op {
            x.value += 1;
        }
        b.settlement.records[t] = rec.encode();
    });
    assert!(
        matches!(v, Verdict::Fraud { index, .. } if index == t),
        "{v:?}"
    );
    // A wrong post-state commitment.
    let v = lie(tb, &|b| b.settlement.records[t][RECORD_LEN - 1] ^= 1);
    assert!(
        matches!(v, Verdict::Fraud { index, ref reason } if index == t && reason.contains("commitment")),
        "{v:?}"
    );
    // A deposit the portal never took (amount raised).
    let (db, d) = find(|op| matches!(op, Op::Deposit(_)));
    let v = lie(db, &|b| {
        let mut rec = Record::decode(&b.settlement.records[d]).unwrap();
        if let Op::Deposit(x) = &mut rec.op {
            x.amount += 1;
        }
        b.settlement.records[d] = rec.encode();
    });
    assert!(
        matches!(v, Verdict::Fraud { index, .. } if index == d),
        "{v:?}"
    );
    // A deposit to an existing account that claims a new slot: the account twice.
    let v = lie(db, &|b| {
        let count = b.settlement.l1_header.prevAccountCount as u32;
        let mut rec = Record::decode(&b.settlement.records[d]).unwrap();
        if let Op::Deposit(x) = &mut rec.op {
            x.to_slot = count;
        }
        b.settlement.records[d] = rec.encode();
    });
    assert!(
        matches!(v, Verdict::DuplicateAccount { index, .. } if index == d),
        "{v:?}"
    );
    // A withdrawal by someone else's signature (r changed).
    let (wb, w) = find(|op| matches!(op, Op::Withdrawal(_)));
    let v = lie(wb, &|b| {
        let mut rec = Record::decode(&b.settlement.records[w]).unwrap();
        if let Op::Withdrawal(x) = &mut rec.op {
            x.amount += 1;
        }
        b.settlement.records[w] = rec.encode();
    });
    assert!(
        matches!(v, Verdict::Fraud { index, .. } if index == w),
        "{v:?}"
    );
    // A header whose final state root is not the last step's.
    let v = lie(last, &|b| b.settlement.l1_header.stateRoot.0[0] ^= 1);
    assert!(matches!(v, Verdict::FinalState { .. }), "{v:?}");
    // A record the Rollup cannot decode (kind 7).
    let v = lie(last, &|b| b.settlement.records[0][0] |= 0x07);
    assert!(matches!(v, Verdict::Fraud { index: 0, .. }), "{v:?}");
}

/// 1,000 honest batches straight from the ledger (random deposits, transfers to new and existing
/// accounts, withdrawals, some refused): the independent executor never finds fraud and ends
/// with the engine's state root.
#[test]
fn a_thousand_honest_batches_replay_honest() {
    use ghostbridge_sequencer::ledger::Ledger;
    use ghostbridge_sequencer::tx;
    let engine = Engine::new(EngineConfig {
        accounts_depth: DEPTH,
        batch_transactions_max: 64,
        ..EngineConfig::default()
    })
    .unwrap();
    let mut ledger = Ledger::new(engine);
    let mut replay = replayer();
    let mut deposits = Vec::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let l1 = Address::repeat_byte(0x11);
    let keys: Vec<u64> = (1..=12).collect();
    let mut nonces = std::collections::HashMap::new();
    for batch in 0..1000u64 {
        let ops = 1 + next() % 6;
        for _ in 0..ops {
            let k = keys[(next() % keys.len() as u64) as usize];
            let who = address_of(test_key(k).verifying_key());
            match next() % 4 {
                0 => {
                    let amount = u128::from(1 + next() % 1000) * FEE;
                    let token = (next() % 2) as u8;
                    let index = deposits.len() as u64;
                    ledger
                        .deposit_l1(index, l1, who, token.into(), amount)
                        .unwrap();
                    deposits.push(PortalDeposit {
                        l1_sender: l1,
                        recipient: who,
                        token,
                        amount,
                    });
                }
                1 | 2 => {
                    let to = if next() % 3 == 0 {
                        Address::from_word(alloy_primitives::B256::from(
                            alloy_primitives::U256::from(next()),
                        ))
                    } else {
                        address_of(
                            test_key(keys[(next() % keys.len() as u64) as usize]).verifying_key(),
                        )
                    };
                    let nonce = *nonces.get(&k).unwrap_or(&0);
                    let raw = signed(k, to, u128::from(next() % 50) * FEE / 10, nonce);
                    let d = tx::decode(&raw).unwrap();
                    let t = d.into_engine_tx(who);
                    let out = ledger.apply_transactions(&[t], &[raw]).unwrap();
                    if out[0].is_ok() {
                        nonces.insert(k, nonce + 1);
                    }
                }
                _ => {
                    let nonce = *nonces.get(&k).unwrap_or(&0);
                    let raw = UnsignedWithdrawal {
                        l1_recipient: l1,
                        token: 0,
                        amount: FEE,
                        nonce,
                    }
                    .sign(&test_key(k))
                    .unwrap();
                    let signed = tx::decode_withdrawal(&raw).unwrap();
                    if ledger.withdraw(&signed, &raw, who).is_ok() {
                        nonces.insert(k, nonce + 1);
                    }
                }
            }
        }
        if ledger.open_ops() == 0 {
            continue;
        }
        let ghostbridge_sequencer::ledger::Sealed {
            header, settlement, ..
        } = ledger.seal().unwrap();
        assert_eq!(
            replay.replay(&settlement.l1_header, &settlement.records, &deposits),
            Verdict::Honest,
            "batch {batch}"
        );
        assert_eq!(replay.state().state_root, header.state_root);
    }
}
