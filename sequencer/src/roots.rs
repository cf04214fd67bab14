//! Independent recomputation of the engine's roots from the definitions in `zig/SPEC.md`, with
//! `alloy_primitives::keccak256`: account leaves, the fixed-depth state tree (accounts in slot
//! order), the padded transactions tree, the fixed depth-16 withdrawals tree, the 84-byte step
//! state and its 31-byte commitment (SPEC "Settlement on L1"), and proof verification. Nothing
//! here calls the engine, so it checks the engine rather than restating it.

// Byte offsets and tree levels below are bounded by fixed constants (156-byte leaves, depth <= 32).
#![allow(clippy::arithmetic_side_effects)]

use crate::TOKEN_COUNT;
use alloy_primitives::{keccak256, Address, B256};

/// Deepest state tree the engine supports.
pub const DEPTH_MAX: u32 = 32;

/// Depth of every batch's withdrawals tree (at most 2^16 withdrawals per batch).
pub const WITHDRAWALS_DEPTH: u32 = 16;

/// Length of the StepState preimage of a step commitment.
pub const STEP_STATE_LEN: usize = 84;

/// `keccak256(left || right)`.
pub fn hash_pair(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// `zero[0..=depth]`: `zero[0] = 0^32`, `zero[i+1] = keccak256(zero[i] || zero[i])`.
pub fn zero_hashes(depth: u32) -> Vec<B256> {
    let mut z = Vec::with_capacity(depth as usize + 1);
    z.push(B256::ZERO);
    for i in 0..depth as usize {
        let next = hash_pair(&z[i], &z[i]);
        z.push(next);
    }
    z
}

/// Account leaf: `keccak256(address || nonce (u64 BE) || balances[0..8] (u128 BE each))`.
pub fn account_leaf(address: &Address, nonce: u64, balances: &[u128; TOKEN_COUNT]) -> B256 {
    let mut buf = [0u8; 20 + 8 + 16 * TOKEN_COUNT];
    buf[..20].copy_from_slice(address.as_slice());
    buf[20..28].copy_from_slice(&nonce.to_be_bytes());
    for (i, b) in balances.iter().enumerate() {
        let at = 28 + 16 * i;
        buf[at..at + 16].copy_from_slice(&b.to_be_bytes());
    }
    keccak256(buf)
}

/// Root of the depth-`depth` tree whose leaves `0..leaves.len()` are `leaves` and the rest are
/// zero leaves. Cost is linear in `leaves.len()` plus `depth`.
///
/// # Panics
/// If `leaves` does not fit the tree (`leaves.len() > 2^depth`).
pub fn sparse_root(depth: u32, leaves: &[B256]) -> B256 {
    assert!(depth <= DEPTH_MAX, "depth {depth} above {DEPTH_MAX}");
    assert!(
        (leaves.len() as u64) <= 1u64 << depth,
        "{} leaves do not fit depth {depth}",
        leaves.len()
    );
    let zero = zero_hashes(depth);
    let mut level: Vec<B256> = leaves.to_vec();
    for z in zero.iter().take(depth as usize) {
        if level.is_empty() {
            level.push(*z);
        }
        let next: Vec<B256> = level
            .chunks(2)
            .map(|pair| hash_pair(&pair[0], pair.get(1).unwrap_or(z)))
            .collect();
        level = next;
    }
    level.first().copied().unwrap_or(zero[depth as usize])
}

/// One account of the ledger as the state root sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountState {
    /// Address.
    pub address: Address,
    /// Nonce.
    pub nonce: u64,
    /// Balances by token id.
    pub balances: [u128; TOKEN_COUNT],
}

/// State root over `accounts` given in slot order (slot `i` = `accounts[i]`).
pub fn state_root(depth: u32, accounts: &[AccountState]) -> B256 {
    let leaves: Vec<B256> = accounts
        .iter()
        .map(|a| account_leaf(&a.address, a.nonce, &a.balances))
        .collect();
    sparse_root(depth, &leaves)
}

/// Root of `leaves` padded with zero leaves to the next power of two (at least one leaf); the
/// empty list has the zero root. Used for the transactions and withdrawals roots.
pub fn padded_root(leaves: &[B256]) -> B256 {
    if leaves.is_empty() {
        return B256::ZERO;
    }
    let width = leaves.len().next_power_of_two();
    sparse_root(width.trailing_zeros(), leaves)
}

/// Transactions root of a batch: the applied transaction hashes in execution order.
pub fn transactions_root(hashes: &[B256]) -> B256 {
    padded_root(hashes)
}

