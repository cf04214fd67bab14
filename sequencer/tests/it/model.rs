//! A Rust reference model of the GhostPlane ledger (zig/SPEC.md), written from the spec: it
//! predicts each operation's error code and the accounts in slot order, so the proptests can
//! compare codes, balances and roots with the engine.

use alloy_primitives::{Address, B256};
use ghostbridge_sequencer::{roots, TOKEN_COUNT};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Model {
    pub depth: u32,
    pub base_fee: u128,
    pub collector: Address,
    pub accounts: Vec<roots::AccountState>,
    pub index: HashMap<Address, usize>,
    pub deposited: [u128; TOKEN_COUNT],
    pub withdrawn: [u128; TOKEN_COUNT],
    pub tx_hashes: Vec<B256>,
    pub withdrawal_leaves: Vec<B256>,
    pub batch_number: u64,
}

impl Model {
    pub fn new(depth: u32, base_fee: u128, collector: Address) -> Self {
        Self {
            depth,
            base_fee,
            collector,
            accounts: Vec::new(),
            index: HashMap::new(),
            deposited: [0; TOKEN_COUNT],
            withdrawn: [0; TOKEN_COUNT],
            tx_hashes: Vec::new(),
            withdrawal_leaves: Vec::new(),
            batch_number: 0,
        }
    }

    fn free(&self) -> usize {
        (1usize << self.depth) - self.accounts.len()
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
        self.accounts[payer].balances[0] -= self.base_fee;
        self.accounts[c].balances[0] += self.base_fee;
    }

    /// Returns the engine error code (0 = applied).
    pub fn deposit(&mut self, a: Address, token: u32, amount: u128) -> u32 {
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
        let s = self.slot(a);
        self.deposited[token as usize] += amount;
        self.accounts[s].balances[token as usize] += amount;
        0
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
        let cs = self.index.get(&self.collector).copied();
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
        let mut created = 0;
        if fs.is_none() {
            created += 1;
        }
        if ts.is_none() && from != to {
            created += 1;
        }
        if cs.is_none() && self.base_fee > 0 && self.collector != from && self.collector != to {
            created += 1;
        }
        if created > self.free() {
            return 10;
        }
        let f = self.slot(from);
        let t = self.slot(to);
        self.accounts[f].nonce += 1;
        self.accounts[f].balances[token as usize] -= value;
        self.accounts[t].balances[token as usize] += value;
        self.charge_fee(f);
        self.tx_hashes.push(hash);
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
        if self.base_fee > 0
            && !self.index.contains_key(&self.collector)
            && self.collector != from
            && self.free() == 0
        {
            return 10;
        }
        self.accounts[s].nonce += 1;
        self.accounts[s].balances[token as usize] -= amount;
        self.withdrawn[token as usize] += amount;
        self.charge_fee(s);
        let index = self.withdrawal_leaves.len() as u32;
        self.withdrawal_leaves.push(roots::withdrawal_leaf(
            self.batch_number + 1,
            index,
            &from,
            &l1,
            token,
            amount,
        ));
        0
    }

    /// Seals: returns (state root, transactions root, withdrawals root) and opens the next batch.
    pub fn seal(&mut self) -> (B256, B256, B256) {
        self.batch_number += 1;
        let roots = (
            roots::state_root(self.depth, &self.accounts),
            roots::transactions_root(&self.tx_hashes),
            roots::withdrawals_root(&self.withdrawal_leaves),
        );
        self.tx_hashes.clear();
        self.withdrawal_leaves.clear();
        roots
    }

    /// Sum of every account's balance of `token`.
    pub fn supply(&self, token: usize) -> u128 {
        self.accounts.iter().map(|a| a.balances[token]).sum()
    }
}
