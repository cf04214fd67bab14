//! The wire protocol of `docs/PROTOCOL.md`: message ids, EIP-712 digests, the batch Merkle tree
//! and EIP-2098 compact signatures, computed exactly as `contracts/src/libraries/BridgeMessages.sol`
//! and `AttestationVerifier.sol` do (the e2e tests compare against the deployed contracts).

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::sol_types::{SolType, SolValue};

use crate::bindings::{minter::BridgeMinter, vault::BridgeVault, verifier::AttestationVerifier};
use crate::deployment::Deployment;

/// The one message format version the contracts accept.
pub const MESSAGE_VERSION: u8 = 1;

/// A bridge message (`BridgeMessage` of the contracts), as the vault's ABI defines it.
pub type Message = BridgeVault::BridgeMessage;

/// `keccak256("MessageAttestation(bytes32 messageId,uint64 epoch,address endpoint)")`.
pub fn message_attestation_typehash() -> B256 {
    keccak256("MessageAttestation(bytes32 messageId,uint64 epoch,address endpoint)")
}

/// `keccak256("BatchAttestation(bytes32 root,uint64 epoch,address endpoint)")`.
pub fn batch_attestation_typehash() -> B256 {
    keccak256("BatchAttestation(bytes32 root,uint64 epoch,address endpoint)")
}

/// The destination contract that releases a message, the `endpoint` every attestation names:
/// a lock on the source chain's vault is minted by the destination's minter, a burn on the
/// source chain's minter is unlocked by the destination's vault. `None` for any other source
/// contract (nothing a validator admits).
pub fn release_endpoint(
    src_contract: Address,
    src: &Deployment,
    dst: &Deployment,
) -> Option<Address> {
    if src_contract == src.vault {
        Some(dst.minter)
    } else if src_contract == src.minter {
        Some(dst.vault)
    } else {
        None
    }
}

/// `messageId = keccak256(abi.encode(message))`.
pub fn message_id(message: &Message) -> B256 {
    keccak256(message.abi_encode())
}

/// Re-types a value between two `sol!` types with the same ABI encoding (each contract module
/// has its own copy of the shared structs).
pub fn recast<A: SolValue, B: SolType>(value: &A) -> B::RustType {
    // Both sides encode the same tuple, so decoding cannot fail unless the ABIs drifted apart,
    // which `script/export-abi.sh --check` and the compile-time bindings rule out.
    B::abi_decode(&value.abi_encode()).expect("identical ABI layouts")
}

/// The message as the minter's ABI types it.
pub fn to_minter(message: &Message) -> BridgeMinter::BridgeMessage {
    recast::<_, BridgeMinter::BridgeMessage>(message)
}

/// The message as the vault's ABI types it (burn events are typed by the minter's ABI).
pub fn from_minter(message: &BridgeMinter::BridgeMessage) -> Message {
    recast::<_, BridgeVault::BridgeMessage>(message)
}

/// The EIP-712 domain of a destination chain's `AttestationVerifier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Domain {
    /// Destination chain id.
    pub chain_id: u64,
    /// The destination's `AttestationVerifier`.
    pub verifier: Address,
}

impl Domain {
    /// `keccak256(abi.encode(EIP712Domain typehash, keccak("GhostBridge"), keccak("1"), chainId, verifier))`.
    pub fn separator(&self) -> B256 {
        let typehash = keccak256(
            "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
        );
        keccak256(
            (
                typehash,
                keccak256("GhostBridge"),
                keccak256("1"),
                U256::from(self.chain_id),
                self.verifier,
            )
                .abi_encode(),
        )
    }

    fn typed_digest(&self, struct_hash: B256) -> B256 {
        let mut buf = [0u8; 66];
        buf[0] = 0x19;
        buf[1] = 0x01;
        buf[2..34].copy_from_slice(self.separator().as_slice());
        buf[34..66].copy_from_slice(struct_hash.as_slice());
        keccak256(buf)
    }

    /// Digest validators sign for one message released by `endpoint`
    /// (`AttestationVerifier.messageDigest(endpoint, messageId)`).
    pub fn message_digest(&self, endpoint: Address, message_id: B256, epoch: u64) -> B256 {
        self.typed_digest(keccak256(
            (message_attestation_typehash(), message_id, epoch, endpoint).abi_encode(),
        ))
    }

    /// Digest validators sign for a batch root whose members `endpoint` releases
    /// (`AttestationVerifier.batchDigest(endpoint, root)`).
    pub fn batch_digest(&self, endpoint: Address, root: B256, epoch: u64) -> B256 {
        self.typed_digest(keccak256(
            (batch_attestation_typehash(), root, epoch, endpoint).abi_encode(),
        ))
    }
}

// ------------------------------------------------------------------ batch Merkle tree

/// Leaf of a message id: `keccak256(bytes.concat(keccak256(abi.encode(id))))`.
pub fn merkle_leaf(message_id: B256) -> B256 {
    keccak256(keccak256(message_id.abi_encode()))
}