/// Withdrawal leaf: `keccak256(batch_number (u64 BE) || index (u32 BE) || from || l1_recipient ||
/// token (u32 BE) || amount (u128 BE))`.
pub fn withdrawal_leaf(
    batch_number: u64,
    index: u32,
    from: &Address,
    l1_recipient: &Address,
    token: u32,
    amount: u128,
) -> B256 {
    let mut buf = [0u8; 8 + 4 + 20 + 20 + 4 + 16];
    buf[..8].copy_from_slice(&batch_number.to_be_bytes());
    buf[8..12].copy_from_slice(&index.to_be_bytes());
    buf[12..32].copy_from_slice(from.as_slice());
    buf[32..52].copy_from_slice(l1_recipient.as_slice());
    buf[52..56].copy_from_slice(&token.to_be_bytes());
    buf[56..72].copy_from_slice(&amount.to_be_bytes());
    keccak256(buf)
}

/// Withdrawals root of a batch: the depth-16 tree whose first leaves are `leaves` (every other
/// leaf zero); `zero[16]` for a batch without withdrawals.
pub fn withdrawals_root(leaves: &[B256]) -> B256 {
    sparse_root(WITHDRAWALS_DEPTH, leaves)
}

/// The post-step state of an op (SPEC "Step state after every op"); its 84-byte big-endian
/// encoding is the preimage of the op's step commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepState {
    /// State root after the op.
    pub state_root: B256,
    /// Accounts with a slot after the op.
    pub account_count: u64,
    /// Withdrawals root of the batch after the op.
    pub withdrawals_root: B256,
    /// Withdrawals of the batch after the op.
    pub withdrawal_count: u32,
    /// L1 deposits consumed since genesis after the op.
    pub deposit_cursor: u64,
}

impl StepState {
    /// `state_root (32) || account_count (u64 BE) || withdrawals_root (32) ||
    /// withdrawal_count (u32 BE) || deposit_cursor (u64 BE)` = 84 bytes.
    pub fn encode(&self) -> [u8; STEP_STATE_LEN] {
        let mut buf = [0u8; STEP_STATE_LEN];
        buf[..32].copy_from_slice(self.state_root.as_slice());
        buf[32..40].copy_from_slice(&self.account_count.to_be_bytes());
        buf[40..72].copy_from_slice(self.withdrawals_root.as_slice());
        buf[72..76].copy_from_slice(&self.withdrawal_count.to_be_bytes());
        buf[76..84].copy_from_slice(&self.deposit_cursor.to_be_bytes());
        buf
    }

    /// `step_hash`: keccak256 of the 84-byte encoding.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// `step_commitment` (`c_i`, bytes31): the first 31 bytes of [`StepState::hash`].
    pub fn commitment(&self) -> [u8; 31] {
        let mut c = [0u8; 31];
        c.copy_from_slice(&self.hash()[..31]);
        c
    }
}

/// `step_hash` of the StepState with these fields (see [`StepState`]).
pub fn step_hash(
    state_root: &B256,
    account_count: u64,
    withdrawals_root: &B256,
    withdrawal_count: u32,
    deposit_cursor: u64,
) -> B256 {
    StepState {
        state_root: *state_root,
        account_count,
        withdrawals_root: *withdrawals_root,
        withdrawal_count,
        deposit_cursor,
    }
    .hash()
}

/// `step_commitment` of the StepState with these fields (see [`StepState`]).
pub fn step_commitment(
    state_root: &B256,
    account_count: u64,
    withdrawals_root: &B256,
    withdrawal_count: u32,
    deposit_cursor: u64,
) -> [u8; 31] {
    StepState {
        state_root: *state_root,
        account_count,
        withdrawals_root: *withdrawals_root,
        withdrawal_count,
        deposit_cursor,
    }
    .commitment()
}

/// Root implied by `leaf` at `index` with `siblings` bottom-up (bit `i` of `index` = 0: the node
/// is a left child at level `i`).
pub fn proof_root(leaf: &B256, index: u64, siblings: &[B256]) -> B256 {
    siblings
        .iter()
        .enumerate()
        .fold(*leaf, |node, (level, sib)| {
            if (index >> level) & 1 == 0 {
                hash_pair(&node, sib)
            } else {
                hash_pair(sib, &node)
            }
        })
}

/// Whether `siblings` prove `leaf` at `index` under `root`.
pub fn verify_proof(root: &B256, leaf: &B256, index: u64, siblings: &[B256]) -> bool {
    (index >> siblings.len().min(63)) == 0 && proof_root(leaf, index, siblings) == *root
}

