//! An executor of GhostPlane batches independent of the Zig engine, for challengers: it replays
//! a posted batch's op records from L1 data alone (the records, the portal's deposits) under the
//! rules the Rollup enforces (`GhostPlaneExec.sol`, zig/SPEC.md "Fraud"), recomputes every
//! post-step commitment with its own sparse Merkle trees, and names the first op that is invalid
//! or whose commitment is wrong. A batch found honest advances the replayer's state; a fraudulent
//! one leaves it untouched (the Rollup cuts that batch and every later one).

use crate::roots::{self, AccountState, StepState, WITHDRAWALS_DEPTH};
use crate::settlement::{
    abi, header_final, header_start, leaf_of, DepositOp, Op, PreAccount, Record, RecordBytes,
    RegisterOp, TransferOp, WithdrawalOp,
};
use crate::TOKEN_COUNT;
use alloy_primitives::{Address, B256};
use std::collections::HashMap;

/// Most withdrawals in one batch (the depth-16 tree).
const WITHDRAWALS_MAX: u32 = 1 << WITHDRAWALS_DEPTH;

/// A portal deposit as its `Deposited` event reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortalDeposit {
    /// L1 sender.
    pub l1_sender: Address,
    /// L2 recipient.
    pub recipient: Address,
    /// Token id.
    pub token: u8,
    /// Amount.
    pub amount: u128,
}

/// What replaying a batch found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every op valid, every commitment and the header's final state right.
    Honest,
    /// The header does not start from the replayer's state (a batch out of order, or one that
    /// builds on a cut batch): not this batch's fraud to prove.
    NotNext {
        /// Why.
        reason: String,
    },
    /// Op `index` is invalid or its post-step commitment is wrong (`proveFraud`).
    Fraud {
        /// The op.
        index: usize,
        /// Which rule.
        reason: String,
    },
    /// Op `index` creates an account for an address the pre-state holds at `existing_slot`
    /// (`proveDuplicateAccount`).
    DuplicateAccount {
        /// The op.
        index: usize,
        /// Where the address already is.
        existing_slot: u32,
    },
    /// Every op is right but the header's final state (or op count) is not the last step's
    /// (`proveFinalFraud`).
    FinalState {
        /// Why.
        reason: String,
    },
}

/// A sparse Merkle tree: missing nodes are the zero subtree of their level.
#[derive(Debug, Clone)]
struct SparseTree {
    depth: u32,
    zero: Vec<B256>,
    nodes: HashMap<(u32, u64), B256>,
}

impl SparseTree {
    fn new(depth: u32) -> Self {
        Self {
            depth,
            zero: roots::zero_hashes(depth),
            nodes: HashMap::new(),
        }
    }

    fn node(&self, level: u32, index: u64) -> B256 {
        self.nodes
            .get(&(level, index))
            .copied()
            .unwrap_or(self.zero[level as usize])
    }

    fn set(&mut self, index: u64, leaf: B256) {
        let mut node = leaf;
        let mut idx = index;
        for level in 0..self.depth {
            self.nodes.insert((level, idx), node);
            let sibling = self.node(level, idx ^ 1);
            node = if idx & 1 == 0 {
                roots::hash_pair(&node, &sibling)
            } else {
                roots::hash_pair(&sibling, &node)
            };
            idx >>= 1;
        }
        self.nodes.insert((self.depth, 0), node);
    }

    fn root(&self) -> B256 {
        self.node(self.depth, 0)
    }

    fn siblings(&self, index: u64) -> Vec<B256> {
        (0..self.depth)
            .map(|level| self.node(level, (index >> level) ^ 1))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Account {
    address: Address,
    nonce: u64,
    balances: [u128; TOKEN_COUNT],
}

impl Account {
    fn leaf(&self) -> B256 {
        roots::account_leaf(&self.address, self.nonce, &self.balances)
    }
}

/// The L2 state as settled on L1, and the rules to advance it.
#[derive(Debug, Clone)]
pub struct Replayer {
    depth: u32,
    base_fee: u128,
    accounts: Vec<Account>,
    slots: HashMap<Address, u32>,
    tree: SparseTree,
    deposit_cursor: u64,
}

/// Why an op is invalid (the op changed nothing).
type Invalid = String;

/// The state an op leaves behind, applied only if the whole batch is honest: the batch's
/// changed accounts and tree nodes over the replayer's (each write costs one path of hashes,
/// never a copy of the state).
#[derive(Clone)]
struct Scratch<'a> {
    base: &'a Replayer,
    changed: HashMap<u32, Account>,
    /// Tree nodes the batch changed, (level, index) → node; the rest are the base tree's.
    nodes: HashMap<(u32, u64), B256>,
    created: HashMap<Address, u32>,
    account_count: u64,
    deposit_cursor: u64,
    withdrawals: SparseTree,
    withdrawal_count: u32,
    batch_number: u64,
}

impl Scratch<'_> {
    fn account(&self, slot: u32) -> Account {
        self.changed
            .get(&slot)
            .copied()
            .or_else(|| self.base.accounts.get(slot as usize).copied())
            .unwrap_or_default()
    }

