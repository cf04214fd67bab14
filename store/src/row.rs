//! Raw rows as the database returns them, and their conversion into the public records.
//!
//! The `FromRow` derives are generic over the backend, so one row type serves SQLite and
//! PostgreSQL alike.

use alloy_primitives::{Address, Bytes, B256, U256};

use crate::{
    AdmittedMessage, AttestationRecord, AttestationSubject, ChainCursor, Lease, MessageRecord,
    Result, Status, StoreError, Submission,
};

/// Column list matching [`MessageRow`], as a literal so it can be `concat!`-ed into SQL.
macro_rules! message_columns {
    () => {
        "id, src_chain, dst_chain, src_contract, nonce, encoded, status, failure_reason, attempts, \
         final_attempts, last_error, next_attempt_at, tx_hash, submitted_nonce, submitted_fee, \
         submitted_at, lease_owner, lease_expires_at, created_at, updated_at"
    };
}
pub(crate) use message_columns;

/// A `messages` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MessageRow {
    id: Vec<u8>,
    src_chain: i64,
    dst_chain: i64,
    src_contract: Vec<u8>,
    nonce: i64,
    encoded: Vec<u8>,
    status: String,
    failure_reason: Option<String>,
    attempts: i64,
    final_attempts: i64,
    last_error: Option<String>,
    next_attempt_at: i64,
    tx_hash: Option<Vec<u8>>,
    submitted_nonce: Option<i64>,
    submitted_fee: Option<Vec<u8>>,
    submitted_at: Option<i64>,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<MessageRow> for MessageRecord {
    type Error = StoreError;

    fn try_from(r: MessageRow) -> Result<Self> {
        let submission = match (
            r.tx_hash,
            r.submitted_nonce,
            r.submitted_fee,
            r.submitted_at,
        ) {
            (Some(tx), Some(account_nonce), Some(fee), Some(at)) => Some(Submission {
                tx_hash: b256("tx_hash", &tx)?,
                account_nonce: from_db(account_nonce),
                fee: u256("submitted_fee", &fee)?,
                submitted_at_ms: time_from_db(at),
            }),
            _ => None,
        };
        let lease = match (r.lease_owner, r.lease_expires_at) {
            (Some(owner), Some(at)) => Some(Lease {
                owner,
                expires_at_ms: time_from_db(at),
            }),
            _ => None,
        };
        Ok(Self {
            id: b256("id", &r.id)?,
            src_chain: from_db(r.src_chain),
            dst_chain: from_db(r.dst_chain),
            src_contract: address("src_contract", &r.src_contract)?,
            nonce: from_db(r.nonce),
            encoded: Bytes::from(r.encoded),
            status: r.status.parse()?,
            failure_reason: r.failure_reason,
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            final_attempts: u32::try_from(r.final_attempts).unwrap_or(u32::MAX),
            last_error: r.last_error,
            next_attempt_at_ms: time_from_db(r.next_attempt_at),
            submission,
            lease,
            created_at_ms: time_from_db(r.created_at),
            updated_at_ms: time_from_db(r.updated_at),
        })
    }
}

/// The lifecycle columns needed to explain a refused transition.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StateRow {
    pub(crate) status: String,
    pub(crate) lease_owner: Option<String>,
}

impl StateRow {
    pub(crate) fn status(&self) -> Result<Status> {
        self.status.parse()
    }
}

/// An `attestations` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AttestationRow {
    subject_kind: String,
    subject: Vec<u8>,
    epoch: i64,
    validator: Vec<u8>,
    ecdsa_sig: Vec<u8>,
    mldsa_sig: Vec<u8>,
}

impl TryFrom<AttestationRow> for AttestationRecord {
    type Error = StoreError;

    fn try_from(r: AttestationRow) -> Result<Self> {
        let hash = b256("subject", &r.subject)?;
        let subject = match r.subject_kind.as_str() {
            "message" => AttestationSubject::Message(hash),
            "batch" => AttestationSubject::Batch(hash),
            other => {
                return Err(StoreError::Corrupt {
                    column: "subject_kind",
                    reason: format!("unknown kind {other:?}"),
                })
            }
        };
        Ok(Self {
            subject,
            epoch: from_db(r.epoch),
            validator: address("validator", &r.validator)?,
            ecdsa_sig: Bytes::from(r.ecdsa_sig),
            mldsa_sig: Bytes::from(r.mldsa_sig),
        })
    }
}

/// An `admitted_messages` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AdmittedRow {
    id: Vec<u8>,
    src_chain: i64,
    src_contract: Vec<u8>,
    nonce: i64,
    dst_chain: i64,
    encoded: Vec<u8>,
    admitted_at: i64,
}

impl TryFrom<AdmittedRow> for AdmittedMessage {
    type Error = StoreError;

    fn try_from(r: AdmittedRow) -> Result<Self> {
        Ok(Self {
            id: b256("id", &r.id)?,
            src_chain: from_db(r.src_chain),
            src_contract: address("src_contract", &r.src_contract)?,
            nonce: from_db(r.nonce),
            dst_chain: from_db(r.dst_chain),
            encoded: Bytes::from(r.encoded),
            admitted_at_ms: time_from_db(r.admitted_at),
        })
    }
}

/// A `chain_cursors` or `admission_cursors` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CursorRow {
    chain_id: i64,
    contract: Vec<u8>,
    block_number: i64,
    block_hash: Vec<u8>,
    updated_at: i64,
}

impl TryFrom<CursorRow> for ChainCursor {
    type Error = StoreError;

    fn try_from(r: CursorRow) -> Result<Self> {
        Ok(Self {
            chain_id: from_db(r.chain_id),
            contract: address("contract", &r.contract)?,
            block_number: from_db(r.block_number),
            block_hash: b256("block_hash", &r.block_hash)?,
            updated_at_ms: time_from_db(r.updated_at),
        })
    }
}

/// A u64 (chain id, nonce) as stored: its i64 two's-complement image, so the full range
/// round-trips (values above `i64::MAX` are stored negative).
pub(crate) const fn to_db(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

/// Inverse of [`to_db`].
pub(crate) const fn from_db(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// Unix ms as stored (times before 1970 don't occur; clamp defensively).
pub(crate) fn time_from_db(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn b256(column: &'static str, bytes: &[u8]) -> Result<B256> {
    B256::try_from(bytes).map_err(|_| StoreError::Corrupt {
        column,
        reason: format!("expected 32 bytes, got {}", bytes.len()),
    })
}

fn address(column: &'static str, bytes: &[u8]) -> Result<Address> {
    Address::try_from(bytes).map_err(|_| StoreError::Corrupt {
        column,
        reason: format!("expected 20 bytes, got {}", bytes.len()),
    })
}

fn u256(column: &'static str, bytes: &[u8]) -> Result<U256> {
    U256::try_from_be_slice(bytes).ok_or_else(|| StoreError::Corrupt {
        column,
        reason: format!("expected at most 32 bytes, got {}", bytes.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_round_trips_through_i64() {
        for v in [0, 1, u64::from(u32::MAX), i64::MAX as u64, u64::MAX] {
            assert_eq!(from_db(to_db(v)), v);
        }
    }

    #[test]
    fn wrong_lengths_are_corrupt() {
        assert!(matches!(
            b256("id", &[0; 31]),
            Err(StoreError::Corrupt { column: "id", .. })
        ));
        assert!(address("validator", &[0; 21]).is_err());
        assert_eq!(
            u256("fee", &[1; 32]).ok(),
            Some(U256::from_be_slice(&[1; 32]))
        );
    }
}
