//! The crate's error type: one variant per engine error code (mapped one-to-one from the Zig
//! `ErrorCode`s) plus the refusals the Rust side makes before crossing the ABI.

use alloy_primitives::Address;

/// Result alias of the engine wrapper.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// An engine error. Variants up to [`EngineError::StepNotFound`] come from the engine (its message
/// is kept in `detail`); the rest are refused on the Rust side without calling the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The engine was passed a null pointer (code 1).
    #[error("engine: null pointer: {detail}")]
    NullPointer {
        /// Engine message.
        detail: String,
    },
    /// The handle is not a live engine (code 2).
    #[error("engine: invalid handle: {detail}")]
    InvalidHandle {
        /// Engine message.
        detail: String,
    },
    /// The transaction nonce is not the account's nonce (code 3).
    #[error("bad nonce {nonce}: {detail}")]
    BadNonce {
        /// Offered nonce.
        nonce: u64,
        /// Engine message.
        detail: String,
    },
    /// The token id is not one of the 8 (code 4).
    #[error("unknown token {token}: {detail}")]
    UnknownToken {
        /// Offered token id.
        token: u32,
        /// Engine message.
        detail: String,
    },
    /// Transaction data longer than the maximum (code 5).
    #[error("data too long ({len} bytes): {detail}")]
    DataTooLong {
        /// Offered length.
        len: u64,
        /// Engine message.
        detail: String,
    },
    /// `gas_limit * gas_price` below the base fee (code 6).
    #[error("fee too low (gas_limit {gas_limit} * gas_price {gas_price}): {detail}")]
    FeeTooLow {
        /// Offered gas limit.
        gas_limit: u64,
        /// Offered gas price.
        gas_price: u64,
        /// Engine message.
        detail: String,
    },
    /// The sender's balance does not cover the value (code 7).
    #[error("insufficient balance of {from} for {amount}: {detail}")]
    InsufficientBalance {
        /// Sender.
        from: Address,
        /// Value asked for.
        amount: u128,
        /// Engine message.
        detail: String,
    },
    /// The sender's GCC does not cover the fee (code 8).
    #[error("insufficient fee balance of {from}: {detail}")]
    InsufficientFeeBalance {
        /// Sender.
        from: Address,
        /// Engine message.
        detail: String,
    },
    /// A balance would exceed u128 (code 9).
    #[error("balance overflow for {account}: {detail}")]
    BalanceOverflow {
        /// The account whose balance would overflow.
        account: Address,
        /// Engine message.
        detail: String,
    },
    /// No free account slot (code 10).
    #[error("accounts full: {detail}")]
    AccountsFull {
        /// Engine message.
        detail: String,
    },
    /// The open batch has no room for another transaction (code 11).
    #[error("batch full: {detail}")]
    BatchFull {
        /// Engine message.
        detail: String,
    },
    /// The open batch has no room for another withdrawal (code 12).
    #[error("withdrawals full: {detail}")]
    WithdrawalsFull {
        /// Engine message.
        detail: String,
    },
    /// The account has no slot (code 13).
    #[error("account {account} not found: {detail}")]
    AccountNotFound {
        /// The account asked for.
        account: Address,
        /// Engine message.
        detail: String,
    },
    /// No withdrawal at that index of the last sealed batch (code 14).
    #[error("withdrawal {index} not found: {detail}")]
    WithdrawalNotFound {
        /// The index asked for.
        index: u32,
        /// Engine message.
        detail: String,
    },
    /// The engine could not allocate at init (code 15).
    #[error("engine out of memory: {detail}")]
    OutOfMemory {
        /// Engine message.
        detail: String,
    },
    /// The config is out of range (code 16).
    #[error("invalid engine config: {detail}")]
    InvalidConfig {
        /// Engine message.
        detail: String,
    },
    /// A zero deposit or withdrawal amount (code 17).
    #[error("zero amount: {detail}")]
    ZeroAmount {
        /// Engine message.
        detail: String,
    },
    /// An L1 deposit whose index is not the engine's deposit cursor (code 18).
    #[error("bad deposit index {index}: {detail}")]
    BadDepositIndex {
        /// Offered deposit index.
        index: u64,
        /// Engine message.
        detail: String,
    },
    /// No op at that index in the last sealed batch (code 19).
    #[error("step {index} not found: {detail}")]
    StepNotFound {
        /// The op index asked for.
        index: u32,
        /// Engine message.
        detail: String,
    },
    /// The engine returned a code this crate does not know (ABI drift).
    #[error("engine returned unknown error code {code}: {detail}")]
    UnknownCode {
        /// Raw code.
        code: u32,
        /// Engine message.
        detail: String,
    },
    /// Refused before crossing: token id >= 8.
    #[error("refused: token id {token} is not below {max}", max = crate::TOKEN_COUNT)]
    TokenOutOfRange {
        /// Offered token id.
        token: u32,
    },
    /// Refused before crossing: data longer than [`crate::TX_DATA_MAX`].
    #[error("refused: data of {len} bytes exceeds {max}", max = crate::TX_DATA_MAX)]
    DataOverMax {
        /// Offered length.
        len: usize,
    },
    /// Refused before crossing: more transactions than one call can carry.
    #[error("refused: {count} transactions exceed the batch maximum {max}")]
    TooManyTransactions {
        /// Offered count.
        count: usize,
        /// Configured maximum.
        max: u32,
    },
    /// Refused before crossing: a config value out of range.
    #[error("refused: config {field} = {value} out of range")]
    ConfigOutOfRange {
        /// Field name.
        field: &'static str,
        /// Offered value.
        value: u64,
    },
    /// Refused before crossing: zero amount.
    #[error("refused: zero {what} amount")]
    ZeroAmountRefused {
        /// `"deposit"` or `"withdrawal"`.
        what: &'static str,
    },
}

impl EngineError {
    /// Whether retrying the same call later can succeed: `BatchFull`/`WithdrawalsFull` clear
    /// when the batch is sealed, `BadNonce` may once earlier transactions land.
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::BatchFull { .. } | Self::WithdrawalsFull { .. } | Self::BadNonce { .. }
        )
    }

    /// The engine error code this error corresponds to, if it came from (or mirrors) one.
    pub const fn code(&self) -> Option<u32> {
        Some(match self {
            Self::NullPointer { .. } => 1,
            Self::InvalidHandle { .. } => 2,
            Self::BadNonce { .. } => 3,
            Self::UnknownToken { .. } | Self::TokenOutOfRange { .. } => 4,
            Self::DataTooLong { .. } | Self::DataOverMax { .. } => 5,
            Self::FeeTooLow { .. } => 6,
            Self::InsufficientBalance { .. } => 7,
            Self::InsufficientFeeBalance { .. } => 8,
            Self::BalanceOverflow { .. } => 9,
            Self::AccountsFull { .. } => 10,
            Self::BatchFull { .. } | Self::TooManyTransactions { .. } => 11,
            Self::WithdrawalsFull { .. } => 12,
            Self::AccountNotFound { .. } => 13,
            Self::WithdrawalNotFound { .. } => 14,
            Self::OutOfMemory { .. } => 15,
            Self::InvalidConfig { .. } | Self::ConfigOutOfRange { .. } => 16,
            Self::ZeroAmount { .. } | Self::ZeroAmountRefused { .. } => 17,
            Self::BadDepositIndex { .. } => 18,
            Self::StepNotFound { .. } => 19,
            Self::UnknownCode { .. } => return None,
        })
    }
}
