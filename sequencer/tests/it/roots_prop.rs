//! Property tests: random deposit (dev and L1, with refunds) / transfer / withdraw / seal
//! sequences through the engine and the Rust model. After every operation the engine's code
//! equals the model's; after every batch the engine's header (three roots, counts, deposit cursor,
//! op count) equals the Rust recomputation, and so does the post-step state (all five fields, the
//! kind and the 31-byte commitment) of every op of the batch; per-token supply (sum of balances,
//! read back from the engine) always equals deposits - withdrawals.

use crate::{error_codes::transfer, model::Model};
use alloy_primitives::{keccak256, Address, B256};
use ghostbridge_sequencer::{
    engine::{DepositOutcome, Engine, EngineConfig, Transaction, Withdrawal},
    EngineError, TOKEN_COUNT,
};
use proptest::prelude::*;

const FEE: u128 = 1_000;
const USERS: u8 = 6;
/// Small batch bounds so `batch_full` and `withdrawals_full` are reached.
const OPS_MAX: u32 = 24;
const WITHDRAWALS_MAX: u32 = 4;

#[derive(Debug, Clone)]
enum Op {
    Deposit {
        who: u8,
        token: u32,
        amount: u128,
    },
    /// An L1 deposit; `index_skew` != 0 offers a wrong index.
    DepositL1 {
        who: u8,
        token: u32,
        amount: u128,
        index_skew: u8,
    },
    Transfer {
        from: u8,
        to: u8,
        token: u32,
        value: u128,
        nonce_skew: u8,
        cheap: bool,
    },
    Withdraw {
        from: u8,
        token: u32,
        amount: u128,
        nonce_skew: u8,
    },
    /// Several transfers in one batched FFI crossing.
    Many {
        txs: Vec<(u8, u8, u32, u128)>,
    },
    Seal,
}

fn user(i: u8) -> Address {
    Address::repeat_byte(i + 1)
}

fn amount() -> impl Strategy<Value = u128> {
    prop_oneof![0u128..5_000, 0u128..50, Just(u128::MAX / 4)]
}

fn token() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 0u32..3, 1 => 0u32..9]
}

fn skew() -> impl Strategy<Value = u8> {
    prop_oneof![9 => Just(0u8), 1 => 1u8..3]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..USERS, token(), amount()).prop_map(|(who, token, amount)| Op::Deposit { who, token, amount }),
        2 => (0..USERS, token(), amount(), skew()).prop_map(|(who, token, amount, index_skew)| Op::DepositL1 { who, token, amount, index_skew }),
        5 => (0..USERS, 0..USERS + 2, token(), amount(), skew(), prop::bool::weighted(0.05))
            .prop_map(|(from, to, token, value, nonce_skew, cheap)| Op::Transfer { from, to, token, value, nonce_skew, cheap }),
        2 => (0..USERS, token(), amount(), skew()).prop_map(|(from, token, amount, nonce_skew)| Op::Withdraw { from, token, amount, nonce_skew }),
        2 => prop::collection::vec((0..USERS, 0..USERS + 2, 0u32..2, 0u128..300), 1..12).prop_map(|txs| Op::Many { txs }),
        1 => Just(Op::Seal),
    ]
}

struct Harness {
    engine: Engine,
    model: Model,
    counter: u64,
}

impl Harness {
    fn new(depth: u32) -> Self {
        let collector = Address::repeat_byte(0xfe);
        let engine = Engine::new(EngineConfig {
            accounts_depth: depth,
            batch_transactions_max: OPS_MAX,
            batch_withdrawals_max: WITHDRAWALS_MAX,
            base_fee: FEE,
            fee_collector: collector,
        })
        .unwrap();
        Self {
            engine,
            model: Model::new(depth, FEE, collector, OPS_MAX, WITHDRAWALS_MAX),
            counter: 0,
        }
    }

    fn nonce_of(&self, a: Address) -> u64 {
        self.model
            .index
            .get(&a)
            .map_or(0, |&s| self.model.accounts[s].nonce)
    }

