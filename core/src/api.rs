//! JSON types of the validator HTTP API (served over TLS 1.3 / X25519MLKEM768).
//!
//! - `GET /v1/info` → [`ValidatorInfo`]
//! - `GET /v1/attestations/{dst_chain_id}/{message_id}` → [`SignedDigest`] (404 until signed)
//! - `POST /v1/batches` with [`BatchRequest`] → [`SignedDigest`] over the batch root (409 if the
//!   members are not all released by the same destination endpoint)
//! - `GET /v1/batches/{dst_chain_id}/{root}` → the [`SignedDigest`] already made for a batch
//!
//! Every digest names the destination endpoint that releases (docs/PROTOCOL.md): the validator
//! derives it from the message it re-derived ([`crate::protocol::release_endpoint`]), so clients
//! recompute the expected digest with the minter (lock leg) or the vault (burn leg).

use alloy::primitives::{Address, Bytes, B256};
use serde::{Deserialize, Serialize};

/// Who a validator is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// secp256k1 address (its identity in the signer set).
    pub address: Address,
    /// ML-DSA-65 public key (1952 bytes).
    pub pq_public_key: Bytes,
    /// keccak256 of it, as registered in the verifier.
    pub pq_key_hash: B256,
    /// True once it stopped signing (e.g. after a deep reorg contradicted what it signed).
    pub halted: bool,
    /// Why it halted.
    pub halt_reason: Option<String>,
}

/// What a validator signed: a message id or a batch root, for one destination and epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDigest {
    /// Message id or batch root.
    pub subject: B256,
    /// Destination chain.
    pub dst_chain_id: u64,
    /// Verifier epoch the digest commits to.
    pub epoch: u64,
    /// The EIP-712 digest both signatures cover.
    pub digest: B256,
    /// The validator.
    pub signer: Address,
    /// `r || s || v`.
    pub ecdsa: Bytes,
    /// ML-DSA-65 over the digest, empty context.
    pub mldsa: Bytes,
}

/// Ask for a signature over a batch root; the validator recomputes the root itself and signs
/// only if it attested every member message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// Destination chain.
    pub dst_chain_id: u64,
    /// Member message ids, in tree order.
    pub message_ids: Vec<B256>,
}

/// Error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong.
    pub error: String,
}