    fn slot_of(&self, address: &Address) -> Option<u32> {
        self.base
            .slots
            .get(address)
            .or_else(|| self.created.get(address))
            .copied()
    }

    fn node(&self, level: u32, index: u64) -> B256 {
        self.nodes
            .get(&(level, index))
            .copied()
            .unwrap_or_else(|| self.base.tree.node(level, index))
    }

    /// Writes `account` at `slot` and its path up to the root.
    fn write(&mut self, slot: u32, account: Account) {
        self.changed.insert(slot, account);
        let mut node = account.leaf();
        let mut idx = u64::from(slot);
        for level in 0..self.base.depth {
            self.nodes.insert((level, idx), node);
            let sibling = self.node(level, idx ^ 1);
            node = if idx & 1 == 0 {
                roots::hash_pair(&node, &sibling)
            } else {
                roots::hash_pair(&sibling, &node)
            };
            idx >>= 1;
        }
        self.nodes.insert((self.base.depth, 0), node);
    }

    fn siblings(&self, slot: u32) -> Vec<B256> {
        (0..self.base.depth)
            .map(|level| self.node(level, (u64::from(slot) >> level) ^ 1))
            .collect()
    }

    fn state_root(&self) -> B256 {
        self.node(self.base.depth, 0)
    }

    fn capacity(&self) -> u64 {
        1u64 << self.base.depth
    }

    fn append_withdrawal(&mut self, from: Address, to: Address, token: u8, amount: u128) {
        let leaf = roots::withdrawal_leaf(
            self.batch_number,
            self.withdrawal_count,
            &from,
            &to,
            token.into(),
            amount,
        );
        self.withdrawals.set(self.withdrawal_count.into(), leaf);
        self.withdrawal_count = self.withdrawal_count.saturating_add(1);
    }

    fn step(&self) -> StepState {
        StepState {
            state_root: self.state_root(),
            account_count: self.account_count,
            withdrawals_root: self.withdrawals.root(),
            withdrawal_count: self.withdrawal_count,
            deposit_cursor: self.deposit_cursor,
        }
    }
}

/// The witnesses `proveFraud` needs for one op, against the state just before it.
#[derive(Debug, Clone)]
pub struct OpWitness {
    /// The step state before the op (`c_{i-1}`'s preimage; the batch's start for op 0).
    pub pre: StepState,
    /// The accounts the op touches, in SPEC order, with siblings in the pre-op tree.
    pub accounts: Vec<PreAccount>,
    /// Their leaves after the op (the pre-op leaves for an invalid op).
    pub finals: Vec<B256>,
    /// Siblings of leaf `pre.withdrawal_count` in the pre-op withdrawals tree (withdrawals and
    /// refunds; empty otherwise).
    pub withdrawal_siblings: Vec<B256>,
}

/// An op's outcome: fine, invalid, or creating an address that exists (its slot).
enum Outcome {
    Valid,
    Invalid(Invalid),
    Duplicate(u32),
}

fn credit(a: &mut Account, token: u8, value: u128) -> bool {
    match a.balances[token as usize].checked_add(value) {
        Some(b) => {
            a.balances[token as usize] = b;
            true
        }
        None => false,
    }
}

/// Nonce + 1, `value` of `token` and `fee` GCC; false if the balances do not cover them.
fn debit(a: &mut Account, token: u8, value: u128, fee: u128) -> bool {
    let need = if token == 0 {
        value.checked_add(fee)
    } else {
        Some(value)
    };
    match need {
        Some(need) if a.balances[token as usize] >= need && a.balances[0] >= fee => {
            // Covered: checked just above.
            a.balances[token as usize] = a.balances[token as usize].saturating_sub(value);
            a.balances[0] = a.balances[0].saturating_sub(fee);
            a.nonce = a.nonce.saturating_add(1);
            true
        }
        _ => false,
    }
}