/// OpenZeppelin `Hashes.commutativeKeccak256`.
pub fn hash_pair(a: B256, b: B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// Errors building a batch tree.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MerkleError {
    /// A batch needs at least one message.
    #[error("a batch needs at least one message")]
    Empty,
    /// The proof index is past the batch.
    #[error("index {index} is outside a batch of {len}")]
    IndexOutOfRange {
        /// Requested index.
        index: usize,
        /// Batch length.
        len: usize,
    },
}

fn next_level(level: &[B256]) -> Vec<B256> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [a, b] => hash_pair(*a, *b),
            [odd] => *odd, // an odd node is carried up unchanged
            _ => unreachable!("chunks(2) yields one or two"),
        })
        .collect()
}

/// Root over the batch's message ids, in the given order.
pub fn merkle_root(message_ids: &[B256]) -> Result<B256, MerkleError> {
    let mut level: Vec<B256> = message_ids.iter().map(|id| merkle_leaf(*id)).collect();
    if level.is_empty() {
        return Err(MerkleError::Empty);
    }
    while level.len() > 1 {
        level = next_level(&level);
    }
    Ok(level[0])
}

/// Sibling hashes, bottom-up, proving `message_ids[index]` under [`merkle_root`].
pub fn merkle_proof(message_ids: &[B256], index: usize) -> Result<Vec<B256>, MerkleError> {
    if index >= message_ids.len() {
        return Err(MerkleError::IndexOutOfRange {
            index,
            len: message_ids.len(),
        });
    }
    let mut level: Vec<B256> = message_ids.iter().map(|id| merkle_leaf(*id)).collect();
    let mut position = index;
    let mut proof = Vec::new();
    while level.len() > 1 {
        let sibling = position ^ 1;
        if sibling < level.len() {
            proof.push(level[sibling]);
        }
        level = next_level(&level);
        position /= 2;
    }
    Ok(proof)
}

/// All proofs of a batch at once (one tree build instead of N).
pub fn merkle_proofs(message_ids: &[B256]) -> Result<Vec<Vec<B256>>, MerkleError> {
    let mut level: Vec<B256> = message_ids.iter().map(|id| merkle_leaf(*id)).collect();
    if level.is_empty() {
        return Err(MerkleError::Empty);
    }
    let mut positions: Vec<usize> = (0..level.len()).collect();
    let mut proofs = vec![Vec::new(); level.len()];
    while level.len() > 1 {
        for (proof, position) in proofs.iter_mut().zip(positions.iter_mut()) {
            let sibling = *position ^ 1;
            if sibling < level.len() {
                proof.push(level[sibling]);
            }
            *position /= 2;
        }
        level = next_level(&level);
    }
    Ok(proofs)
}

/// OpenZeppelin `MerkleProof.verify` for a message id.
pub fn merkle_verify(proof: &[B256], root: B256, message_id: B256) -> bool {
    proof
        .iter()
        .fold(merkle_leaf(message_id), |acc, p| hash_pair(acc, *p))
        == root
}

// ------------------------------------------------------------------ signatures and sets

/// One validator's secp256k1 signature as the verifier reads it (EIP-2098 compact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactSignature {
    /// Index of the signer in the full signer set.
    pub signer_index: u8,
    /// `r`.
    pub r: B256,
    /// `yParity << 255 | s` (low-s).
    pub vs: B256,
}

/// Converts a 65-byte `r || s || v` signature (v = 27/28 or 0/1) to `(r, vs)`.
pub fn to_compact(sig65: &[u8; 65]) -> (B256, B256) {
    let r = B256::from_slice(&sig65[..32]);
    let mut vs = [0u8; 32];
    vs.copy_from_slice(&sig65[32..64]);
    let v = sig65[64];
    if v == 28 || v == 1 {
        vs[0] |= 0x80;
    }
    (r, B256::from(vs))
}

/// An attestation ready for calldata: the full set plus signatures sorted by signer index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attestation {
    /// The full current signer set, ascending.
    pub signers: Vec<Address>,
    /// Signatures, strictly increasing `signer_index`.
    pub signatures: Vec<CompactSignature>,
}

impl Attestation {
    /// The verifier ABI's `Attestation`.
    pub fn to_verifier(&self) -> AttestationVerifier::Attestation {
        AttestationVerifier::Attestation {
            signers: self.signers.clone(),
            signatures: self
                .signatures
                .iter()
                .map(|s| AttestationVerifier::Signature {
                    signerIndex: s.signer_index,
                    r: s.r,
                    vs: s.vs,
                })
                .collect(),
        }
    }

    /// The vault ABI's `Attestation`.
    pub fn to_vault(&self) -> BridgeVault::Attestation {
        recast::<_, BridgeVault::Attestation>(&self.to_verifier())
    }