    fn tx(
        &mut self,
        from: Address,
        to: Address,
        token: u32,
        value: u128,
        nonce: u64,
        cheap: bool,
    ) -> Transaction {
        self.counter += 1;
        let mut tx = transfer(from, to, token, value, nonce);
        tx.hash = keccak256(self.counter.to_be_bytes());
        if cheap {
            tx.gas_limit = 1;
            tx.gas_price = 1;
        } else {
            tx.gas_limit = 10;
            tx.gas_price = 100;
        }
        tx
    }

    fn model_transfer(&mut self, tx: &Transaction) -> u32 {
        let fee = u128::from(tx.gas_limit) * u128::from(tx.gas_price);
        self.model
            .transfer(tx.hash, tx.from, tx.to, tx.token, tx.value, tx.nonce, fee)
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Deposit { who, token, amount } => {
                let want = self.model.deposit(user(*who), *token, *amount);
                let got = code_of(self.engine.deposit_unchecked(user(*who), *token, *amount));
                prop_assert_eq!(got, want, "deposit {:?}", op);
            }
            Op::DepositL1 {
                who,
                token,
                amount,
                index_skew,
            } => {
                let index = self.model.deposit_cursor + u64::from(*index_skew);
                let sender = Address::repeat_byte(0xd0 + who);
                let (want, refunded) =
                    self.model
                        .deposit_l1(index, sender, user(*who), *token, *amount);
                let got =
                    self.engine
                        .deposit_l1_unchecked(index, sender, user(*who), *token, *amount);
                match got {
                    Ok(outcome) => {
                        prop_assert_eq!(want, 0, "deposit_l1 {:?}", op);
                        let expected = if refunded {
                            DepositOutcome::Refunded
                        } else {
                            DepositOutcome::Credited
                        };
                        prop_assert_eq!(outcome, expected, "deposit_l1 {:?}", op);
                    }
                    Err(e) => {
                        prop_assert_eq!(e.code().expect("known code"), want, "deposit_l1 {:?}", op)
                    }
                }
            }
            Op::Transfer {
                from,
                to,
                token,
                value,
                nonce_skew,
                cheap,
            } => {
                let nonce = self.nonce_of(user(*from)) + u64::from(*nonce_skew);
                let tx = self.tx(user(*from), user(*to), *token, *value, nonce, *cheap);
                let want = self.model_transfer(&tx);
                let got = code_of(self.engine.submit_transaction_unchecked(&tx));
                prop_assert_eq!(got, want, "transfer {:?}", op);
            }
            Op::Withdraw {
                from,
                token,
                amount,
                nonce_skew,
            } => {
                let nonce = self.nonce_of(user(*from)) + u64::from(*nonce_skew);
                let w = Withdrawal {
                    from: user(*from),
                    l1_recipient: Address::repeat_byte(0xaa),
                    token: *token,
                    amount: *amount,
                    nonce,
                };
                let want = self
                    .model
                    .withdraw(w.from, w.l1_recipient, w.token, w.amount, w.nonce);
                let got = code_of(self.engine.withdraw_unchecked(&w));
                prop_assert_eq!(got, want, "withdraw {:?}", op);
            }
            Op::Many { txs } => {
                // Nonces assigned as the model sees them before the call, per sender in order.
                let mut next: std::collections::HashMap<Address, u64> = Default::default();
                let mut batch = Vec::new();
                for &(f, t, token, value) in txs {
                    let from = user(f);
                    let n = *next.entry(from).or_insert_with(|| self.nonce_of(from));
                    next.insert(from, n + 1);
                    batch.push(self.tx(from, user(t), token, value, n, false));
                }
                let outcomes = self.engine.submit_transactions(&batch).unwrap();
                // The crossing stops at its first batch_full: that transaction and every later
                // one get code 11, even one that would fit (a transfer needing no register op
                // after one that needed two ops with one left).
                let mut full = false;
                for (tx, outcome) in batch.iter().zip(outcomes) {
                    let want = if full { 11 } else { self.model_transfer(tx) };
                    full |= want == 11;
                    prop_assert_eq!(
                        outcome.err().and_then(|e| e.code()).unwrap_or(0),
                        want,
                        "batched {:?}",
                        tx
                    );
                }
            }
            Op::Seal => self.seal()?,
        }
        self.check_supply()
    }

    fn seal(&mut self) -> Result<(), TestCaseError> {
        let h = self.engine.create_batch().unwrap();
        let m = self.model.seal();
        prop_assert_eq!(h.batch_number, self.model.batch_number);
        prop_assert_eq!(h.account_count, m.account_count);
        prop_assert_eq!(h.state_root, m.state_root, "state root");
        prop_assert_eq!(
            h.transactions_root,
            m.transactions_root,
            "transactions root"
        );
        prop_assert_eq!(h.withdrawals_root, m.withdrawals_root, "withdrawals root");
        prop_assert_eq!(h.transaction_count, m.transaction_count);
        prop_assert_eq!(h.withdrawal_count, m.withdrawal_count);
        prop_assert_eq!(h.deposit_cursor, m.deposit_cursor);
        prop_assert_eq!(h.op_count as usize, m.steps.len(), "op count");
        prop_assert_eq!(self.engine.state_root().unwrap(), m.state_root);
        // Every op's post-step state, kind and commitment.
        for (i, (want, kind)) in m.steps.iter().enumerate() {
            let got = self.engine.step(i as u32).unwrap();
            prop_assert_eq!(got.state_root, want.state_root, "step {} state root", i);
            prop_assert_eq!(got.account_count, want.account_count, "step {} accounts", i);
            prop_assert_eq!(
                got.withdrawals_root,
                want.withdrawals_root,
                "step {} withdrawals root",
                i
            );
            prop_assert_eq!(
                got.withdrawal_count,
                want.withdrawal_count,
                "step {} withdrawals",
                i
            );
            prop_assert_eq!(got.deposit_cursor, want.deposit_cursor, "step {} cursor", i);
            prop_assert_eq!(got.kind, *kind, "step {} kind", i);
            prop_assert_eq!(got.commitment, want.commitment(), "step {} commitment", i);
        }
        // The final state is the last step's (the header carries it).
        if let Some((last, _)) = m.steps.last() {
            prop_assert_eq!(h.state_root, last.state_root);
            prop_assert_eq!(h.withdrawals_root, last.withdrawals_root);
        }
        let past = self.engine.step(h.op_count).unwrap_err();
        prop_assert_eq!(past.code(), Some(19));
        Ok(())
    }

    fn check_supply(&mut self) -> Result<(), TestCaseError> {
        let mut sums = [0u128; TOKEN_COUNT];
        for a in self.model.accounts.clone() {
            let info = self
                .engine
                .account(a.address)
                .unwrap()
                .expect("model account exists in engine");
            prop_assert_eq!(info.balances, a.balances, "balances of {}", a.address);
            prop_assert_eq!(info.nonce, a.nonce);
            for (s, b) in sums.iter_mut().zip(info.balances) {
                *s = s.checked_add(b).expect("supply fits u128");
            }
        }
        for (t, sum) in sums.iter().enumerate() {
            prop_assert_eq!(
                *sum,
                self.model.deposited[t] - self.model.withdrawn[t],
                "supply of token {}",
                t
            );
            prop_assert_eq!(*sum, self.model.supply(t));
        }
        Ok(())
    }
}

fn code_of(r: Result<(), EngineError>) -> u32 {
    r.err().map_or(0, |e| e.code().expect("known code"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_model_and_keeps_supply(ops in prop::collection::vec(op(), 1..60), depth in prop_oneof![Just(2u32), Just(3), Just(10)]) {
        let mut h = Harness::new(depth);
        for op in &ops {
            h.apply(op)?;
        }
        h.seal()?;
    }
}

#[test]
fn empty_batch_roots() {
    use ghostbridge_sequencer::roots;
    let mut h = Harness::new(4);
    let header = h.engine.create_batch().unwrap();
    assert_eq!(header.transactions_root, B256::ZERO);
    assert_eq!(
        header.withdrawals_root,
        roots::zero_hashes(roots::WITHDRAWALS_DEPTH)[16]
    );
    // Genesis: the fee collector (nonce 0, zero balances) at slot 0.
    let collector = roots::AccountState {
        address: Address::repeat_byte(0xfe),
        nonce: 0,
        balances: [0; TOKEN_COUNT],
    };
    assert_eq!(header.state_root, roots::state_root(4, &[collector]));
    assert_eq!((header.account_count, header.op_count), (1, 0));
    assert_eq!(header.deposit_cursor, 0);
}
