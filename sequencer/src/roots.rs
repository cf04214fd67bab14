//! Independent recomputation of the engine's roots from the definitions in `zig/SPEC.md`, with
//! `alloy_primitives::keccak256`: account leaves, the fixed-depth state tree (accounts in slot
//! order), the padded transactions and withdrawals trees, and proof verification. Nothing here
//! calls the engine, so it checks the engine rather than restating it.

// Byte offsets and tree levels below are bounded by fixed constants (156-byte leaves, depth <= 32).
#![allow(clippy::arithmetic_side_effects)]

use crate::TOKEN_COUNT;
use alloy_primitives::{keccak256, Address, B256};

/// Deepest state tree the engine supports.
pub const DEPTH_MAX: u32 = 32;

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

/// Withdrawals root of a batch.
pub fn withdrawals_root(leaves: &[B256]) -> B256 {
    padded_root(leaves)
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
