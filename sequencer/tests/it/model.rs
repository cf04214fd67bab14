//! A Rust reference model of the GhostPlane ledger (zig/SPEC.md, including "Settlement on L1"),
//! written from the spec: it predicts each operation's error code and the accounts in slot order
//! (the fee collector at slot 0 from genesis), bounds the open batch's ops and withdrawals,
//! keeps the L1 deposit cursor, turns deposits that cannot create their account into refunds,
//! and records the post-step state of every op, so the proptests can compare codes, balances,
//! roots and every step of every sealed batch with the engine.

use alloy_primitives::{Address, B256};
use ghostbridge_sequencer::{roots, TOKEN_COUNT};
use std::collections::HashMap;

/// Op kinds (SPEC "Op records").
pub const KIND_DEPOSIT: u32 = 1;
pub const KIND_TRANSFER: u32 = 2;
pub const KIND_WITHDRAWAL: u32 = 3;
pub const KIND_REFUND: u32 = 4;
pub const KIND_REGISTER: u32 = 5;

#[derive(Debug, Clone)]
pub struct Model {
    pub depth: u32,
    pub base_fee: u128,
    pub collector: Address,
    pub ops_max: u32,
    pub withdrawals_max: u32,
    pub accounts: Vec<roots::AccountState>,
    pub index: HashMap<Address, usize>,
    pub deposited: [u128; TOKEN_COUNT],
    pub withdrawn: [u128; TOKEN_COUNT],
    pub deposit_cursor: u64,
    pub tx_hashes: Vec<B256>,
    pub withdrawal_leaves: Vec<B256>,
    /// Post-step state and kind of every op of the open batch.
    pub steps: Vec<(roots::StepState, u32)>,
    pub batch_number: u64,
}

impl Model {
    pub fn new(
        depth: u32,
        base_fee: u128,
        collector: Address,
        ops_max: u32,
        withdrawals_max: u32,
    ) -> Self {
        let mut m = Self {
            depth,
            base_fee,
            collector,
            ops_max,
            withdrawals_max,
            accounts: Vec::new(),
            index: HashMap::new(),
            deposited: [0; TOKEN_COUNT],
            withdrawn: [0; TOKEN_COUNT],
            deposit_cursor: 0,
            tx_hashes: Vec::new(),
            withdrawal_leaves: Vec::new(),
            steps: Vec::new(),
            batch_number: 0,
        };
        m.slot(collector); // Genesis: the fee collector at slot 0.
        m
    }

    fn free(&self) -> usize {
        (1usize << self.depth) - self.accounts.len()
    }

    fn batch_full(&self) -> bool {
        self.ops_left() == 0
    }

    fn ops_left(&self) -> usize {
        self.ops_max as usize - self.steps.len()
    }

    /// A register op: `a` gets the next slot (SPEC v3: transfers and withdrawals never create).
    fn register(&mut self, a: Address) -> usize {
        let slot = self.slot(a);
        self.record_step(KIND_REGISTER);
        slot
    }

    fn slot(&mut self, a: Address) -> usize {
        if let Some(&s) = self.index.get(&a) {
            return s;
        }
        self.accounts.push(roots::AccountState {
            address: a,
            nonce: 0,
            balances: [0; TOKEN_COUNT],
        });
        self.index.insert(a, self.accounts.len() - 1);
        self.accounts.len() - 1
    }

    fn charge_fee(&mut self, payer: usize) {
        if self.base_fee == 0 {
            return;
        }
        let c = self.slot(self.collector);
        assert_eq!(c, 0, "the collector is slot 0");
        self.accounts[payer].balances[0] -= self.base_fee;
        self.accounts[c].balances[0] += self.base_fee;
    }

    /// The state after the op just applied, from scratch.
    fn record_step(&mut self, kind: u32) {
        let state = roots::StepState {
            state_root: roots::state_root(self.depth, &self.accounts),
            account_count: self.accounts.len() as u64,
            withdrawals_root: roots::withdrawals_root(&self.withdrawal_leaves),
            withdrawal_count: self.withdrawal_leaves.len() as u32,
            deposit_cursor: self.deposit_cursor,
        };
        self.steps.push((state, kind));
    }

    fn push_withdrawal(&mut self, from: Address, l1: Address, token: u32, amount: u128) {
        let index = self.withdrawal_leaves.len() as u32;
        self.withdrawal_leaves.push(roots::withdrawal_leaf(
            self.batch_number + 1,
            index,
            &from,
            &l1,
            token,
            amount,
        ));
    }

    /// The deposit checks (0 = passes; 10 = the account cannot be created).
    fn deposit_check(&self, a: Address, token: u32, amount: u128) -> u32 {
        if token as usize >= TOKEN_COUNT {
            return 4;
        }
        if amount == 0 {
            return 17;
        }
        if self.deposited[token as usize].checked_add(amount).is_none() {
            return 9;
        }
        if !self.index.contains_key(&a) && self.free() == 0 {
            return 10;
        }
        0
    }

    fn credit_deposit(&mut self, a: Address, token: u32, amount: u128) {
        let s = self.slot(a);
        self.deposited[token as usize] += amount;
        self.accounts[s].balances[token as usize] += amount;
        self.deposit_cursor += 1;
        self.record_step(KIND_DEPOSIT);
    }

    /// v1 dev deposit: returns the engine error code (0 = applied).
    pub fn deposit(&mut self, a: Address, token: u32, amount: u128) -> u32 {
        if self.batch_full() {
            return 11;
        }
        let code = self.deposit_check(a, token, amount);
        if code != 0 {
            return code;
        }
        self.credit_deposit(a, token, amount);
        0
    }

