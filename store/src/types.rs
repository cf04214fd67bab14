//! Records the store reads and writes.

use alloy_primitives::{Address, Bytes, B256, U256};
use core::{fmt, str::FromStr};

use crate::StoreError;

/// Lifecycle status of a bridge message on the relayer side.
///
/// Moves only forward: `Seen → Attested → Submitted → Confirmed`, with `Submitted → Submitted`
/// for a replacement transaction, any pending status → `Confirmed` (delivered, e.g. found
/// consumed on the destination) and any pending status → `FailedPermanently` (with a reason).
/// `Confirmed` and `FailedPermanently` are terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Observed in a source-chain event, not yet attested.
    Seen,
    /// Enough validator attestations are stored.
    Attested,
    /// A release transaction was sent (tx hash, account nonce and fee recorded).
    Submitted,
    /// The release is final on the destination chain.
    Confirmed,
    /// Given up, with a recorded reason; needs an operator.
    FailedPermanently,
}

impl Status {
    /// All statuses, in lifecycle order.
    pub const ALL: [Self; 5] = [
        Self::Seen,
        Self::Attested,
        Self::Submitted,
        Self::Confirmed,
        Self::FailedPermanently,
    ];

    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Seen => "seen",
            Self::Attested => "attested",
            Self::Submitted => "submitted",
            Self::Confirmed => "confirmed",
            Self::FailedPermanently => "failed_permanently",
        }
    }

    /// Whether the relayer still has work to do on a message in this status.
    pub const fn is_pending(self) -> bool {
        matches!(self, Self::Seen | Self::Attested | Self::Submitted)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt {
                column: "status",
                reason: format!("unknown status {s:?}"),
            })
    }
}

/// A message as first observed on the source chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    /// `keccak256(abi.encode(message))`.
    pub id: B256,
    /// Source chain id.
    pub src_chain: u64,
    /// Destination chain id.
    pub dst_chain: u64,
    /// The contract that emitted it (`BridgeVault` for a lock, `BridgeMinter` for a burn): each
    /// numbers its messages on its own, so a nonce is unique per source contract only.
    pub src_contract: Address,
    /// Nonce of the source contract.
    pub nonce: u64,
    /// The ABI-encoded `BridgeMessage` (9 x 32 bytes).
    pub encoded: Bytes,
}

/// What `insert_seen` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The message is new and now `seen`.
    Inserted,
    /// The same message was already stored (re-scan after restart); nothing changed.
    AlreadyKnown,
}

/// The last release transaction sent for a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// Transaction hash on the destination chain.
    pub tx_hash: B256,
    /// The relayer account nonce the transaction used (a replacement reuses it).
    pub account_nonce: u64,
    /// Fee offered (e.g. max fee per gas, in wei).
    pub fee: U256,
    /// When it was recorded (unix ms).
    pub submitted_at_ms: u64,
}

/// A relayer's claim on a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Relayer id that holds it.
    pub owner: String,
    /// Unix ms after which the message is claimable by others.
    pub expires_at_ms: u64,
}

/// A stored message with its lifecycle state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    /// Message id.
    pub id: B256,
    /// Source chain id.
    pub src_chain: u64,
    /// Destination chain id.
    pub dst_chain: u64,
    /// Source contract (vault or minter) whose nonce `nonce` is.
    pub src_contract: Address,
    /// Source contract nonce.
    pub nonce: u64,
    /// The ABI-encoded message.
    pub encoded: Bytes,
    /// Lifecycle status.
    pub status: Status,
    /// Why it failed permanently (set exactly when `status == FailedPermanently`).
    pub failure_reason: Option<String>,
    /// Claims since the last forward transition (each claim is one attempt at the current step).
    pub attempts: u32,
    /// Attempts that ended in a final error (the destination refused the release for a reason
    /// retrying cannot fix); never reset by progress, reset by [`crate::Store::redeliver`].
    pub final_attempts: u32,
    /// The last reported error, cleared on progress.
    pub last_error: Option<String>,
    /// Not claimable before this time (unix ms).
    pub next_attempt_at_ms: u64,
    /// The last submission, if any.
    pub submission: Option<Submission>,
    /// The current (possibly expired) lease, if any.
    pub lease: Option<Lease>,
    /// First seen (unix ms).
    pub created_at_ms: u64,
    /// Last change (unix ms).
    pub updated_at_ms: u64,
}

