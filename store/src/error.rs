//! The crate's error type.

use alloy_primitives::{Address, B256};

use crate::Status;

/// Result alias of this crate.
pub type Result<T, E = StoreError> = core::result::Result<T, E>;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database driver failed (connection, I/O, lock contention, constraint, ...).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the embedded migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL or schema name given to `connect` is unusable.
    #[error("invalid store configuration: {0}")]
    InvalidConfig(String),
    /// No message with this id is stored.
    #[error("message {0} not found")]
    NotFound(B256),
    /// The caller does not hold a live lease on the message (never had one, or it expired and
    /// possibly passed to another relayer).
    #[error("relayer {relayer:?} holds no live lease on message {id} (holder: {holder:?})")]
    LeaseNotHeld {
        /// The message.
        id: B256,
        /// The relayer that tried to move it.
        relayer: String,
        /// The current lease owner, if any (its lease may have expired).
        holder: Option<String>,
    },
    /// The requested status change would move the message backwards or skip a step.
    #[error("message {id}: transition {from} -> {to} is not allowed")]
    InvalidTransition {
        /// The message.
        id: B256,
        /// Its current status.
        from: Status,
        /// The refused target status.
        to: Status,
    },
    /// `failed_permanently` requires a non-empty reason.
    #[error("message {0}: a permanent failure needs a non-empty reason")]
    MissingReason(B256),
    /// Another message is already stored under the same
    /// `(dst chain, src chain, src contract, nonce)`.
    #[error(
        "nonce {nonce} of contract {src_contract} from chain {src_chain} to chain {dst_chain} is \
         already stored as message {existing}, refusing {new}"
    )]
    DuplicateNonce {
        /// Source chain id.
        src_chain: u64,
        /// Source contract (vault or minter).
        src_contract: Address,
        /// Destination chain id.
        dst_chain: u64,
        /// The message nonce.
        nonce: u64,
        /// The message id already stored.
        existing: B256,
        /// The refused message id.
        new: B256,
    },
    /// The validator already admitted another message under this (source chain, source
    /// contract, nonce): admitting `new` too could get both signed (equivocation).
    #[error(
        "nonce {nonce} of contract {src_contract} on chain {src_chain} is already admitted as \
         message {existing}, refusing {new}"
    )]
    ConflictingAdmission {
        /// Source chain id.
        src_chain: u64,
        /// Source contract (BridgeVault or BridgeMinter).
        src_contract: Address,
        /// The message nonce.
        nonce: u64,
        /// The message id admitted before.
        existing: B256,
        /// The refused message id.
        new: B256,
    },
    /// A message id already admitted under other coordinates (an id is the hash of the
    /// content, so the caller mixed up two messages).
    #[error(
        "message {id} is already admitted under other coordinates, refusing it for nonce \
         {nonce} of contract {src_contract} on chain {src_chain}"
    )]
    AdmissionIdReused {
        /// The message id.
        id: B256,
        /// Source chain id given.
        src_chain: u64,
        /// Source contract given.
        src_contract: Address,
        /// Nonce given.
        nonce: u64,
    },
    /// A stored value could not be decoded (wrong length, unknown status, ...).
    #[error("corrupt value in column {column}: {reason}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl StoreError {
    /// Whether retrying the same call later may succeed (transient I/O, lock contention,
    /// serialization failures, pool exhaustion). Refusals and corrupt data are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database(e) => is_retryable_sqlx(e),
            Self::Migrate(_)
            | Self::InvalidConfig(_)
            | Self::NotFound(_)
            | Self::LeaseNotHeld { .. }
            | Self::InvalidTransition { .. }
            | Self::MissingReason(_)
            | Self::DuplicateNonce { .. }
            | Self::ConflictingAdmission { .. }
            | Self::AdmissionIdReused { .. }
            | Self::Corrupt { .. } => false,
        }
    }
}

fn is_retryable_sqlx(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            // PostgreSQL SQLSTATEs: serialization failure, deadlock, lock not available,
            // connection exceptions (class 08), too many connections, admin shutdown.
            if matches!(
                code.as_ref(),
                "40001" | "40P01" | "55P03" | "53300" | "57P01"
            ) || code.starts_with("08")
            {
                return true;
            }
            // SQLite (extended) result codes: SQLITE_BUSY (5) and SQLITE_LOCKED (6) families.
            code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_not_retryable() {
        let e = StoreError::ConflictingAdmission {
            src_chain: 1,
            src_contract: Address::ZERO,
            nonce: 7,
            existing: B256::ZERO,
            new: B256::repeat_byte(1),
        };
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("nonce 7"));
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_retryable());
    }
}
