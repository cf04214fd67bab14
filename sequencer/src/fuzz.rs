//! Fuzzing body shared by the cargo-fuzz target (`sequencer/fuzz`) and the bounded proptest in
//! the normal test run: arbitrary bytes are decoded into FFI inputs — raw signed transactions,
//! engine `Transaction`/`Withdrawal` structs with unchecked token ids and data lengths, deposits
//! (dev and L1, with refunds), batched submissions and seals — and sent across the boundary.
//! Nothing may crash; after each step the per-token supply read back from the engine equals
//! deposits - withdrawals; every sealed batch's steps carry their own commitments and end in the
//! header's state.
#![allow(clippy::arithmetic_side_effects)]

use crate::{
    engine::{DepositOutcome, Engine, EngineConfig, Transaction, Withdrawal},
    tx, TOKEN_COUNT,
};
use alloy_primitives::{Address, B256};
use std::collections::BTreeSet;

/// Engine plus the ghost totals the fuzz body checks against.
#[derive(Debug)]
pub struct FuzzState {
    engine: Engine,
    touched: BTreeSet<Address>,
    deposited: [u128; TOKEN_COUNT],
    withdrawn: [u128; TOKEN_COUNT],
    /// L1 deposits consumed (the engine's deposit cursor).
    cursor: u64,
}

impl Default for FuzzState {
    fn default() -> Self {
        Self::new()
    }
}

