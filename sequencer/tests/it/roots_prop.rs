//! Property tests: random deposit / transfer / withdraw / seal sequences through the engine and
//! the Rust model. After every operation the engine's code equals the model's; after every batch
//! the engine's three roots equal the Rust recomputation; per-token supply (sum of balances, read
//! back from the engine) always equals deposits - withdrawals.

use crate::{error_codes::transfer, model::Model};
use alloy_primitives::{keccak256, Address, B256};
use ghostbridge_sequencer::{
    engine::{Engine, EngineConfig, Transaction, Withdrawal},
    EngineError, TOKEN_COUNT,
};
use proptest::prelude::*;

const FEE: u128 = 1_000;
const USERS: u8 = 6;

#[derive(Debug, Clone)]
enum Op {
    Deposit {
        who: u8,
        token: u32,
        amount: u128,
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
        3 => (0..USERS, token(), amount()).prop_map(|(who, token, amount)| Op::Deposit { who, token, amount }),
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
            batch_transactions_max: 4096,
            batch_withdrawals_max: 64,
            base_fee: FEE,
            fee_collector: collector,
        })
        .unwrap();
        Self {
            engine,
            model: Model::new(depth, FEE, collector),
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
                for (tx, outcome) in batch.iter().zip(outcomes) {
                    let want = self.model_transfer(tx);
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
        let (state, txs, wds) = self.model.seal();
        prop_assert_eq!(h.batch_number, self.model.batch_number);
        prop_assert_eq!(h.account_count, self.model.accounts.len() as u64);
        prop_assert_eq!(h.state_root, state, "state root");
        prop_assert_eq!(h.transactions_root, txs, "transactions root");
        prop_assert_eq!(h.withdrawals_root, wds, "withdrawals root");
        prop_assert_eq!(self.engine.state_root().unwrap(), state);
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
    let mut h = Harness::new(4);
    let header = h.engine.create_batch().unwrap();
    assert_eq!(header.transactions_root, B256::ZERO);
    assert_eq!(header.withdrawals_root, B256::ZERO);
    assert_eq!(
        header.state_root,
        ghostbridge_sequencer::roots::zero_hashes(4)[4]
    );
}