    /// L1 deposit `index`: (code, refunded).
    pub fn deposit_l1(
        &mut self,
        index: u64,
        l1_sender: Address,
        a: Address,
        token: u32,
        amount: u128,
    ) -> (u32, bool) {
        if index != self.deposit_cursor {
            return (18, false);
        }
        if self.batch_full() {
            return (11, false);
        }
        match self.deposit_check(a, token, amount) {
            0 => {
                self.credit_deposit(a, token, amount);
                (0, false)
            }
            10 => {
                if self.withdrawal_leaves.len() == self.withdrawals_max as usize {
                    return (12, false);
                }
                self.push_withdrawal(Address::ZERO, l1_sender, token, amount);
                self.deposit_cursor += 1;
                self.record_step(KIND_REFUND);
                (0, true)
            }
            code => (code, false),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn transfer(
        &mut self,
        hash: B256,
        from: Address,
        to: Address,
        token: u32,
        value: u128,
        nonce: u64,
        fee_offered: u128,
    ) -> u32 {
        let fs = self.index.get(&from).copied();
        let ts = self.index.get(&to).copied();
        // A new sender and a new recipient each take a register op before the transfer.
        let registers = usize::from(fs.is_none()) + usize::from(ts.is_none() && from != to);
        if 1 + registers > self.ops_left() {
            return 11;
        }
        let zero = [0u128; TOKEN_COUNT];
        let (acct_nonce, bal) = fs.map_or((0, zero), |s| {
            (self.accounts[s].nonce, self.accounts[s].balances)
        });
        if nonce != acct_nonce {
            return 3;
        }
        if token as usize >= TOKEN_COUNT {
            return 4;
        }
        if fee_offered < self.base_fee {
            return 6;
        }
        let debit = if token == 0 {
            value.checked_add(self.base_fee)
        } else {
            Some(value)
        };
        match debit {
            Some(d) if bal[token as usize] >= d => {}
            _ => return 7,
        }
        if bal[0] < self.base_fee {
            return 8;
        }
        // A self-transfer debits before it credits, so it never overflows (SPEC clarification).
        if let Some(t) = ts.filter(|_| from != to) {
            if self.accounts[t].balances[token as usize]
                .checked_add(value)
                .is_none()
            {
                return 9;
            }
        }
        if registers > self.free() {
            return 10;
        }
        let f = fs.unwrap_or_else(|| self.register(from));
        let t = match self.index.get(&to) {
            Some(&t) => t,
            None => self.register(to),
        };
        self.accounts[f].nonce += 1;
        self.accounts[f].balances[token as usize] -= value;
        self.accounts[t].balances[token as usize] += value;
        self.charge_fee(f);
        self.tx_hashes.push(hash);
        self.record_step(KIND_TRANSFER);
        0
    }

    pub fn withdraw(
        &mut self,
        from: Address,
        l1: Address,
        token: u32,
        amount: u128,
        nonce: u64,
    ) -> u32 {
        // An L1 recipient with no L2 account takes a register op before the withdrawal.
        let registers = usize::from(!self.index.contains_key(&l1));
        if 1 + registers > self.ops_left() {
            return 11;
        }
        if self.withdrawal_leaves.len() == self.withdrawals_max as usize {
            return 12;
        }
        if token as usize >= TOKEN_COUNT {
            return 4;
        }
        if amount == 0 {
            return 17;
        }
        let Some(&s) = self.index.get(&from) else {
            return 13;
        };
        if nonce != self.accounts[s].nonce {
            return 3;
        }
        let bal = self.accounts[s].balances;
        let need = if token == 0 {
            amount.checked_add(self.base_fee)
        } else {
            Some(amount)
        };
        match need {
            Some(n) if bal[token as usize] >= n => {}
            _ => return 7,
        }
        if bal[0] < self.base_fee {
            return 8;
        }
        if registers > self.free() {
            return 10;
        }
        if registers == 1 {
            self.register(l1);
        }
        self.accounts[s].nonce += 1;
        self.accounts[s].balances[token as usize] -= amount;
        self.withdrawn[token as usize] += amount;
        self.charge_fee(s);
        self.push_withdrawal(from, l1, token, amount);
        self.record_step(KIND_WITHDRAWAL);
        0
    }

    /// Seals: returns the sealed batch and opens the next one.
    pub fn seal(&mut self) -> SealedModel {
        self.batch_number += 1;
        let sealed = SealedModel {
            state_root: roots::state_root(self.depth, &self.accounts),
            transactions_root: roots::transactions_root(&self.tx_hashes),
            withdrawals_root: roots::withdrawals_root(&self.withdrawal_leaves),
            transaction_count: self.tx_hashes.len() as u32,
            withdrawal_count: self.withdrawal_leaves.len() as u32,
            account_count: self.accounts.len() as u64,
            deposit_cursor: self.deposit_cursor,
            steps: std::mem::take(&mut self.steps),
        };
        self.tx_hashes.clear();
        self.withdrawal_leaves.clear();
        sealed
    }

    /// Sum of every account's balance of `token`.
    pub fn supply(&self, token: usize) -> u128 {
        self.accounts.iter().map(|a| a.balances[token]).sum()
    }
}

/// What the model predicts for a sealed batch.
#[derive(Debug, Clone)]
pub struct SealedModel {
    pub state_root: B256,
    pub transactions_root: B256,
    pub withdrawals_root: B256,
    pub transaction_count: u32,
    pub withdrawal_count: u32,
    pub account_count: u64,
    pub deposit_cursor: u64,
    pub steps: Vec<(roots::StepState, u32)>,
}