impl Replayer {
    /// The genesis state: the fee collector alone at slot 0.
    pub fn genesis(depth: u32, base_fee: u128, fee_collector: Address) -> Self {
        let collector = Account {
            address: fee_collector,
            ..Account::default()
        };
        let mut tree = SparseTree::new(depth);
        tree.set(0, collector.leaf());
        Self {
            depth,
            base_fee,
            accounts: vec![collector],
            slots: HashMap::from([(fee_collector, 0)]),
            tree,
            deposit_cursor: 0,
        }
    }

    /// The state the next batch must start from.
    pub fn state(&self) -> StepState {
        StepState::start(
            self.tree.root(),
            self.accounts.len() as u64,
            self.deposit_cursor,
        )
    }

    /// Balance of `token` held by `address` in the replayed state.
    pub fn balance(&self, address: &Address, token: usize) -> u128 {
        self.slots
            .get(address)
            .map_or(0, |&s| self.accounts[s as usize].balances[token])
    }

    /// Replays batch `header` with its `records`; `deposits[k]` is portal deposit `k` (all the
    /// deposits the portal held when the batch was submitted). An honest batch advances the
    /// state; anything else leaves it as it was.
    pub fn replay(
        &mut self,
        header: &abi::BatchHeader,
        records: &[RecordBytes],
        deposits: &[PortalDeposit],
    ) -> Verdict {
        let start = self.state();
        if header_start(header) != start {
            return Verdict::NotNext {
                reason: format!(
                    "batch {} starts from another state than the replayed tip",
                    header.number
                ),
            };
        }
        let mut s = Scratch {
            base: self,
            changed: HashMap::new(),
            nodes: HashMap::new(),
            created: HashMap::new(),
            account_count: start.account_count,
            deposit_cursor: start.deposit_cursor,
            withdrawals: SparseTree::new(WITHDRAWALS_DEPTH),
            withdrawal_count: 0,
            batch_number: header.number,
        };
        let mut last = start;
        for (index, bytes) in records.iter().enumerate() {
            let record = match Record::decode(bytes) {
                Ok(r) => r,
                Err(e) => {
                    return Verdict::Fraud {
                        index,
                        reason: format!("malformed record: {e}"),
                    }
                }
            };
            match self.apply(&mut s, &record.op, deposits) {
                Outcome::Valid => {}
                Outcome::Invalid(reason) => return Verdict::Fraud { index, reason },
                Outcome::Duplicate(existing_slot) => {
                    return Verdict::DuplicateAccount {
                        index,
                        existing_slot,
                    }
                }
            }
            last = s.step();
            if last.commitment() != record.commitment {
                return Verdict::Fraud {
                    index,
                    reason: "post-step commitment differs from the replayed state".into(),
                };
            }
        }
        if header.opCount as usize != records.len() || header_final(header) != last {
            return Verdict::FinalState {
                reason: format!(
                    "batch {}: the header's final state is not the last op's",
                    header.number
                ),
            };
        }
        let Scratch {
            changed,
            nodes,
            created,
            deposit_cursor,
            ..
        } = s;
        for (address, slot) in created {
            self.slots.insert(address, slot);
            if self.accounts.len() <= slot as usize {
                self.accounts
                    .resize((slot as usize).saturating_add(1), Account::default());
            }
        }
        for (slot, account) in changed {
            self.accounts[slot as usize] = account;
        }
        // The batch's paths were computed over this tree: they are its new nodes.
        self.tree.nodes.extend(nodes);
        self.deposit_cursor = deposit_cursor;
        Verdict::Honest
    }