/// What an attestation signs: one message or a batch Merkle root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttestationSubject {
    /// `MessageAttestation(messageId, epoch)`.
    Message(B256),
    /// `BatchAttestation(root, epoch)`.
    Batch(B256),
}

impl AttestationSubject {
    pub(crate) const fn kind(&self) -> &'static str {
        match self {
            Self::Message(_) => "message",
            Self::Batch(_) => "batch",
        }
    }

    pub(crate) const fn hash(&self) -> &B256 {
        match self {
            Self::Message(h) | Self::Batch(h) => h,
        }
    }
}

/// One validator's signatures over an attestation digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationRecord {
    /// What was signed.
    pub subject: AttestationSubject,
    /// Verifier epoch the digest was built for.
    pub epoch: u64,
    /// Validator (secp256k1 signer address).
    pub validator: Address,
    /// secp256k1 signature (65-byte `r‖s‖v` or 64-byte EIP-2098 compact).
    pub ecdsa_sig: Bytes,
    /// ML-DSA-65 signature over the same digest.
    pub mldsa_sig: Bytes,
}

/// A message the validator re-derived from its source chain past its confirmation depth, to
/// journal with [`crate::Store::admit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// Message id: `keccak256(encoded)`.
    pub id: B256,
    /// Source chain id.
    pub src_chain: u64,
    /// The contract that emitted it (`BridgeVault` or `BridgeMinter`).
    pub src_contract: Address,
    /// Nonce of the source contract.
    pub nonce: u64,
    /// Destination chain id.
    pub dst_chain: u64,
    /// The ABI-encoded `BridgeMessage` (9 x 32 bytes).
    pub encoded: Bytes,
}

/// A message in the validator's admission journal ([`crate::Store::admitted`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmittedMessage {
    /// Message id.
    pub id: B256,
    /// Source chain id.
    pub src_chain: u64,
    /// The contract that emitted it (`BridgeVault` or `BridgeMinter`).
    pub src_contract: Address,
    /// Nonce of the source contract.
    pub nonce: u64,
    /// Destination chain id.
    pub dst_chain: u64,
    /// The ABI-encoded `BridgeMessage`, as admitted.
    pub encoded: Bytes,
    /// When it was admitted (unix ms).
    pub admitted_at_ms: u64,
}

/// Where a daemon stopped scanning a chain for a contract's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCursor {
    /// Chain id.
    pub chain_id: u64,
    /// Contract whose logs are scanned.
    pub contract: Address,
    /// Last fully scanned block.
    pub block_number: u64,
    /// Its hash (to detect a reorg on resume).
    pub block_hash: B256,
    /// Last update (unix ms).
    pub updated_at_ms: u64,
}

/// Message counters for metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Messages in `seen`.
    pub seen: u64,
    /// Messages in `attested`.
    pub attested: u64,
    /// Messages in `submitted`.
    pub submitted: u64,
    /// Messages in `confirmed`.
    pub confirmed: u64,
    /// Messages in `failed_permanently`.
    pub failed_permanently: u64,
    /// Pending messages whose last attempt failed (being retried with backoff).
    pub retrying: u64,
    /// Creation time (unix ms) of the oldest pending message.
    pub oldest_pending_created_at_ms: Option<u64>,
}

impl StatusCounts {
    /// Count for one status.
    pub const fn get(&self, status: Status) -> u64 {
        match status {
            Status::Seen => self.seen,
            Status::Attested => self.attested,
            Status::Submitted => self.submitted,
            Status::Confirmed => self.confirmed,
            Status::FailedPermanently => self.failed_permanently,
        }
    }

    /// Age of the oldest pending message at `now_ms`.
    pub fn oldest_pending_age(&self, now_ms: u64) -> Option<core::time::Duration> {
        self.oldest_pending_created_at_ms
            .map(|t| core::time::Duration::from_millis(now_ms.saturating_sub(t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().ok(), Some(s));
        }
        assert!("parked".parse::<Status>().is_err());
        assert!(Status::Seen < Status::Confirmed);
    }
}