/// Siblings of leaf `index` in the depth-`depth` tree over `leaves` (zero-padded), bottom-up.
pub fn proof_siblings(depth: u32, leaves: &[B256], index: u64) -> Vec<B256> {
    let zero = zero_hashes(depth);
    let mut level: Vec<B256> = leaves.to_vec();
    let mut idx = index as usize;
    let mut siblings = Vec::with_capacity(depth as usize);
    for z in zero.iter().take(depth as usize) {
        siblings.push(level.get(idx ^ 1).copied().unwrap_or(*z));
        level = level
            .chunks(2)
            .map(|p| hash_pair(&p[0], p.get(1).unwrap_or(z)))
            .collect();
        idx >>= 1;
    }
    siblings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tree_is_zero_hash() {
        let z = zero_hashes(4);
        assert_eq!(sparse_root(4, &[]), z[4]);
        assert_eq!(state_root(4, &[]), z[4]);
    }

    #[test]
    fn padded_root_shapes() {
        let a = B256::repeat_byte(1);
        let b = B256::repeat_byte(2);
        let c = B256::repeat_byte(3);
        assert_eq!(padded_root(&[]), B256::ZERO);
        assert_eq!(padded_root(&[a]), a);
        assert_eq!(padded_root(&[a, b]), hash_pair(&a, &b));
        assert_eq!(
            padded_root(&[a, b, c]),
            hash_pair(&hash_pair(&a, &b), &hash_pair(&c, &B256::ZERO))
        );
    }

    #[test]
    fn proofs_verify_and_reject() {
        let leaves: Vec<B256> = (1..=5u8).map(B256::repeat_byte).collect();
        let root = sparse_root(4, &leaves);
        for i in 0..16u64 {
            let sib = proof_siblings(4, &leaves, i);
            let leaf = leaves.get(i as usize).copied().unwrap_or(B256::ZERO);
            assert!(verify_proof(&root, &leaf, i, &sib), "leaf {i}");
            assert!(!verify_proof(&root, &B256::repeat_byte(9), i, &sib));
        }
    }

    #[test]
    fn withdrawals_root_has_fixed_depth_16() {
        let z = zero_hashes(WITHDRAWALS_DEPTH);
        assert_eq!(withdrawals_root(&[]), z[16]);
        let a = B256::repeat_byte(1);
        let mut node = hash_pair(&a, &z[0]);
        for zi in z.iter().take(16).skip(1) {
            node = hash_pair(&node, zi);
        }
        assert_eq!(withdrawals_root(&[a]), node);
    }

    #[test]
    fn step_commitment_is_first_31_bytes_of_84_byte_hash() {
        let s = StepState {
            state_root: B256::repeat_byte(1),
            account_count: 0x0102_0304_0506_0708,
            withdrawals_root: B256::repeat_byte(2),
            withdrawal_count: 0x0a0b_0c0d,
            deposit_cursor: 9,
        };
        let mut buf = Vec::new();
        buf.extend_from_slice(&[1u8; 32]);
        buf.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        buf.extend_from_slice(&[2u8; 32]);
        buf.extend_from_slice(&[0x0a, 0x0b, 0x0c, 0x0d]);
        buf.extend_from_slice(&9u64.to_be_bytes());
        assert_eq!(buf.len(), 84);
        assert_eq!(s.hash(), keccak256(&buf));
        assert_eq!(s.commitment()[..], keccak256(&buf)[..31]);
        assert_eq!(
            step_hash(
                &s.state_root,
                s.account_count,
                &s.withdrawals_root,
                s.withdrawal_count,
                9
            ),
            s.hash()
        );
        assert_eq!(
            step_commitment(
                &s.state_root,
                s.account_count,
                &s.withdrawals_root,
                s.withdrawal_count,
                9
            ),
            s.commitment()
        );
    }

    #[test]
    fn account_leaf_hashes_156_bytes() {
        let addr = Address::repeat_byte(0xab);
        let mut balances = [0u128; TOKEN_COUNT];
        balances[0] = 5;
        let mut buf = Vec::new();
        buf.extend_from_slice(addr.as_slice());
        buf.extend_from_slice(&7u64.to_be_bytes());
        for b in balances {
            buf.extend_from_slice(&b.to_be_bytes());
        }
        assert_eq!(buf.len(), 156);
        assert_eq!(account_leaf(&addr, 7, &balances), keccak256(&buf));
    }
}