    /// The witnesses of op `index` of a batch that starts from this replayer's state (ops
    /// before it replayed as they are; `None` if the batch does not start here or an earlier
    /// op is already invalid).
    pub fn witness(
        &self,
        header: &abi::BatchHeader,
        records: &[RecordBytes],
        deposits: &[PortalDeposit],
        index: usize,
    ) -> Option<OpWitness> {
        let start = self.state();
        if header_start(header) != start || index >= records.len() {
            return None;
        }
        let mut s = Scratch {
            base: self,
            changed: HashMap::new(),
            nodes: HashMap::new(),
            created: HashMap::new(),
            account_count: start.account_count,
            deposit_cursor: start.deposit_cursor,
            withdrawals: SparseTree::new(WITHDRAWALS_DEPTH),
            withdrawal_count: 0,
            batch_number: header.number,
        };
        for bytes in &records[..index] {
            let op = Record::decode(bytes).ok()?.op;
            if !matches!(self.apply(&mut s, &op, deposits), Outcome::Valid) {
                return None;
            }
        }
        let pre = s.step();
        let op = Record::decode(&records[index]).ok().map(|r| r.op);
        let mut slots: Vec<u32> = Vec::new();
        let mut touch = |slot: u32| {
            if u64::from(slot) <= s.account_count
                && u64::from(slot) < s.capacity()
                && !slots.contains(&slot)
            {
                slots.push(slot);
            }
        };
        let mut withdrawal = false;
        match &op {
            Some(Op::Deposit(d)) => touch(d.to_slot),
            Some(Op::Refund(_)) => withdrawal = true,
            Some(Op::Transfer(t)) => {
                touch(t.from_slot);
                touch(t.to_slot);
                touch(0);
            }
            Some(Op::Withdrawal(w)) => {
                touch(w.from_slot);
                touch(w.recipient_slot);
                touch(0);
                withdrawal = true;
            }
            Some(Op::Register(r)) => touch(r.slot),
            None => {}
        }
        let state_of = |s: &Scratch<'_>, slot: u32| {
            let a = s.account(slot);
            AccountState {
                address: a.address,
                nonce: a.nonce,
                balances: a.balances,
            }
        };
        let accounts: Vec<PreAccount> = slots
            .iter()
            .map(|&slot| PreAccount {
                slot,
                state: state_of(&s, slot),
                siblings: s.siblings(slot),
            })
            .collect();
        let withdrawal_siblings = if withdrawal {
            s.withdrawals.siblings(s.withdrawal_count.into())
        } else {
            Vec::new()
        };
        let mut after = s.clone();
        let valid = op
            .as_ref()
            .is_some_and(|op| matches!(self.apply(&mut after, op, deposits), Outcome::Valid));
        let finals = accounts
            .iter()
            .map(|p| {
                if valid {
                    leaf_of(&state_of(&after, p.slot))
                } else {
                    p.leaf()
                }
            })
            .collect();
        Some(OpWitness {
            pre,
            accounts,
            finals,
            withdrawal_siblings,
        })
    }

    fn apply(&self, s: &mut Scratch<'_>, op: &Op, deposits: &[PortalDeposit]) -> Outcome {
        match op {
            Op::Deposit(d) => self.deposit(s, d, deposits),
            Op::Refund(d) => self.refund(s, d, deposits),
            Op::Transfer(t) => self.transfer(s, t),
            Op::Withdrawal(w) => self.withdraw(s, w),
            Op::Register(r) => Self::register(s, r),
        }
    }

    /// The op names portal deposit `cursor` exactly.
    fn portal_deposit(s: &Scratch<'_>, d: &DepositOp, deposits: &[PortalDeposit]) -> bool {
        if d.index != s.deposit_cursor || usize::from(d.token) >= TOKEN_COUNT || d.amount == 0 {
            return false;
        }
        usize::try_from(d.index)
            .ok()
            .and_then(|i| deposits.get(i))
            .is_some_and(|p| {
                p.l1_sender == d.l1_sender
                    && p.recipient == d.recipient
                    && p.token == d.token
                    && p.amount == d.amount
            })
    }

    fn deposit(&self, s: &mut Scratch<'_>, d: &DepositOp, deposits: &[PortalDeposit]) -> Outcome {
        if !Self::portal_deposit(s, d, deposits) {
            return Outcome::Invalid(format!("deposit {} is not the portal's next", d.index));
        }
        let count = s.account_count;
        let slot = u64::from(d.to_slot);
        if slot > count || slot >= s.capacity() {
            return Outcome::Invalid(format!("deposit to slot {slot} of {count}"));
        }
        let mut a = s.account(d.to_slot);
        if slot == count {
            if let Some(existing) = s.slot_of(&d.recipient) {
                return Outcome::Duplicate(existing);
            }
            a.address = d.recipient;
            s.created.insert(d.recipient, d.to_slot);
            s.account_count = count.saturating_add(1);
        } else if a.address != d.recipient {
            return Outcome::Invalid(format!("slot {slot} does not hold the recipient"));
        }
        if !credit(&mut a, d.token, d.amount) {
            return Outcome::Invalid("deposit overflows the balance".into());
        }
        s.write(d.to_slot, a);
        s.deposit_cursor = s.deposit_cursor.saturating_add(1);
        Outcome::Valid
    }

    fn refund(&self, s: &mut Scratch<'_>, d: &DepositOp, deposits: &[PortalDeposit]) -> Outcome {
        if !Self::portal_deposit(s, d, deposits) {
            return Outcome::Invalid(format!("refund {} is not the portal's next", d.index));
        }
        if s.account_count < s.capacity() || s.slot_of(&d.recipient).is_some() {
            return Outcome::Invalid("refund of a deposit that fit".into());
        }
        if s.withdrawal_count >= WITHDRAWALS_MAX {
            return Outcome::Invalid("withdrawals tree full".into());
        }
        s.append_withdrawal(Address::ZERO, d.l1_sender, d.token, d.amount);
        s.deposit_cursor = s.deposit_cursor.saturating_add(1);
        Outcome::Valid
    }

    /// Credits the fee to the collector at slot 0 in `s` (after the sender's and recipient's
    /// changes are written).
    fn pay_fee(&self, s: &mut Scratch<'_>) -> bool {
        let mut collector = s.account(0);
        if !credit(&mut collector, 0, self.base_fee) {
            return false;
        }
        s.write(0, collector);
        true
    }

    /// A new account for `r.address` at the next slot.
    fn register(s: &mut Scratch<'_>, r: &RegisterOp) -> Outcome {
        let count = s.account_count;
        let slot = u64::from(r.slot);
        if slot != count || slot >= s.capacity() {
            return Outcome::Invalid(format!("register at slot {slot} of {count}"));
        }
        if let Some(existing) = s.slot_of(&r.address) {
            return Outcome::Duplicate(existing);
        }
        s.created.insert(r.address, r.slot);
        s.account_count = count.saturating_add(1);
        s.write(
            r.slot,
            Account {
                address: r.address,
                ..Account::default()
            },
        );
        Outcome::Valid
    }

    /// The account at `slot` if it is below the account count (transfers and withdrawals
    /// never create accounts).
    fn existing(s: &Scratch<'_>, slot: u32, what: &str) -> Result<Account, Invalid> {
        if u64::from(slot) >= s.account_count {
            return Err(format!("{what} slot {slot} of {}", s.account_count));
        }
        Ok(s.account(slot))
    }

    fn transfer(&self, s: &mut Scratch<'_>, t: &TransferOp) -> Outcome {
        let mut sender = match Self::existing(s, t.from_slot, "sender") {
            Ok(a) => a,
            Err(e) => return Outcome::Invalid(e),
        };
        let rcpt = match Self::existing(s, t.to_slot, "recipient") {
            Ok(a) => a,
            Err(e) => return Outcome::Invalid(e),
        };
        if t.recover(rcpt.address, sender.nonce).ok() != Some(sender.address) {
            return Outcome::Invalid("transfer signature is not the sender slot's".into());
        }
        let priced = u128::from(t.gas_limit).saturating_mul(u128::from(t.gas_price));
        if usize::from(t.token) >= TOKEN_COUNT || priced < self.base_fee {
            return Outcome::Invalid("unknown token or fee too low".into());
        }
        if !debit(&mut sender, t.token, t.value, self.base_fee) {
            return Outcome::Invalid("balance does not cover value and fee".into());
        }
        if t.to_slot == t.from_slot {
            if !credit(&mut sender, t.token, t.value) {
                return Outcome::Invalid("credit overflows".into());
            }
            s.write(t.from_slot, sender);
        } else {
            let mut rcpt = rcpt;
            if !credit(&mut rcpt, t.token, t.value) {
                return Outcome::Invalid("credit overflows".into());
            }
            s.write(t.from_slot, sender);
            s.write(t.to_slot, rcpt);
        }
        if !self.pay_fee(s) {
            return Outcome::Invalid("fee overflows the collector".into());
        }
        Outcome::Valid
    }

    fn withdraw(&self, s: &mut Scratch<'_>, w: &WithdrawalOp) -> Outcome {
        if s.withdrawal_count >= WITHDRAWALS_MAX
            || usize::from(w.token) >= TOKEN_COUNT
            || w.amount == 0
        {
            return Outcome::Invalid("withdrawals full, unknown token or zero amount".into());
        }
        let mut sender = match Self::existing(s, w.from_slot, "withdrawal sender") {
            Ok(a) => a,
            Err(e) => return Outcome::Invalid(e),
        };
        let l1_recipient = match Self::existing(s, w.recipient_slot, "withdrawal recipient") {
            Ok(a) => a.address,
            Err(e) => return Outcome::Invalid(e),
        };
        if w.recover(l1_recipient, sender.nonce).ok() != Some(sender.address) {
            return Outcome::Invalid("withdrawal signature is not the slot's".into());
        }
        if !debit(&mut sender, w.token, w.amount, self.base_fee) {
            return Outcome::Invalid("balance does not cover amount and fee".into());
        }
        s.write(w.from_slot, sender);
        if !self.pay_fee(s) {
            return Outcome::Invalid("fee overflows the collector".into());
        }
        let from = sender.address;
        s.append_withdrawal(from, l1_recipient, w.token, w.amount);
        Outcome::Valid
    }
}