    /// The minter ABI's `Attestation`.
    pub fn to_minter(&self) -> BridgeMinter::Attestation {
        recast::<_, BridgeMinter::Attestation>(&self.to_verifier())
    }
}

/// `signerSetHash = keccak256(abi.encodePacked(address[]))`: each address padded to 32 bytes.
pub fn signer_set_hash(signers: &[Address]) -> B256 {
    let mut buf = Vec::with_capacity(signers.len().saturating_mul(32));
    for s in signers {
        buf.extend_from_slice(&[0u8; 12]);
        buf.extend_from_slice(s.as_slice());
    }
    keccak256(buf)
}

/// `pqKeySetHash = keccak256(abi.encodePacked(bytes32[] pqKeyHashes))`.
pub fn pq_key_set_hash(pq_key_hashes: &[B256]) -> B256 {
    let mut buf = Vec::with_capacity(pq_key_hashes.len().saturating_mul(32));
    for h in pq_key_hashes {
        buf.extend_from_slice(h.as_slice());
    }
    keccak256(buf)
}

#[cfg(test)]
// Tests: a panicking unwrap is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<B256> {
        (0..n)
            .map(|i| keccak256((i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn every_proof_verifies_and_a_foreign_id_does_not() {
        for n in [1usize, 2, 3, 5, 8, 13, 200] {
            let ids = ids(n);
            let root = merkle_root(&ids).unwrap();
            let proofs = merkle_proofs(&ids).unwrap();
            for (i, id) in ids.iter().enumerate() {
                assert_eq!(proofs[i], merkle_proof(&ids, i).unwrap());
                assert!(merkle_verify(&proofs[i], root, *id), "n={n} i={i}");
                assert!(!merkle_verify(&proofs[i], root, keccak256(b"other")));
            }
        }
        assert_eq!(merkle_root(&[]), Err(MerkleError::Empty));
    }

    /// The same vector is pinned in `contracts/test/EndpointBinding.t.sol`
    /// (`test_digests_knownAnswerVector_sharedWithRust`), where it is checked against the
    /// deployed verifier's `messageDigest(endpoint, id)` / `batchDigest(endpoint, root)` views
    /// (epoch 1, chain 31337, the verifier at `KAT_VERIFIER`). The e2e test
    /// `bad_input_is_refused_and_a_fake_mint_is_caught_and_paused` compares against a live one.
    #[test]
    fn digests_match_the_verifier_known_answer_vector() {
        let domain = Domain {
            chain_id: 31337,
            verifier: alloy::primitives::address!("5FbDB2315678afecb367f032d93F642f64180aa3"),
        };
        let endpoint = alloy::primitives::address!("e7f1725E7734CE288F8367e1Bb143E90bb3F0512");
        let id = keccak256("ghostbridge kat message");
        let root = keccak256("ghostbridge kat batch");
        assert_eq!(
            domain.message_digest(endpoint, id, 1),
            alloy::primitives::b256!(
                "7cb0ab6c2039878dea625c2236cf728d7ccb05772256c8c5faabe76b694e0f1b"
            )
        );
        assert_eq!(
            domain.batch_digest(endpoint, root, 1),
            alloy::primitives::b256!(
                "26dcb93e1c13fb438c30f4049efcb464020a60ca34e251111a785d2ea5f81cc8"
            )
        );
        // The endpoint is bound: the other endpoint of the chain gets another digest.
        let other = alloy::primitives::address!("9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0");
        assert_ne!(
            domain.message_digest(other, id, 1),
            domain.message_digest(endpoint, id, 1)
        );
        assert_ne!(
            domain.batch_digest(other, root, 1),
            domain.batch_digest(endpoint, root, 1)
        );
    }

    #[test]
    fn release_endpoint_is_the_other_kind_on_the_destination() {
        let deployment = |n: u8| Deployment {
            chain_id: n as u64,
            verifier: Address::repeat_byte(n),
            fee_manager: Address::ZERO,
            vault: Address::repeat_byte(n + 1),
            minter: Address::repeat_byte(n + 2),
            guardian: Address::ZERO,
            deploy_block: 0,
            tokens: Default::default(),
        };
        let (a, b) = (deployment(0x10), deployment(0x20));
        assert_eq!(
            release_endpoint(a.vault, &a, &b),
            Some(b.minter),
            "lock leg: minted"
        );
        assert_eq!(
            release_endpoint(a.minter, &a, &b),
            Some(b.vault),
            "burn leg: unlocked"
        );
        assert_eq!(release_endpoint(a.verifier, &a, &b), None);
    }

    #[test]
    fn compact_signature_sets_parity_bit_only_for_odd_v() {
        let mut sig = [0x11u8; 65];
        sig[64] = 27;
        assert_eq!(to_compact(&sig).1[0], 0x11);
        sig[64] = 28;
        assert_eq!(to_compact(&sig).1[0], 0x91);
    }
}