impl FuzzState {
    /// A small engine (16 account slots, 8 transactions and 4 withdrawals per batch) so the
    /// full/limit paths are reached quickly.
    pub fn new() -> Self {
        let engine = Engine::new(EngineConfig {
            accounts_depth: 4,
            batch_transactions_max: 8,
            batch_withdrawals_max: 4,
            base_fee: 3,
            fee_collector: Address::repeat_byte(0xfe),
        })
        .expect("valid fuzz config");
        let mut touched = BTreeSet::new();
        touched.insert(Address::repeat_byte(0xfe));
        Self {
            engine,
            touched,
            deposited: [0; TOKEN_COUNT],
            withdrawn: [0; TOKEN_COUNT],
            cursor: 0,
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn u128(&mut self) -> u128 {
        // Mostly small amounts so transactions succeed; sometimes huge.
        let sel = self.u8();
        let v = u128::from_le_bytes(self.take());
        if sel & 0xf0 == 0 {
            v
        } else {
            v % 10_000
        }
    }
    fn address(&mut self) -> Address {
        Address::repeat_byte(self.u8() % 24)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a.to_vec()
    }
}

fn transaction(r: &mut Reader<'_>) -> Transaction {
    let from = r.address();
    let to = r.address();
    let value = r.u128();
    let token = u32::from(r.u8() % 10);
    let gas_limit = r.u64() % 8;
    let gas_price = r.u64() % 8;
    let nonce = r.u64() % 4;
    let len = usize::from(u16::from_le_bytes(r.take())) % 1100;
    let hash = B256::from(r.take::<32>());
    Transaction {
        hash,
        from,
        to,
        value,
        token,
        gas_limit,
        gas_price,
        nonce,
        data: vec![0xd0; len],
    }
}

/// Runs one fuzz input against `state`.
///
/// # Panics
/// When the engine breaks an invariant (the point of fuzzing).
pub fn run_bytes(state: &mut FuzzState, data: &[u8]) {
    let mut r = Reader(data);
    while !r.0.is_empty() {
        match r.u8() % 8 {
            0 => {
                let who = r.address();
                let token = u32::from(r.u8() % 10);
                let amount = r.u128();
                if state.engine.deposit_unchecked(who, token, amount).is_ok() {
                    state.deposited[token as usize] += amount;
                    state.touched.insert(who);
                    state.cursor += 1;
                }
            }
            1 => {
                let tx = transaction(&mut r);
                if state.engine.submit_transaction_unchecked(&tx).is_ok() {
                    state.touched.insert(tx.to);
                }
            }
            2 => {
                let n = usize::from(r.u8() % 12);
                let txs: Vec<Transaction> = (0..n).map(|_| transaction(&mut r)).collect();
                if let Ok(outcomes) = state.engine.submit_transactions(&txs) {
                    assert_eq!(outcomes.len(), txs.len());
                    for (tx, o) in txs.iter().zip(outcomes) {
                        if o.is_ok() {
                            state.touched.insert(tx.to);
                        }
                    }
                }
            }
            3 => {
                let w = Withdrawal {
                    from: r.address(),
                    l1_recipient: r.address(),
                    token: u32::from(r.u8() % 10),
                    amount: r.u128(),
                    nonce: r.u64() % 4,
                };
                if state.engine.withdraw_unchecked(&w).is_ok() {
                    state.withdrawn[w.token as usize] += w.amount;
                }
            }
            4 => {
                let header = state.engine.create_batch().expect("sealing never fails");
                assert_eq!(state.engine.state_root().expect("root"), header.state_root);
                assert_eq!(header.deposit_cursor, state.cursor);
                for i in 0..header.op_count {
                    let s = state.engine.step(i).expect("step of the sealed batch");
                    let pre = crate::roots::StepState {
                        state_root: s.state_root,
                        account_count: s.account_count,
                        withdrawals_root: s.withdrawals_root,
                        withdrawal_count: s.withdrawal_count,
                        deposit_cursor: s.deposit_cursor,
                    };
                    assert_eq!(s.commitment, pre.commitment());
                    if i + 1 == header.op_count {
                        assert_eq!(s.state_root, header.state_root);
                        assert_eq!(s.withdrawals_root, header.withdrawals_root);
                    }
                }
                assert!(state.engine.step(header.op_count).is_err());
                let _ = state.engine.withdrawal_proof(u32::from(r.u8() % 6));
                let who = r.address();
                if let Ok(p) = state.engine.account_proof(who) {
                    assert!(crate::roots::verify_proof(
                        &p.root,
                        &p.leaf,
                        p.leaf_index,
                        &p.siblings
                    ));
                }
            }
            5 => {
                let len = usize::from(u16::from_le_bytes(r.take())) % 1300;
                let raw = r.bytes(len);
                if let Ok(decoded) = tx::decode(&raw) {
                    if let Ok(from) = decoded.recover() {
                        let tx = decoded.into_engine_tx(from);
                        let _ = state.engine.submit_transaction(&tx);
                    }
                }
            }
            6 => {
                let index = state.cursor + u64::from(r.u8() % 2);
                let sender = r.address();
                let who = r.address();
                let token = u32::from(r.u8() % 10);
                let amount = r.u128();
                match state
                    .engine
                    .deposit_l1_unchecked(index, sender, who, token, amount)
                {
                    Ok(DepositOutcome::Credited) => {
                        state.deposited[token as usize] += amount;
                        state.touched.insert(who);
                        state.cursor += 1;
                    }
                    Ok(DepositOutcome::Refunded) => state.cursor += 1,
                    Err(_) => {}
                }
            }
            _ => {
                let _ = state.engine.account(r.address());
                if let Ok(p) = state.engine.slot_proof(u32::from(r.u8() % 20)) {
                    assert!(crate::roots::verify_proof(
                        &p.root,
                        &p.leaf,
                        p.leaf_index,
                        &p.siblings
                    ));
                }
            }
        }
        check_supply(state);
    }
}

fn check_supply(state: &mut FuzzState) {
    let mut sums = [0u128; TOKEN_COUNT];
    for who in &state.touched {
        if let Some(info) = state.engine.account(*who).expect("account query") {
            for (s, b) in sums.iter_mut().zip(info.balances) {
                *s = s.checked_add(b).expect("supply fits u128");
            }
        }
    }
    for (t, sum) in sums.iter().enumerate() {
        assert_eq!(
            *sum,
            state.deposited[t] - state.withdrawn[t],
            "supply of token {t}"
        );
    }
}
