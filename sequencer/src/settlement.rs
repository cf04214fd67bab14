//! The L1 side of GhostPlane settlement (`zig/SPEC.md`, "Settlement on L1"), in pure Rust: the
//! 124-byte op records (4 blob field elements), step states and their 31-byte commitments,
//! calldata-mode data commitments and record openings, blob packing, the batch header / batch
//! record hashes of `contracts/src/ghostplane/IGhostPlane.sol` (through `sol!` on that very
//! file), and the sequential account witnesses of a one-step fraud proof. Nothing here calls the
//! engine.
//!
//! Record layout (all integers big-endian):
//!
//! ```text
//! record = op (93) || c_i (31)
//! op[0]  = kind (bits 0..2) | token << 3 (bits 3..6; ids 8..15 are unknown tokens) | v << 7
//!          kinds: 1 deposit, 2 transfer, 3 withdrawal, 4 refund, 5 register
//! 1 deposit / 4 refund: 1 to_slot u24 · 4 index u64 · 12 l1_sender · 32 recipient · 52 amount u128
//! 2 transfer:   1 from_slot u24 · 4 to_slot u24 · 7 value u112 · 21 gas_limit u24 · 24 gas_price u40
//!               · 29 r · 61 s                       (`to` is the address at to_slot)
//! 3 withdrawal: 1 from_slot u24 · 4 recipient_slot u24 · 7 amount u128 · 23 r · 55 s
//!                                                   (`l1_recipient` is the address at recipient_slot)
//! 5 register:   1 slot u24 · 4 address
//! ```

// Offsets below are sums of fixed field widths; tree levels are bounded by the depth (<= 32).
#![allow(clippy::arithmetic_side_effects)]

use crate::{
    roots::{self, AccountState},
    tx::{self, TxError, UnsignedTx},
    TOKEN_COUNT,
};
use alloy_primitives::{keccak256, Address, FixedBytes, B256, U256};
use alloy_sol_types::SolValue;
use std::collections::HashMap;

/// The Solidity types and calls of `contracts/src/ghostplane/IGhostPlane.sol`. `sol!` cannot
/// resolve the struct types an interface inherits, so the structs and the `IGhostPlaneRollup`
/// functions used here are restated; a unit test compares every struct body and function
/// signature with the file's text.
#[allow(
    missing_docs,
    unreachable_pub,
    clippy::all,
    clippy::arithmetic_side_effects
)]
pub mod abi {
    macro_rules! sol_and_source {
        ($($t:tt)*) => {
            alloy_sol_types::sol! { #![sol(all_derives)] $($t)* }
            /// The restated Solidity source (`stringify!`), for the drift test.
            pub const SOURCE: &str = stringify!($($t)*);
        };
    }
    sol_and_source! {
        struct BatchHeader {
            uint64 number;
            bytes32 prevStateRoot;
            uint64 prevAccountCount;
            uint64 prevDepositCursor;
            bytes32 stateRoot;
            uint64 accountCount;
            uint64 depositCursor;
            bytes32 withdrawalsRoot;
            uint32 withdrawalCount;
            uint32 opCount;
            uint8 dataMode;
            bytes32 dataCommitment;
        }

        struct BatchRecord {
            BatchHeader header;
            uint64 submittedAt;
            address proposer;
        }

        struct StepState {
            bytes32 stateRoot;
            uint64 accountCount;
            bytes32 withdrawalsRoot;
            uint32 withdrawalCount;
            uint64 depositCursor;
        }

        struct AccountWitness {
            uint32 slot;
            address addr;
            uint64 nonce;
            uint128[8] balances;
            bytes32[] siblings;
        }

        struct RecordOpening {
            uint32 index;
            bytes record;
            bytes proof;
        }

        struct CommitmentOpening {
            uint32 index;
            bytes31 commitment;
            bytes proof;
        }

        struct Withdrawal {
            uint64 batchNumber;
            uint32 index;
            address from;
            address l1Recipient;
            uint32 token;
            uint128 amount;
        }

        interface IGhostPlaneRollup {
            function submitBatch(BatchHeader calldata header, bytes calldata records) external;

            function proveFraud(
                BatchRecord calldata batch,
                RecordOpening calldata op,
                CommitmentOpening calldata prev,
                StepState calldata pre,
                AccountWitness[] calldata accounts,
                bytes32[] calldata withdrawalSiblings
            ) external;

            function proveFinalFraud(BatchRecord calldata batch, CommitmentOpening calldata last) external;

            function proveDuplicateAccount(
                BatchRecord calldata batch,
                RecordOpening calldata op,
                CommitmentOpening calldata prev,
                StepState calldata pre,
                AccountWitness calldata existing
            ) external;
        }
    }
}

/// Op bytes of a record.
pub const OP_LEN: usize = 93;
/// Commitment bytes of a record (`c_i`, the first 31 bytes of the step hash).
pub const COMMITMENT_LEN: usize = 31;
/// Record bytes: op || commitment.
pub const RECORD_LEN: usize = OP_LEN + COMMITMENT_LEN;
/// Blob field elements per record.
pub const ELEMENTS_PER_RECORD: usize = 4;
/// Field elements per blob (EIP-4844).
pub const ELEMENTS_PER_BLOB: usize = 4096;
/// Records per blob (every element of a full blob is used).
pub const RECORDS_PER_BLOB: usize = 1024;
/// Bytes per blob.
pub const BLOB_LEN: usize = 32 * ELEMENTS_PER_BLOB;
/// Width of a transfer's value in its record (a larger value cannot be settled).
pub const VALUE_BITS: u32 = 112;
/// Width of a transfer's gas limit in its record.
pub const GAS_LIMIT_BITS: u32 = 24;
/// Width of a transfer's gas price in its record.
pub const GAS_PRICE_BITS: u32 = 40;
/// Largest slot an op can name (u24).
pub const SLOT_MAX: u32 = (1 << 24) - 1;
/// The BLS12-381 scalar field modulus (blob elements must be below it).
pub const BLS_MODULUS: U256 = U256::from_be_bytes([
    0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
    0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
]);

/// A step commitment `c_i`.
pub type Commitment = [u8; COMMITMENT_LEN];
/// One encoded record.
pub type RecordBytes = [u8; RECORD_LEN];
/// One blob.
pub type Blob = [u8; BLOB_LEN];

/// Why a record or an op could not be built or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    /// A record is not 124 bytes (or an op not 93).
    #[error("{what} of {len} bytes, expected {expected}")]
    Length {
        /// `"record"` or `"op"` or `"records"`.
        what: &'static str,
        /// Offered length.
        len: usize,
        /// Expected length.
        expected: usize,
    },
    /// The kind (low 3 bits of byte 0) is not 1..=5.
    #[error("unknown op kind {kind}")]
    UnknownKind {
        /// The low 4 bits of byte 0.
        kind: u8,
    },
    /// `v` set on a deposit/refund/register, token bits on a register, or non-zero unused bytes.
    #[error("non-canonical op bytes: {reason}")]
    NonCanonical {
        /// What is wrong.
        reason: &'static str,
    },
    /// A slot above u24.
    #[error("slot {slot} does not fit 24 bits")]
    SlotTooLarge {
        /// The slot.
        slot: u64,
    },
    /// A token id the four token bits of an op cannot hold.
    #[error("token {token} does not fit an op (ids 0..16)")]
    TokenTooLarge {
        /// The token id.
        token: u32,
    },
    /// A recovery id other than 0 or 1.
    #[error("recovery id {v} is not 0 or 1")]
    BadRecoveryId {
        /// The id.
        v: u8,
    },
    /// A transaction field wider than its record field (value 112 bits, gas limit 24, gas
    /// price 40): the transaction cannot be settled.
    #[error("{field} {value} does not fit a transfer record (at most {max})")]
    FieldTooWide {
        /// `"value"`, `"gas_limit"` or `"gas_price"`.
        field: &'static str,
        /// The offered value.
        value: u128,
        /// The largest the record holds.
        max: u128,
    },
    /// A transaction carrying `data` cannot be settled (the op has no room for it).
    #[error("a transaction with {len} bytes of data cannot be settled")]
    TxHasData {
        /// Its data length.
        len: usize,
    },
    /// The raw transaction or withdrawal did not decode.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// Witness inputs disagree (different roots, unknown siblings, wrong sibling count).
    #[error("witness: {reason}")]
    Witness {
        /// What is wrong.
        reason: String,
    },
}

/// Result alias of this module.
pub type Result<T, E = SettlementError> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------------
// Step states

pub use crate::roots::{StepState, WITHDRAWALS_DEPTH};

/// Settlement views of the step state (its encoding and commitment are in [`crate::roots`]).
impl StepState {
    /// The start state of a batch after a batch that ended in (state root, account count,
    /// deposit cursor): an empty withdrawals tree.
    pub fn start(state_root: B256, account_count: u64, deposit_cursor: u64) -> Self {
        Self {
            state_root,
            account_count,
            withdrawals_root: empty_withdrawals_root(),
            withdrawal_count: 0,
            deposit_cursor,
        }
    }

    /// The genesis state of an engine of depth `depth`: the fee collector alone at slot 0.
    pub fn genesis(depth: u32, fee_collector: Address) -> Self {
        let leaf = roots::account_leaf(&fee_collector, 0, &[0; TOKEN_COUNT]);
        Self::start(roots::sparse_root(depth, &[leaf]), 1, 0)
    }

    /// The Solidity struct.
    pub fn to_abi(&self) -> abi::StepState {
        abi::StepState {
            stateRoot: self.state_root,
            accountCount: self.account_count,
            withdrawalsRoot: self.withdrawals_root,
            withdrawalCount: self.withdrawal_count,
            depositCursor: self.deposit_cursor,
        }
    }
}

/// Root of the empty depth-16 withdrawals tree (`zero[16]`).
pub fn empty_withdrawals_root() -> B256 {
    roots::zero_hashes(WITHDRAWALS_DEPTH)[WITHDRAWALS_DEPTH as usize]
}

/// Withdrawals root of a batch whose withdrawal leaves are `leaves` (depth-16 tree).
pub fn withdrawals_root16(leaves: &[B256]) -> B256 {
    roots::sparse_root(WITHDRAWALS_DEPTH, leaves)
}

// ---------------------------------------------------------------------------------------------
// Ops and records

/// Op kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OpKind {
    /// An L1 deposit credited to an L2 account.
    Deposit = 1,
    /// A signed L2 transfer.
    Transfer = 2,
    /// A signed L2 → L1 withdrawal.
    Withdrawal = 3,
    /// An L1 deposit that could not create its account, paid back on L1.
    Refund = 4,
    /// A new account for the address the next op needs (transfers and withdrawals name their
    /// accounts by slot and never create them).
    Register = 5,
}

/// A deposit (kind 1) or refund (kind 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositOp {
    /// Token id (4 bits in the op: 0..16, of which 0..8 name tokens).
    pub token: u8,
    /// Slot of the recipient (the proposer's claim).
    pub to_slot: u32,
    /// Portal deposit index.
    pub index: u64,
    /// L1 sender of the deposit.
    pub l1_sender: Address,
    /// L2 recipient.
    pub recipient: Address,
    /// Amount.
    pub amount: u128,
}

/// A transfer (kind 2): the signed fields of an L2 transaction with no data, plus the slots. The
/// recipient's address is not in the record: it is the address at `to_slot` (and the sender's
/// nonce the one at `from_slot`), so the signed payload is rebuilt from the op and the two leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferOp {
    /// Recovery id (0 or 1).
    pub v: u8,
    /// Token id (4 bits in the op: 0..16, of which 0..8 name tokens).
    pub token: u8,
    /// Sender slot.
    pub from_slot: u32,
    /// Recipient slot (the sender's for a self-transfer).
    pub to_slot: u32,
    /// Amount (below 2^112).
    pub value: u128,
    /// Gas limit (below 2^24).
    pub gas_limit: u64,
    /// Gas price (below 2^40).
    pub gas_price: u64,
    /// Signature `r`.
    pub r: B256,
    /// Signature `s`.
    pub s: B256,
}

/// A withdrawal (kind 3). The L1 recipient is the address at `recipient_slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithdrawalOp {
    /// Recovery id (0 or 1).
    pub v: u8,
    /// Token id (4 bits in the op: 0..16, of which 0..8 name tokens).
    pub token: u8,
    /// Sender slot.
    pub from_slot: u32,
    /// Slot of the account whose address is the L1 recipient.
    pub recipient_slot: u32,
    /// Amount.
    pub amount: u128,
    /// Signature `r`.
    pub r: B256,
    /// Signature `s`.
    pub s: B256,
}

/// A register op (kind 5): `address` gets slot `slot` (the pre-state's account count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterOp {
    /// The new slot.
    pub slot: u32,
    /// The address it holds.
    pub address: Address,
}

/// One op of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Kind 1.
    Deposit(DepositOp),
    /// Kind 2.
    Transfer(TransferOp),
    /// Kind 3.
    Withdrawal(WithdrawalOp),
    /// Kind 4.
    Refund(DepositOp),
    /// Kind 5.
    Register(RegisterOp),
}

fn put_u24(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 3].copy_from_slice(&v.to_be_bytes()[1..]);
}

fn get_u24(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([0, b[at], b[at + 1], b[at + 2]])
}

/// Big-endian unsigned integer of `len` (<= 16) bytes at `at`.
fn get_uint(b: &[u8], at: usize, len: usize) -> u128 {
    b[at..at + len]
        .iter()
        .fold(0u128, |acc, &x| (acc << 8) | u128::from(x))
}

/// Writes the low `len` bytes of `v` big-endian at `at` (`v` was checked to fit).
fn put_uint(b: &mut [u8], at: usize, len: usize, v: u128) {
    b[at..at + len].copy_from_slice(&v.to_be_bytes()[16 - len..]);
}

fn arr<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[at..at + N]);
    a
}

fn check_slot(slot: u32) -> Result<()> {
    if slot > SLOT_MAX {
        return Err(SettlementError::SlotTooLarge { slot: slot.into() });
    }
    Ok(())
}

fn check_v(v: u8) -> Result<()> {
    if v > 1 {
        return Err(SettlementError::BadRecoveryId { v });
    }
    Ok(())
}

/// A token id that fits the four token bits of byte 0 (ids 8..15 fit but name no token: an op
/// carrying one is invalid, which is how a lying batch's unknown token is proven).
fn token_bits(token: u32) -> Result<u8> {
    match u8::try_from(token) {
        Ok(t) if t < 16 => Ok(t),
        _ => Err(SettlementError::TokenTooLarge { token }),
    }
}

fn check_width(field: &'static str, value: u128, bits: u32) -> Result<()> {
    if value >> bits != 0 {
        return Err(SettlementError::FieldTooWide {
            field,
            value,
            max: (1u128 << bits) - 1,
        });
    }
    Ok(())
}

/// Whether a signed transaction fits a transfer record: no data, value below 2^112, gas limit
/// below 2^24, gas price below 2^40. The sequencer refuses any other (it could never be proven on
/// L1). An unknown token is left to the engine, which rejects it (`unknown_token`).
pub fn check_settleable(tx: &UnsignedTx) -> Result<()> {
    check_transfer_fields(tx.data.len(), tx.value, tx.gas_limit, tx.gas_price)
}

/// [`check_settleable`] on the fields themselves (an engine `Transaction` carries them too, so
/// the ledger checks without decoding the raw form again).
pub fn check_transfer_fields(
    data_len: usize,
    value: u128,
    gas_limit: u64,
    gas_price: u64,
) -> Result<()> {
    if data_len != 0 {
        return Err(SettlementError::TxHasData { len: data_len });
    }
    check_width("value", value, VALUE_BITS)?;
    check_width("gas_limit", gas_limit.into(), GAS_LIMIT_BITS)?;
    check_width("gas_price", gas_price.into(), GAS_PRICE_BITS)
}

fn split_sig(sig: &[u8; 64]) -> (B256, B256) {
    (B256::from_slice(&sig[..32]), B256::from_slice(&sig[32..]))
}

fn join_sig(r: &B256, s: &B256) -> [u8; 64] {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r.as_slice());
    sig[32..].copy_from_slice(s.as_slice());
    sig
}

impl TransferOp {
    /// Builds the op of a raw signed transaction (`tx.rs` format). Refuses what a record cannot
    /// hold ([`check_settleable`]).
    pub fn from_raw(raw: &[u8], from_slot: u32, to_slot: u32) -> Result<Self> {
        let d = tx::decode(raw)?;
        Self::from_signed(&d.tx, &d.signature, d.v, from_slot, to_slot)
    }

    /// Builds the op of signed transaction fields (no decoding checks beyond the op's own:
    /// [`check_settleable`], slots fit 24 bits, `v` 0 or 1).
    pub fn from_signed(
        tx: &UnsignedTx,
        signature: &[u8; 64],
        v: u8,
        from_slot: u32,
        to_slot: u32,
    ) -> Result<Self> {
        check_settleable(tx)?;
        check_slot(from_slot)?;
        check_slot(to_slot)?;
        check_v(v)?;
        let (r, s) = split_sig(signature);
        Ok(Self {
            v,
            token: token_bits(tx.token)?,
            from_slot,
            to_slot,
            value: tx.value,
            gas_limit: tx.gas_limit,
            gas_price: tx.gas_price,
            r,
            s,
        })
    }

    /// The signed transaction fields given the recipient's address (at `to_slot`) and the
    /// sender's nonce (at `from_slot`).
    pub fn unsigned(&self, to: Address, nonce: u64) -> UnsignedTx {
        UnsignedTx {
            to,
            value: self.value,
            token: self.token.into(),
            gas_limit: self.gas_limit,
            gas_price: self.gas_price,
            nonce,
            data: Vec::new(),
        }
    }

    /// The 69-byte signing payload's keccak256.
    pub fn signing_hash(&self, to: Address, nonce: u64) -> B256 {
        keccak256(self.unsigned(to, nonce).encode().unwrap_or_default())
    }

    /// The raw transaction (`tx.rs` format); its hash is the engine's transaction hash.
    pub fn raw(&self, to: Address, nonce: u64) -> Vec<u8> {
        let mut raw = self.unsigned(to, nonce).encode().unwrap_or_default();
        raw.extend_from_slice(&join_sig(&self.r, &self.s));
        raw.push(self.v);
        raw
    }

    /// The signer (what L1's `ecrecover` returns; low-s only).
    pub fn recover(&self, to: Address, nonce: u64) -> Result<Address> {
        Ok(tx::recover_signer(
            &self.signing_hash(to, nonce),
            &join_sig(&self.r, &self.s),
            self.v,
        )?)
    }
}

impl WithdrawalOp {
    /// Builds the op of a raw signed withdrawal (`tx::decode_withdrawal` format).
    pub fn from_raw(raw: &[u8], from_slot: u32, recipient_slot: u32) -> Result<Self> {
        let d = tx::decode_withdrawal(raw)?;
        check_slot(from_slot)?;
        check_slot(recipient_slot)?;
        check_v(d.v)?;
        let (r, s) = split_sig(&d.signature);
        Ok(Self {
            v: d.v,
            token: token_bits(d.withdrawal.token)?,
            from_slot,
            recipient_slot,
            amount: d.withdrawal.amount,
            r,
            s,
        })
    }

    /// The signed fields given the L1 recipient (the address at `recipient_slot`) and the
    /// sender's nonce.
    pub fn unsigned(&self, l1_recipient: Address, nonce: u64) -> tx::UnsignedWithdrawal {
        tx::UnsignedWithdrawal {
            l1_recipient,
            token: self.token.into(),
            amount: self.amount,
            nonce,
        }
    }

    /// The signer (low-s only).
    pub fn recover(&self, l1_recipient: Address, nonce: u64) -> Result<Address> {
        Ok(tx::recover_signer(
            &self.unsigned(l1_recipient, nonce).signing_hash(),
            &join_sig(&self.r, &self.s),
            self.v,
        )?)
    }
}

impl Op {
    /// The kind.
    pub const fn kind(&self) -> OpKind {
        match self {
            Self::Deposit(_) => OpKind::Deposit,
            Self::Transfer(_) => OpKind::Transfer,
            Self::Withdrawal(_) => OpKind::Withdrawal,
            Self::Refund(_) => OpKind::Refund,
            Self::Register(_) => OpKind::Register,
        }
    }

    /// The 93 op bytes (fields wider than the record are truncated: build ops with the checked
    /// constructors).
    pub fn encode(&self) -> [u8; OP_LEN] {
        let mut b = [0u8; OP_LEN];
        let head = |token: u8, v: u8| self.kind() as u8 | (token & 15) << 3 | (v & 1) << 7;
        match self {
            Self::Deposit(d) | Self::Refund(d) => {
                b[0] = head(d.token, 0);
                put_u24(&mut b, 1, d.to_slot);
                b[4..12].copy_from_slice(&d.index.to_be_bytes());
                b[12..32].copy_from_slice(d.l1_sender.as_slice());
                b[32..52].copy_from_slice(d.recipient.as_slice());
                b[52..68].copy_from_slice(&d.amount.to_be_bytes());
            }
            Self::Transfer(t) => {
                b[0] = head(t.token, t.v);
                put_u24(&mut b, 1, t.from_slot);
                put_u24(&mut b, 4, t.to_slot);
                put_uint(&mut b, 7, 14, t.value);
                put_uint(&mut b, 21, 3, t.gas_limit.into());
                put_uint(&mut b, 24, 5, t.gas_price.into());
                b[29..61].copy_from_slice(t.r.as_slice());
                b[61..93].copy_from_slice(t.s.as_slice());
            }
            Self::Withdrawal(w) => {
                b[0] = head(w.token, w.v);
                put_u24(&mut b, 1, w.from_slot);
                put_u24(&mut b, 4, w.recipient_slot);
                b[7..23].copy_from_slice(&w.amount.to_be_bytes());
                b[23..55].copy_from_slice(w.r.as_slice());
                b[55..87].copy_from_slice(w.s.as_slice());
            }
            Self::Register(r) => {
                b[0] = head(0, 0);
                put_u24(&mut b, 1, r.slot);
                b[4..24].copy_from_slice(r.address.as_slice());
            }
        }
        b
    }

    /// Decodes 93 op bytes, refusing unknown kinds and non-canonical bytes.
    pub fn decode(b: &[u8]) -> Result<Self> {
        if b.len() != OP_LEN {
            return Err(SettlementError::Length {
                what: "op",
                len: b.len(),
                expected: OP_LEN,
            });
        }
        let kind = b[0] & 7;
        let token = (b[0] >> 3) & 15;
        let v = b[0] >> 7;
        let zero_from = |at: usize| -> Result<()> {
            if b[at..].iter().any(|&x| x != 0) {
                return Err(SettlementError::NonCanonical {
                    reason: "unused op bytes not zero",
                });
            }
            Ok(())
        };
        let unsigned = |what: &'static str| -> Result<()> {
            if v != 0 {
                return Err(SettlementError::NonCanonical { reason: what });
            }
            Ok(())
        };
        match kind {
            1 | 4 => {
                unsigned("v set on a deposit or refund")?;
                zero_from(68)?;
                let d = DepositOp {
                    token,
                    to_slot: get_u24(b, 1),
                    index: u64::from_be_bytes(arr(b, 4)),
                    l1_sender: Address::from(arr::<20>(b, 12)),
                    recipient: Address::from(arr::<20>(b, 32)),
                    amount: u128::from_be_bytes(arr(b, 52)),
                };
                Ok(if kind == 1 {
                    Self::Deposit(d)
                } else {
                    Self::Refund(d)
                })
            }
            2 => Ok(Self::Transfer(TransferOp {
                v,
                token,
                from_slot: get_u24(b, 1),
                to_slot: get_u24(b, 4),
                value: get_uint(b, 7, 14),
                // At most 3 and 5 bytes: they fit a u64.
                gas_limit: get_uint(b, 21, 3) as u64,
                gas_price: get_uint(b, 24, 5) as u64,
                r: B256::from(arr::<32>(b, 29)),
                s: B256::from(arr::<32>(b, 61)),
            })),
            3 => {
                zero_from(87)?;
                Ok(Self::Withdrawal(WithdrawalOp {
                    v,
                    token,
                    from_slot: get_u24(b, 1),
                    recipient_slot: get_u24(b, 4),
                    amount: u128::from_be_bytes(arr(b, 7)),
                    r: B256::from(arr::<32>(b, 23)),
                    s: B256::from(arr::<32>(b, 55)),
                }))
            }
            5 => {
                unsigned("v set on a register op")?;
                if token != 0 {
                    return Err(SettlementError::NonCanonical {
                        reason: "token bits set on a register op",
                    });
                }
                zero_from(24)?;
                Ok(Self::Register(RegisterOp {
                    slot: get_u24(b, 1),
                    address: Address::from(arr::<20>(b, 4)),
                }))
            }
            kind => Err(SettlementError::UnknownKind { kind }),
        }
    }

    /// Slots of the accounts the op touches, in the SPEC witness order (sender or deposit
    /// recipient or registered slot, recipient, fee collector at slot 0), each slot once: a
    /// self-transfer (or a withdrawal to the sender's own address) has one witness for both, and
    /// the collector's slot 0 is not repeated when it is the sender or recipient. A refund
    /// touches no account.
    pub fn touched_slots(&self) -> Vec<u32> {
        let mut slots: Vec<u32> = Vec::with_capacity(3);
        let mut push = |s: u32| {
            if !slots.contains(&s) {
                slots.push(s);
            }
        };
        match self {
            Self::Deposit(d) => push(d.to_slot),
            Self::Refund(_) => {}
            Self::Register(r) => push(r.slot),
            Self::Transfer(t) => {
                push(t.from_slot);
                push(t.to_slot);
                push(0);
            }
            Self::Withdrawal(w) => {
                push(w.from_slot);
                push(w.recipient_slot);
                push(0);
            }
        }
        slots
    }
}

/// An op with its claimed post-step commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The op.
    pub op: Op,
    /// `c_i`.
    pub commitment: Commitment,
}

impl Record {
    /// op (93) || commitment (31).
    pub fn encode(&self) -> RecordBytes {
        let mut b = [0u8; RECORD_LEN];
        b[..OP_LEN].copy_from_slice(&self.op.encode());
        b[OP_LEN..].copy_from_slice(&self.commitment);
        b
    }

    /// Decodes 124 bytes.
    pub fn decode(b: &[u8]) -> Result<Self> {
        if b.len() != RECORD_LEN {
            return Err(SettlementError::Length {
                what: "record",
                len: b.len(),
                expected: RECORD_LEN,
            });
        }
        Ok(Self {
            op: Op::decode(&b[..OP_LEN])?,
            commitment: arr(b, OP_LEN),
        })
    }
}

/// The concatenated records (calldata mode's `records` argument).
pub fn encode_records(records: &[Record]) -> Vec<u8> {
    records.iter().flat_map(|r| r.encode()).collect()
}

/// Splits and decodes concatenated records.
pub fn decode_records(bytes: &[u8]) -> Result<Vec<Record>> {
    if bytes.len() % RECORD_LEN != 0 {
        return Err(SettlementError::Length {
            what: "records",
            len: bytes.len(),
            expected: bytes.len() / RECORD_LEN * RECORD_LEN,
        });
    }
    bytes.chunks(RECORD_LEN).map(Record::decode).collect()
}

// ---------------------------------------------------------------------------------------------
// Calldata-mode data commitment

/// The leaf of a record: `keccak256(record)`.
pub fn record_leaf(record: &[u8]) -> B256 {
    keccak256(record)
}

/// Depth of the padded tree over `n` leaves (0 for 0 or 1 leaves).
pub fn padded_depth(n: usize) -> u32 {
    n.max(1).next_power_of_two().trailing_zeros()
}

/// Calldata-mode data commitment: the padded Merkle root of the record leaves (zero if empty).
pub fn data_commitment(records: &[RecordBytes]) -> B256 {
    let leaves: Vec<B256> = records.iter().map(|r| record_leaf(r)).collect();
    roots::padded_root(&leaves)
}

/// Siblings (bottom-up) opening record `index` against [`data_commitment`].
pub fn record_siblings(records: &[RecordBytes], index: usize) -> Vec<B256> {
    let leaves: Vec<B256> = records.iter().map(|r| record_leaf(r)).collect();
    roots::proof_siblings(padded_depth(leaves.len()), &leaves, index as u64)
}

/// Whether `record` at `index` with `siblings` opens `commitment`.
pub fn verify_record_opening(
    commitment: &B256,
    record: &[u8],
    index: u64,
    siblings: &[B256],
) -> bool {
    roots::verify_proof(commitment, &record_leaf(record), index, siblings)
}

/// Calldata-mode `RecordOpening` of record `index`: `proof = abi.encode(bytes32[] siblings)`.
pub fn record_opening(records: &[RecordBytes], index: usize) -> abi::RecordOpening {
    let siblings = record_siblings(records, index);
    abi::RecordOpening {
        index: index as u32,
        record: records[index].to_vec().into(),
        proof: (siblings,).abi_encode_params().into(),
    }
}

/// Calldata-mode `CommitmentOpening` of record `index`:
/// `proof = abi.encode(bytes op124, bytes32[] siblings)`.
pub fn commitment_opening(records: &[RecordBytes], index: usize) -> abi::CommitmentOpening {
    let siblings = record_siblings(records, index);
    let rec = &records[index];
    let op: Vec<u8> = rec[..OP_LEN].to_vec();
    abi::CommitmentOpening {
        index: index as u32,
        commitment: FixedBytes::<31>::from_slice(&rec[OP_LEN..]),
        proof: (alloy_primitives::Bytes::from(op), siblings)
            .abi_encode_params()
            .into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Blob mode

/// Blobs needed for `n` records (none for none).
pub const fn blob_count(n: usize) -> usize {
    n.div_ceil(RECORDS_PER_BLOB)
}

/// Packs records 1,024 to a blob: record `j` in blob `j / 1024` at elements `4*(j % 1024) ..+3`;
/// element `e` = 0x00 || record bytes `31*(e % 4) .. +30` (element 3 of a record is its `c_i`).
/// Unused elements are zero.
pub fn pack_blobs(records: &[RecordBytes]) -> Vec<Blob> {
    let mut blobs = vec![[0u8; BLOB_LEN]; blob_count(records.len())];
    for (j, rec) in records.iter().enumerate() {
        let blob = &mut blobs[j / RECORDS_PER_BLOB];
        let first = ELEMENTS_PER_RECORD * (j % RECORDS_PER_BLOB);
        for k in 0..ELEMENTS_PER_RECORD {
            let at = 32 * (first + k);
            blob[at] = 0;
            blob[at + 1..at + 32].copy_from_slice(&rec[31 * k..31 * k + 31]);
        }
    }
    blobs
}

/// Field element `e` of a blob.
pub fn blob_element(blob: &Blob, e: usize) -> [u8; 32] {
    arr(blob, 32 * e)
}

/// The (record, element) pairs of the first `n` records whose blob element does not start with a
/// zero byte. Such a record cannot be opened on L1, so it is fraud in itself
/// (`GhostPlaneRollup.proveMalformedElement`); [`unpack_blobs`] drops that byte, so a challenger
/// checks this first.
pub fn malformed_elements(blobs: &[Blob], n: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for j in 0..n {
        let blob = &blobs[j / RECORDS_PER_BLOB];
        let first = ELEMENTS_PER_RECORD * (j % RECORDS_PER_BLOB);
        for k in 0..ELEMENTS_PER_RECORD {
            if blob[32 * (first + k)] != 0 {
                out.push((j, k));
            }
        }
    }
    out
}

/// Reads `n` records back out of blobs (byte 0 of each element is dropped: see
/// [`malformed_elements`]).
pub fn unpack_blobs(blobs: &[Blob], n: usize) -> Vec<RecordBytes> {
    (0..n)
        .map(|j| {
            let blob = &blobs[j / RECORDS_PER_BLOB];
            let first = ELEMENTS_PER_RECORD * (j % RECORDS_PER_BLOB);
            let mut rec = [0u8; RECORD_LEN];
            for k in 0..ELEMENTS_PER_RECORD {
                let at = 32 * (first + k);
                rec[31 * k..31 * k + 31].copy_from_slice(&blob[at + 1..at + 32]);
            }
            rec
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Batch header and record

/// Calldata-mode header of a batch going from `start` to `end` with `records`.
pub fn batch_header(
    number: u64,
    start: &StepState,
    end: &StepState,
    records: &[RecordBytes],
) -> abi::BatchHeader {
    abi::BatchHeader {
        number,
        prevStateRoot: start.state_root,
        prevAccountCount: start.account_count,
        prevDepositCursor: start.deposit_cursor,
        stateRoot: end.state_root,
        accountCount: end.account_count,
        depositCursor: end.deposit_cursor,
        withdrawalsRoot: end.withdrawals_root,
        withdrawalCount: end.withdrawal_count,
        opCount: records.len() as u32,
        dataMode: 0,
        dataCommitment: data_commitment(records),
    }
}

/// The start state a header claims (its `prev*` fields, empty withdrawals).
pub fn header_start(h: &abi::BatchHeader) -> StepState {
    StepState::start(h.prevStateRoot, h.prevAccountCount, h.prevDepositCursor)
}

/// The final state a header claims.
pub fn header_final(h: &abi::BatchHeader) -> StepState {
    StepState {
        state_root: h.stateRoot,
        account_count: h.accountCount,
        withdrawals_root: h.withdrawalsRoot,
        withdrawal_count: h.withdrawalCount,
        deposit_cursor: h.depositCursor,
    }
}

/// `keccak256(abi.encode(header))`.
pub fn header_hash(h: &abi::BatchHeader) -> B256 {
    keccak256(h.abi_encode())
}

/// `keccak256(abi.encode(headerHash, withdrawalsRoot, uint64 submittedAt, address proposer))`:
/// what the Rollup stores as `batchHash(number)`.
pub fn batch_record_hash(h: &abi::BatchHeader, submitted_at: u64, proposer: Address) -> B256 {
    keccak256((header_hash(h), h.withdrawalsRoot, submitted_at, proposer).abi_encode_params())
}

/// Hash of a `BatchRecord` (see [`batch_record_hash`]).
pub fn record_hash(r: &abi::BatchRecord) -> B256 {
    batch_record_hash(&r.header, r.submittedAt, r.proposer)
}

/// The withdrawal leaf of a `Withdrawal` struct (SPEC).
pub fn withdrawal_leaf(w: &abi::Withdrawal) -> B256 {
    roots::withdrawal_leaf(
        w.batchNumber,
        w.index,
        &w.from,
        &w.l1Recipient,
        w.token,
        w.amount,
    )
}

// ---------------------------------------------------------------------------------------------
// Sequential witnesses

/// The part of a fixed-depth Merkle tree known from proofs: enough to read siblings and update
/// leaves on the proven paths.
#[derive(Debug, Clone)]
pub struct PartialTree {
    depth: u32,
    /// (level, index) → node; level 0 = leaves.
    nodes: HashMap<(u32, u64), B256>,
}

impl PartialTree {
    /// An empty partial tree of depth `depth` (nothing known).
    pub fn new(depth: u32) -> Self {
        Self {
            depth,
            nodes: HashMap::new(),
        }
    }

    /// The root, if known.
    pub fn root(&self) -> Option<B256> {
        self.nodes.get(&(self.depth, 0)).copied()
    }

    /// Adds a proof of `leaf` at `index` of the current tree. Refuses a proof of another root
    /// than the proofs added before.
    pub fn add_proof(&mut self, index: u64, leaf: B256, siblings: &[B256]) -> Result<B256> {
        if siblings.len() != self.depth as usize {
            return Err(SettlementError::Witness {
                reason: format!("{} siblings for depth {}", siblings.len(), self.depth),
            });
        }
        let root = roots::proof_root(&leaf, index, siblings);
        if let Some(known) = self.root() {
            if known != root {
                return Err(SettlementError::Witness {
                    reason: format!("proof of slot {index} is against another root"),
                });
            }
        }
        let mut node = leaf;
        for (level, sib) in siblings.iter().enumerate() {
            let level = level as u32;
            let idx = index >> level;
            self.nodes.insert((level, idx), node);
            self.nodes.insert((level, idx ^ 1), *sib);
            node = if idx & 1 == 0 {
                roots::hash_pair(&node, sib)
            } else {
                roots::hash_pair(sib, &node)
            };
        }
        self.nodes.insert((self.depth, 0), node);
        Ok(node)
    }

    /// Siblings of `index`, bottom-up, if its path is known.
    pub fn siblings(&self, index: u64) -> Result<Vec<B256>> {
        (0..self.depth)
            .map(|level| {
                self.nodes
                    .get(&(level, (index >> level) ^ 1))
                    .copied()
                    .ok_or_else(|| SettlementError::Witness {
                        reason: format!("no proof covers slot {index}"),
                    })
            })
            .collect()
    }

    /// Writes `leaf` at `index` (its path must be known); returns the new root.
    pub fn set_leaf(&mut self, index: u64, leaf: B256) -> Result<B256> {
        let siblings = self.siblings(index)?;
        let mut node = leaf;
        for (level, sib) in siblings.iter().enumerate() {
            let level = level as u32;
            let idx = index >> level;
            self.nodes.insert((level, idx), node);
            node = if idx & 1 == 0 {
                roots::hash_pair(&node, sib)
            } else {
                roots::hash_pair(sib, &node)
            };
        }
        self.nodes.insert((self.depth, 0), node);
        Ok(node)
    }
}

/// One touched account as the pre-state shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreAccount {
    /// Slot.
    pub slot: u32,
    /// Leaf preimage (an unused slot: address 0, nonce 0, zero balances).
    pub state: AccountState,
    /// Siblings of the slot in the pre-state tree (`D` of them, bottom-up).
    pub siblings: Vec<B256>,
}

impl PreAccount {
    /// The leaf (`zero[0]` for an unused slot, i.e. address 0 with nonce 0 and no balance).
    pub fn leaf(&self) -> B256 {
        leaf_of(&self.state)
    }
}

/// Account leaf, with the empty preimage (address 0, nonce 0, zero balances) mapping to the
/// zero leaf of an unused slot.
pub fn leaf_of(a: &AccountState) -> B256 {
    if a.address == Address::ZERO && a.nonce == 0 && a.balances == [0; TOKEN_COUNT] {
        B256::ZERO
    } else {
        roots::account_leaf(&a.address, a.nonce, &a.balances)
    }
}

/// Sequential witnesses: given each touched account's pre-state witness (all against the same
/// pre-state root) and its final leaf, in witness order, returns each witness's siblings in the
/// tree where the earlier witnesses' leaves already hold their final values, and the root after
/// all of them are written (the op's post-state root).
pub fn sequential_siblings(
    depth: u32,
    pre: &[PreAccount],
    finals: &[B256],
) -> Result<(Vec<Vec<B256>>, B256)> {
    if pre.len() != finals.len() {
        return Err(SettlementError::Witness {
            reason: format!("{} witnesses but {} final leaves", pre.len(), finals.len()),
        });
    }
    let mut tree = PartialTree::new(depth);
    for p in pre {
        tree.add_proof(p.slot.into(), p.leaf(), &p.siblings)?;
    }
    let mut root = tree
        .root()
        .unwrap_or_else(|| roots::zero_hashes(depth)[depth as usize]);
    let mut out = Vec::with_capacity(pre.len());
    for (p, f) in pre.iter().zip(finals) {
        out.push(tree.siblings(p.slot.into())?);
        root = tree.set_leaf(p.slot.into(), *f)?;
    }
    Ok((out, root))
}

/// Reference version of [`sequential_siblings`] over the full pre-state leaves (slot order):
/// `updates` = (slot, final leaf) in witness order.
pub fn sequential_siblings_full(
    depth: u32,
    leaves: &[B256],
    updates: &[(u32, B256)],
) -> (Vec<Vec<B256>>, B256) {
    let mut leaves = leaves.to_vec();
    let mut out = Vec::with_capacity(updates.len());
    for &(slot, leaf) in updates {
        out.push(roots::proof_siblings(depth, &leaves, slot.into()));
        let slot = slot as usize;
        if leaves.len() <= slot {
            leaves.resize(slot + 1, B256::ZERO);
        }
        leaves[slot] = leaf;
    }
    (out, roots::sparse_root(depth, &leaves))
}

/// The Solidity `AccountWitness`.
pub fn account_witness(
    slot: u32,
    state: &AccountState,
    siblings: Vec<B256>,
) -> abi::AccountWitness {
    abi::AccountWitness {
        slot,
        addr: state.address,
        nonce: state.nonce,
        balances: state.balances,
        siblings,
    }
}

/// Everything `proveFraud` takes except the batch record.
#[derive(Debug, Clone)]
pub struct FraudWitness {
    /// Opening of record `i`.
    pub op: abi::RecordOpening,
    /// Opening of `c_{i-1}` (ignored by the contract when `i == 0`).
    pub prev: abi::CommitmentOpening,
    /// Preimage of `c_{i-1}` (the start state when `i == 0`).
    pub pre: StepState,
    /// Account witnesses in SPEC order with sequential siblings.
    pub accounts: Vec<abi::AccountWitness>,
    /// 16 siblings of leaf `pre.withdrawal_count` of the pre-state's withdrawals tree
    /// (withdrawals and refunds; empty otherwise).
    pub withdrawal_siblings: Vec<B256>,
}

/// The `prev` opening for record `index`: record `index - 1`'s commitment, or an empty opening
/// (index 0, zero commitment, empty proof) when `index == 0`.
pub fn prev_opening(records: &[RecordBytes], index: usize) -> abi::CommitmentOpening {
    if index == 0 {
        abi::CommitmentOpening {
            index: 0,
            commitment: FixedBytes::ZERO,
            proof: Default::default(),
        }
    } else {
        commitment_opening(records, index - 1)
    }
}

/// `proveFraud(batch, op, prev, pre, accounts, withdrawalSiblings)` calldata.
pub fn prove_fraud_calldata(batch: &abi::BatchRecord, w: &FraudWitness) -> Vec<u8> {
    use alloy_sol_types::SolCall;
    abi::IGhostPlaneRollup::proveFraudCall {
        batch: batch.clone(),
        op: w.op.clone(),
        prev: w.prev.clone(),
        pre: w.pre.to_abi(),
        accounts: w.accounts.clone(),
        withdrawalSiblings: w.withdrawal_siblings.clone(),
    }
    .abi_encode()
}

/// `proveFinalFraud(batch, last)` calldata: `last` opens the last record's commitment (for an
/// empty batch: index 0, zero commitment, empty proof).
pub fn prove_final_fraud_calldata(batch: &abi::BatchRecord, records: &[RecordBytes]) -> Vec<u8> {
    use alloy_sol_types::SolCall;
    let last = match records.len() {
        0 => prev_opening(records, 0),
        n => commitment_opening(records, n - 1),
    };
    abi::IGhostPlaneRollup::proveFinalFraudCall {
        batch: batch.clone(),
        last,
    }
    .abi_encode()
}

/// `proveDuplicateAccount(batch, op, prev, pre, existing)` calldata.
pub fn prove_duplicate_account_calldata(
    batch: &abi::BatchRecord,
    op: abi::RecordOpening,
    prev: abi::CommitmentOpening,
    pre: &StepState,
    existing: abi::AccountWitness,
) -> Vec<u8> {
    use alloy_sol_types::SolCall;
    abi::IGhostPlaneRollup::proveDuplicateAccountCall {
        batch: batch.clone(),
        op,
        prev,
        pre: pre.to_abi(),
        existing,
    }
    .abi_encode()
}

/// A `BatchRecord` as the fixtures give it: `submittedAt = 0`, `proposer = address(0)` (the
/// test patches both).
pub fn unsubmitted_record(header: abi::BatchHeader) -> abi::BatchRecord {
    abi::BatchRecord {
        header,
        submittedAt: 0,
        proposer: Address::ZERO,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tx::test_key;

    fn sample_records() -> Vec<Record> {
        let key = test_key(7);
        let utx = UnsignedTx {
            to: Address::repeat_byte(0x22),
            value: 123_456_789,
            token: 2,
            gas_limit: 21_000,
            gas_price: 1_000_000_000_000,
            nonce: 5,
            data: vec![],
        };
        let raw = utx.sign(&key).unwrap();
        let t = TransferOp::from_raw(&raw, 3, 0x00ab_cdef).unwrap();
        let wraw = tx::UnsignedWithdrawal {
            l1_recipient: Address::repeat_byte(0x33),
            token: 1,
            amount: u128::MAX - 1,
            nonce: 6,
        }
        .sign(&key)
        .unwrap();
        let w = WithdrawalOp::from_raw(&wraw, 3, 0x0007_0809).unwrap();
        let d = DepositOp {
            token: 3,
            to_slot: 0x0001_0203,
            index: 0x0102_0304_0506_0708,
            l1_sender: Address::repeat_byte(0x44),
            recipient: Address::repeat_byte(0x55),
            amount: 1 << 100,
        };
        vec![
            Record {
                op: Op::Deposit(d),
                commitment: [1; 31],
            },
            Record {
                op: Op::Transfer(t),
                commitment: [2; 31],
            },
            Record {
                op: Op::Withdrawal(w),
                commitment: [3; 31],
            },
            Record {
                op: Op::Refund(d),
                commitment: [4; 31],
            },
            Record {
                op: Op::Register(RegisterOp {
                    slot: 0x00fe_dcba,
                    address: Address::repeat_byte(0x66),
                }),
                commitment: [5; 31],
            },
        ]
    }

    #[test]
    fn records_roundtrip_and_offsets() {
        let recs = sample_records();
        for r in &recs {
            let b = r.encode();
            assert_eq!(b.len(), 124, "4 blob field elements of 31 bytes");
            assert_eq!(Record::decode(&b).unwrap(), *r);
            assert_eq!(&b[OP_LEN..], &r.commitment);
        }
        // Deposit offsets: byte 0 = kind | token << 3.
        let b = recs[0].encode();
        assert_eq!(b[0], 1 | (3 << 3));
        assert_eq!(&b[1..4], &[0x01, 0x02, 0x03]);
        assert_eq!(&b[4..12], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[12..32], &[0x44; 20]);
        assert_eq!(&b[32..52], &[0x55; 20]);
        assert_eq!(&b[52..68], &(1u128 << 100).to_be_bytes());
        assert!(b[68..93].iter().all(|&x| x == 0));
        // Refund: same bytes, kind 4.
        let rb = recs[3].encode();
        assert_eq!(rb[0], 4 | (3 << 3));
        assert_eq!(&rb[1..93], &b[1..93]);
        // Transfer offsets: no recipient address, narrowed value and gas fields.
        let Op::Transfer(t) = recs[1].op else {
            panic!()
        };
        let b = recs[1].encode();
        assert_eq!(b[0], 2 | (2 << 3) | (t.v << 7));
        assert_eq!(&b[1..4], &[0, 0, 3]);
        assert_eq!(&b[4..7], &[0xab, 0xcd, 0xef]);
        assert_eq!(&b[7..21], &123_456_789u128.to_be_bytes()[2..]);
        assert_eq!(&b[21..24], &21_000u64.to_be_bytes()[5..]);
        assert_eq!(&b[24..29], &1_000_000_000_000u64.to_be_bytes()[3..]);
        assert_eq!(&b[29..61], t.r.as_slice());
        assert_eq!(&b[61..93], t.s.as_slice());
        // Withdrawal offsets: the recipient by slot.
        let Op::Withdrawal(w) = recs[2].op else {
            panic!()
        };
        let b = recs[2].encode();
        assert_eq!(b[0], 3 | (1 << 3) | (w.v << 7));
        assert_eq!(&b[1..4], &[0, 0, 3]);
        assert_eq!(&b[4..7], &[0x07, 0x08, 0x09]);
        assert_eq!(&b[7..23], &(u128::MAX - 1).to_be_bytes());
        assert_eq!(&b[23..55], w.r.as_slice());
        assert_eq!(&b[55..87], w.s.as_slice());
        assert!(b[87..93].iter().all(|&x| x == 0));
        // Register offsets.
        let b = recs[4].encode();
        assert_eq!(b[0], 5);
        assert_eq!(&b[1..4], &[0xfe, 0xdc, 0xba]);
        assert_eq!(&b[4..24], &[0x66; 20]);
        assert!(b[24..93].iter().all(|&x| x == 0));
        // Concatenation.
        let all = encode_records(&recs);
        assert_eq!(all.len(), 5 * RECORD_LEN);
        assert_eq!(decode_records(&all).unwrap(), recs);
    }

    #[test]
    fn decode_refusals() {
        let recs = sample_records();
        let mut b = recs[0].encode();
        for kind in [0u8, 6, 7] {
            b[0] = kind;
            assert_eq!(
                Record::decode(&b),
                Err(SettlementError::UnknownKind { kind })
            );
        }
        b[0] = 0x81; // v on a deposit
        assert!(matches!(
            Record::decode(&b),
            Err(SettlementError::NonCanonical { .. })
        ));
        let mut b = recs[0].encode();
        b[80] = 1;
        assert!(matches!(
            Record::decode(&b),
            Err(SettlementError::NonCanonical { .. })
        ));
        let mut b = recs[2].encode();
        b[90] = 1;
        assert!(matches!(
            Record::decode(&b),
            Err(SettlementError::NonCanonical { .. })
        ));
        for (at, x) in [(0usize, 5u8 | (1 << 3)), (0, 5 | 0x80), (30, 1)] {
            let mut b = recs[4].encode();
            b[at] = x; // token bits, v or a trailing byte on a register op
            assert!(
                matches!(
                    Record::decode(&b),
                    Err(SettlementError::NonCanonical { .. })
                ),
                "register byte {at} = {x:#x}"
            );
        }
        assert!(matches!(
            Record::decode(&b[..123]),
            Err(SettlementError::Length { .. })
        ));
        assert!(decode_records(&[0u8; 125]).is_err());
    }

    #[test]
    fn transfer_op_signatures() {
        let key = test_key(9);
        let signer = tx::address_of(key.verifying_key());
        let to = Address::repeat_byte(1);
        let utx = UnsignedTx {
            to,
            value: 10,
            token: 0,
            gas_limit: 21_000,
            gas_price: 100_000_000_000,
            nonce: 42,
            data: vec![],
        };
        let raw = utx.sign(&key).unwrap();
        let op = TransferOp::from_raw(&raw, 1, 2).unwrap();
        assert_eq!(op.recover(to, 42).unwrap(), signer);
        assert_ne!(op.recover(to, 41).ok(), Some(signer));
        // The recipient is signed: another slot's address does not recover the sender.
        assert_ne!(op.recover(Address::repeat_byte(2), 42).ok(), Some(signer));
        assert_eq!(op.raw(to, 42), raw);
        assert_eq!(keccak256(op.raw(to, 42)), tx::decode(&raw).unwrap().hash);
        // Data is refused with a typed error.
        let mut with_data = utx.clone();
        with_data.data = vec![1];
        let raw = with_data.sign(&key).unwrap();
        assert_eq!(
            TransferOp::from_raw(&raw, 1, 2),
            Err(SettlementError::TxHasData { len: 1 })
        );
        // So are fields wider than the record's, at the first value past each bound.
        for (field, tx, max) in [
            (
                "value",
                UnsignedTx {
                    value: 1 << 112,
                    ..utx.clone()
                },
                (1u128 << 112) - 1,
            ),
            (
                "gas_limit",
                UnsignedTx {
                    gas_limit: 1 << 24,
                    ..utx.clone()
                },
                (1 << 24) - 1,
            ),
            (
                "gas_price",
                UnsignedTx {
                    gas_price: 1 << 40,
                    ..utx.clone()
                },
                (1 << 40) - 1,
            ),
        ] {
            let value = match field {
                "value" => tx.value,
                "gas_limit" => tx.gas_limit.into(),
                _ => tx.gas_price.into(),
            };
            assert_eq!(
                check_settleable(&tx),
                Err(SettlementError::FieldTooWide { field, value, max })
            );
            assert_eq!(
                TransferOp::from_raw(&tx.sign(&key).unwrap(), 1, 2),
                Err(SettlementError::FieldTooWide { field, value, max })
            );
        }
        // The largest values that fit round-trip.
        let widest = UnsignedTx {
            value: (1 << 112) - 1,
            gas_limit: (1 << 24) - 1,
            gas_price: (1 << 40) - 1,
            ..utx.clone()
        };
        let op = TransferOp::from_raw(&widest.sign(&key).unwrap(), 1, 2).unwrap();
        let back = Op::decode(&Op::Transfer(op).encode()).unwrap();
        assert_eq!(back, Op::Transfer(op));
        assert_eq!(op.recover(to, 42).unwrap(), signer);
        assert!(matches!(
            TransferOp::from_raw(&[0; 3], 1, 2),
            Err(SettlementError::Tx(TxError::TooShort { .. }))
        ));
        assert_eq!(
            TransferOp::from_raw(&utx.sign(&key).unwrap(), 1 << 24, 2),
            Err(SettlementError::SlotTooLarge { slot: 1 << 24 })
        );
        // Token 9 (unknown to the engine) still fits an op's 4 token bits when built from the
        // signed fields, so a lying batch's unknown token can be proven; 16 does not fit.
        let mut t9 = utx.clone();
        t9.token = 9;
        let (sig, v) = tx::sign_hash(&key, &keccak256(t9.encode().unwrap())).unwrap();
        let op = TransferOp::from_signed(&t9, &sig, v, 1, 2).unwrap();
        assert_eq!(op.token, 9);
        assert_eq!(
            Op::decode(&Op::Transfer(op).encode()).unwrap(),
            Op::Transfer(op)
        );
        assert_eq!(op.recover(to, 42).unwrap(), signer);
        t9.token = 16;
        assert_eq!(
            TransferOp::from_signed(&t9, &sig, v, 1, 2),
            Err(SettlementError::TokenTooLarge { token: 16 })
        );
        // Withdrawal op: the L1 recipient is the recipient slot's address.
        let l1 = Address::repeat_byte(3);
        let w = tx::UnsignedWithdrawal {
            l1_recipient: l1,
            token: 0,
            amount: 7,
            nonce: 42,
        };
        let wop = WithdrawalOp::from_raw(&w.sign(&key).unwrap(), 1, 4).unwrap();
        assert_eq!(wop.recover(l1, 42).unwrap(), signer);
        assert_ne!(wop.recover(l1, 43).ok(), Some(signer));
        assert_ne!(wop.recover(to, 42).ok(), Some(signer));
    }

    #[test]
    fn step_state_commitment() {
        let s = StepState {
            state_root: B256::repeat_byte(1),
            account_count: 0x0102,
            withdrawals_root: B256::repeat_byte(2),
            withdrawal_count: 3,
            deposit_cursor: 4,
        };
        let b = s.encode();
        let mut expect = Vec::new();
        expect.extend_from_slice(&[1; 32]);
        expect.extend_from_slice(&0x0102u64.to_be_bytes());
        expect.extend_from_slice(&[2; 32]);
        expect.extend_from_slice(&3u32.to_be_bytes());
        expect.extend_from_slice(&4u64.to_be_bytes());
        assert_eq!(b.as_slice(), expect.as_slice());
        assert_eq!(s.hash(), keccak256(&expect));
        assert_eq!(&s.commitment()[..], &s.hash()[..31]);
        assert_eq!(empty_withdrawals_root(), roots::zero_hashes(16)[16]);
        let g = StepState::genesis(4, Address::repeat_byte(0xfe));
        assert_eq!(g.account_count, 1);
        assert_eq!(g.withdrawals_root, empty_withdrawals_root());
    }

    #[test]
    fn data_commitment_and_openings() {
        let base = sample_records();
        for n in [0usize, 1, 2, 3, 4, 5, 8, 9] {
            let recs: Vec<RecordBytes> = (0..n)
                .map(|i| {
                    let mut r = base[i % base.len()];
                    r.commitment[0] = i as u8;
                    r.encode()
                })
                .collect();
            let c = data_commitment(&recs);
            let leaves: Vec<B256> = recs.iter().map(keccak256).collect();
            assert_eq!(c, roots::padded_root(&leaves));
            for i in 0..n {
                let sib = record_siblings(&recs, i);
                assert_eq!(sib.len() as u32, padded_depth(n));
                assert!(verify_record_opening(&c, &recs[i], i as u64, &sib));
                let mut bad = recs[i];
                bad[RECORD_LEN - 1] ^= 1;
                assert!(!verify_record_opening(&c, &bad, i as u64, &sib));
                // The ABI openings carry exactly those siblings.
                let o = record_opening(&recs, i);
                let decoded = <(Vec<B256>,)>::abi_decode_params(&o.proof).unwrap();
                assert_eq!(decoded.0, sib);
                let co = commitment_opening(&recs, i);
                let (op, s2) =
                    <(alloy_primitives::Bytes, Vec<B256>)>::abi_decode_params(&co.proof).unwrap();
                assert_eq!(&op[..], &recs[i][..OP_LEN]);
                assert_eq!(s2, sib);
                assert_eq!(co.commitment.as_slice(), &recs[i][OP_LEN..]);
            }
        }
        assert_eq!(data_commitment(&[]), B256::ZERO);
    }

    #[test]
    fn blob_layout() {
        let base = sample_records();
        let n = RECORDS_PER_BLOB + 3;
        let recs: Vec<RecordBytes> = (0..n)
            .map(|i| {
                let mut r = base[i % base.len()];
                r.commitment = [0xff; 31];
                r.commitment[0] = (i % 251) as u8;
                r.commitment[1] = (i / 251) as u8;
                r.encode()
            })
            .collect();
        assert_eq!(blob_count(0), 0);
        assert_eq!(blob_count(1), 1);
        assert_eq!(blob_count(1024), 1);
        assert_eq!(blob_count(1025), 2);
        let blobs = pack_blobs(&recs);
        assert_eq!(blobs.len(), 2);
        assert!(pack_blobs(&[]).is_empty());
        for (j, rec) in recs.iter().enumerate() {
            let blob = &blobs[j / RECORDS_PER_BLOB];
            for k in 0..4 {
                let e = 4 * (j % RECORDS_PER_BLOB) + k;
                let el = blob_element(blob, e);
                assert_eq!(el[0], 0);
                assert_eq!(&el[1..], &rec[31 * k..31 * k + 31]);
            }
        }
        for blob in &blobs {
            for e in 0..ELEMENTS_PER_BLOB {
                let el = U256::from_be_bytes(blob_element(blob, e));
                assert!(el < BLS_MODULUS);
            }
        }
        // A full blob uses every element: the last one is record 1,023's commitment.
        assert_eq!(&blob_element(&blobs[0], 4095)[1..], &recs[1023][OP_LEN..]);
        // An all-0xff record still packs below the modulus.
        let full = [[0xffu8; RECORD_LEN]];
        let b = pack_blobs(&full);
        for e in 0..4 {
            assert!(U256::from_be_bytes(blob_element(&b[0], e)) < BLS_MODULUS);
        }
        // Unused elements of the last blob are zero.
        assert!(blobs[1][32 * 12..].iter().all(|&x| x == 0));
        assert_eq!(unpack_blobs(&blobs, n), recs);
        // A packed batch has no malformed element; a proposer's non-zero first byte is found.
        assert!(malformed_elements(&blobs, n).is_empty());
        let mut lying = blobs.clone();
        lying[1][32 * (ELEMENTS_PER_RECORD + 3)] = 0x01; // record 1025, element 3
        assert_eq!(
            malformed_elements(&lying, n),
            vec![(RECORDS_PER_BLOB + 1, 3)]
        );
        assert_eq!(
            unpack_blobs(&lying, n),
            recs,
            "the byte unpack drops is what L1 cannot open"
        );
    }

    #[test]
    fn header_and_record_hash_by_hand() {
        let h = abi::BatchHeader {
            number: 7,
            prevStateRoot: B256::repeat_byte(0x11),
            prevAccountCount: 2,
            prevDepositCursor: 3,
            stateRoot: B256::repeat_byte(0x22),
            accountCount: 4,
            depositCursor: 5,
            withdrawalsRoot: B256::repeat_byte(0x33),
            withdrawalCount: 6,
            opCount: 8,
            dataMode: 1,
            dataCommitment: B256::repeat_byte(0x44),
        };
        fn word_u(v: u64) -> [u8; 32] {
            let mut w = [0u8; 32];
            w[24..].copy_from_slice(&v.to_be_bytes());
            w
        }
        let mut expect = Vec::new();
        expect.extend_from_slice(&word_u(7));
        expect.extend_from_slice(&[0x11; 32]);
        expect.extend_from_slice(&word_u(2));
        expect.extend_from_slice(&word_u(3));
        expect.extend_from_slice(&[0x22; 32]);
        expect.extend_from_slice(&word_u(4));
        expect.extend_from_slice(&word_u(5));
        expect.extend_from_slice(&[0x33; 32]);
        expect.extend_from_slice(&word_u(6));
        expect.extend_from_slice(&word_u(8));
        expect.extend_from_slice(&word_u(1));
        expect.extend_from_slice(&[0x44; 32]);
        assert_eq!(h.abi_encode(), expect);
        let hh = keccak256(&expect);
        assert_eq!(header_hash(&h), hh);
        let proposer = Address::repeat_byte(0x99);
        let mut rec = Vec::new();
        rec.extend_from_slice(hh.as_slice());
        rec.extend_from_slice(&[0x33; 32]);
        rec.extend_from_slice(&word_u(1234));
        let mut pw = [0u8; 32];
        pw[12..].copy_from_slice(proposer.as_slice());
        rec.extend_from_slice(&pw);
        assert_eq!(batch_record_hash(&h, 1234, proposer), keccak256(&rec));
        let br = abi::BatchRecord {
            header: h.clone(),
            submittedAt: 1234,
            proposer,
        };
        assert_eq!(record_hash(&br), keccak256(&rec));
        // A BatchRecord is static: 14 words, submittedAt at word 12, proposer at word 13 (the
        // fixtures' consumer patches them there).
        let enc = br.abi_encode();
        assert_eq!(enc.len(), 14 * 32);
        assert_eq!(&enc[12 * 32..13 * 32], &word_u(1234));
        assert_eq!(&enc[13 * 32..], &pw);
        // Header round trip through the final/start views.
        assert_eq!(header_final(&h).state_root, h.stateRoot);
        assert_eq!(header_start(&h).withdrawals_root, empty_withdrawals_root());
    }

    #[test]
    fn calls_have_the_interface_selectors() {
        use alloy_sol_types::SolCall;
        assert_eq!(
            abi::IGhostPlaneRollup::proveFinalFraudCall::SIGNATURE,
            "proveFinalFraud(((uint64,bytes32,uint64,uint64,bytes32,uint64,uint64,bytes32,uint32,uint32,uint8,bytes32),uint64,address),(uint32,bytes31,bytes))"
        );
        assert_eq!(
            abi::IGhostPlaneRollup::proveFraudCall::SELECTOR,
            keccak256(abi::IGhostPlaneRollup::proveFraudCall::SIGNATURE.as_bytes())[..4]
        );
    }

    /// Removes `//` comments and all whitespace.
    fn squash(src: &str) -> String {
        src.lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<String>()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    }

    /// `name{...}` / `functionname(...)...;` bodies of a squashed source.
    fn item(src: &str, head: &str, end: char) -> String {
        let at = src.find(head).unwrap_or_else(|| panic!("{head} missing"));
        let rest = &src[at..];
        let stop = rest
            .find(end)
            .unwrap_or_else(|| panic!("{head} unterminated"));
        rest[..=stop].to_string()
    }

    #[test]
    fn abi_restatement_matches_the_interface_file() {
        let file = squash(include_str!(
            "../../contracts/src/ghostplane/IGhostPlane.sol"
        ));
        let ours = squash(abi::SOURCE);
        for name in [
            "BatchHeader",
            "BatchRecord",
            "StepState",
            "AccountWitness",
            "RecordOpening",
            "CommitmentOpening",
            "Withdrawal",
        ] {
            let head = format!("struct{name}{{");
            assert_eq!(
                item(&ours, &head, '}'),
                item(&file, &head, '}'),
                "struct {name}"
            );
        }
        for f in [
            "submitBatch",
            "proveFraud(",
            "proveFinalFraud",
            "proveDuplicateAccount",
        ] {
            let head = format!("function{f}");
            assert_eq!(
                item(&ours, &head, ';'),
                item(&file, &head, ';'),
                "function {f}"
            );
        }
    }

    #[test]
    fn proof_calldata_roundtrips() {
        use alloy_sol_types::SolCall;
        let recs: Vec<RecordBytes> = sample_records().iter().map(Record::encode).collect();
        let start = StepState::genesis(4, Address::repeat_byte(0xfe));
        let header = batch_header(3, &start, &start, &recs);
        assert_eq!(header.opCount, 5);
        assert_eq!(header.dataMode, 0);
        assert_eq!(header.dataCommitment, data_commitment(&recs));
        let batch = unsubmitted_record(header.clone());
        let state = acct(3);
        let w = FraudWitness {
            op: record_opening(&recs, 2),
            prev: prev_opening(&recs, 2),
            pre: start,
            accounts: vec![account_witness(1, &state, vec![B256::repeat_byte(5); 4])],
            withdrawal_siblings: vec![B256::repeat_byte(6); 16],
        };
        let cd = prove_fraud_calldata(&batch, &w);
        assert_eq!(
            &cd[..4],
            abi::IGhostPlaneRollup::proveFraudCall::SELECTOR.as_slice()
        );
        // submittedAt and proposer are words 12 and 13 after the selector.
        assert!(cd[4 + 12 * 32..4 + 14 * 32].iter().all(|&b| b == 0));
        let back = abi::IGhostPlaneRollup::proveFraudCall::abi_decode(&cd).unwrap();
        assert_eq!(back.batch, batch);
        assert_eq!(back.op, w.op);
        assert_eq!(back.prev.index, 1);
        assert_eq!(back.prev.commitment.as_slice(), &recs[1][OP_LEN..]);
        assert_eq!(back.pre, start.to_abi());
        assert_eq!(back.accounts, w.accounts);
        assert_eq!(back.withdrawalSiblings, w.withdrawal_siblings);
        assert_eq!(back.op.record.as_ref(), recs[2].as_slice());
        // The first op's `prev` is an empty opening.
        let p0 = prev_opening(&recs, 0);
        assert_eq!(p0.index, 0);
        assert!(p0.proof.is_empty());
        let cd = prove_final_fraud_calldata(&batch, &recs);
        let back = abi::IGhostPlaneRollup::proveFinalFraudCall::abi_decode(&cd).unwrap();
        let last = recs.len() - 1;
        assert_eq!(back.last.index as usize, last);
        assert_eq!(back.last.commitment.as_slice(), &recs[last][OP_LEN..]);
        let (op, sib) =
            <(alloy_primitives::Bytes, Vec<B256>)>::abi_decode_params(&back.last.proof).unwrap();
        let mut rebuilt = op.to_vec();
        rebuilt.extend_from_slice(back.last.commitment.as_slice());
        assert!(verify_record_opening(
            &header.dataCommitment,
            &rebuilt,
            last as u64,
            &sib
        ));
        let cd = prove_duplicate_account_calldata(
            &batch,
            record_opening(&recs, 1),
            prev_opening(&recs, 1),
            &start,
            account_witness(2, &state, vec![B256::ZERO; 4]),
        );
        let back = abi::IGhostPlaneRollup::proveDuplicateAccountCall::abi_decode(&cd).unwrap();
        assert_eq!(back.existing.slot, 2);
        assert_eq!(back.op.index, 1);
    }

    fn acct(i: u8) -> AccountState {
        let mut balances = [0u128; TOKEN_COUNT];
        balances[0] = u128::from(i) * 1000;
        balances[3] = u128::from(i);
        AccountState {
            address: Address::repeat_byte(i),
            nonce: u64::from(i),
            balances,
        }
    }

    #[test]
    fn sequential_witnesses_recompute_post_root() {
        let depth = 5;
        let accounts: Vec<AccountState> = (1..=9).map(acct).collect();
        let leaves: Vec<B256> = accounts.iter().map(leaf_of).collect();
        let pre_root = roots::state_root(depth, &accounts);
        // Cases: (slots touched in order, whether the second creates at account_count).
        let cases: Vec<Vec<u32>> = vec![
            vec![3, 7, 0],
            vec![1, 0],
            vec![4, 9, 0], // 9 = account_count: a new account
            vec![8, 9],
            vec![0],
            vec![2, 3, 0],
        ];
        for slots in cases {
            let mut post = accounts.clone();
            let mut finals = Vec::new();
            let mut pre = Vec::new();
            for &s in &slots {
                let st = accounts.get(s as usize).copied().unwrap_or(AccountState {
                    address: Address::ZERO,
                    nonce: 0,
                    balances: [0; TOKEN_COUNT],
                });
                pre.push(PreAccount {
                    slot: s,
                    state: st,
                    siblings: roots::proof_siblings(depth, &leaves, s.into()),
                });
                let mut new = st;
                if new.address == Address::ZERO {
                    new.address = Address::repeat_byte(0xaa);
                }
                new.nonce += 1;
                new.balances[1] += 17;
                if (s as usize) < post.len() {
                    post[s as usize] = new;
                } else {
                    post.push(new);
                }
                finals.push(leaf_of(&new));
            }
            let (sibs, root) = sequential_siblings(depth, &pre, &finals).unwrap();
            let expect_root = roots::state_root(depth, &post);
            assert_eq!(root, expect_root, "slots {slots:?}");
            let updates: Vec<(u32, B256)> = slots.iter().copied().zip(finals.clone()).collect();
            let (ref_sibs, ref_root) = sequential_siblings_full(depth, &leaves, &updates);
            assert_eq!(sibs, ref_sibs);
            assert_eq!(ref_root, expect_root);
            // Contract-style check: each witness verifies against the running root, then its
            // final leaf is written with the same siblings.
            let mut running = pre_root;
            for ((p, s), f) in pre.iter().zip(&sibs).zip(&finals) {
                assert!(roots::verify_proof(&running, &p.leaf(), p.slot.into(), s));
                running = roots::proof_root(f, p.slot.into(), s);
            }
            assert_eq!(running, expect_root);
        }
        // Proofs of different roots are refused.
        let mut bad = PreAccount {
            slot: 1,
            state: accounts[1],
            siblings: roots::proof_siblings(depth, &leaves, 1),
        };
        let good = bad.clone();
        bad.siblings[2] = B256::repeat_byte(1);
        assert!(sequential_siblings(depth, &[good, bad], &[B256::ZERO, B256::ZERO]).is_err());
    }

    #[test]
    fn touched_slots_order() {
        let recs = sample_records();
        assert_eq!(recs[0].op.touched_slots(), vec![0x0001_0203]);
        assert_eq!(recs[1].op.touched_slots(), vec![3, 0x00ab_cdef, 0]);
        assert_eq!(recs[2].op.touched_slots(), vec![3, 0x0007_0809, 0]);
        assert!(recs[3].op.touched_slots().is_empty());
        assert_eq!(recs[4].op.touched_slots(), vec![0x00fe_dcba]);
        let Op::Withdrawal(mut w) = recs[2].op else {
            panic!()
        };
        w.recipient_slot = 3; // to the sender's own address
        assert_eq!(Op::Withdrawal(w).touched_slots(), vec![3, 0]);
        w.recipient_slot = 0; // to the collector's
        assert_eq!(Op::Withdrawal(w).touched_slots(), vec![3, 0]);
        let Op::Transfer(mut t) = recs[1].op else {
            panic!()
        };
        t.to_slot = 3;
        assert_eq!(Op::Transfer(t).touched_slots(), vec![3, 0]);
        t.from_slot = 0;
        t.to_slot = 0;
        assert_eq!(Op::Transfer(t).touched_slots(), vec![0]);
    }
}

// ---------------------------------------------------------------------------------------------
// Blob mode: KZG commitments and openings (feature `kzg`)

/// KZG side of blob mode (feature `kzg`: c-kzg with the Ethereum trusted setup): the blobs'
/// commitments and versioned hashes, the batch's data commitment, and record openings for the
/// point-evaluation precompile at `z = ω^bitrev12(e)`.
#[cfg(feature = "kzg")]
pub mod kzg {
    use super::{
        abi, keccak256, Blob, FixedBytes, RecordBytes, SolValue, B256, BLOB_LEN,
        ELEMENTS_PER_RECORD, OP_LEN, RECORDS_PER_BLOB, U256,
    };
    use alloy_primitives::Bytes;
    use sha2::{Digest, Sha256};

    /// The BLS12-381 scalar field modulus (EIP-4844 `BLS_MODULUS`).
    pub const BLS_MODULUS: U256 = super::BLS_MODULUS;

    /// A KZG failure (a malformed blob: an element not below the modulus).
    pub type Error = c_kzg::Error;

    fn settings() -> &'static c_kzg::KzgSettings {
        c_kzg::ethereum_kzg_settings(0)
    }

    /// `ω^bitrev12(e) mod r` with `ω = 7^((r-1)/4096)`: where blob element `e` is evaluated.
    pub fn evaluation_point(e: usize) -> U256 {
        let omega = U256::from(7u64).pow_mod(
            (BLS_MODULUS - U256::from(1u64)) / U256::from(4096u64),
            BLS_MODULUS,
        );
        let k = (e as u32 & 0xfff).reverse_bits() >> 20;
        omega.pow_mod(U256::from(k), BLS_MODULUS)
    }

    /// EIP-4844 versioned hash of a commitment: `0x01 || sha256(commitment)[1..]`.
    pub fn versioned_hash(commitment: &[u8; 48]) -> B256 {
        let mut h: [u8; 32] = Sha256::digest(commitment).into();
        h[0] = 0x01;
        B256::from(h)
    }

    /// The blobs of a blob-mode batch with their KZG commitments.
    pub struct BlobBatch {
        /// Packed records (`pack_blobs`).
        pub blobs: Vec<Blob>,
        /// One 48-byte commitment per blob.
        pub commitments: Vec<[u8; 48]>,
        /// One versioned hash per blob, in blob order (what BLOBHASH returns).
        pub versioned_hashes: Vec<B256>,
    }

    impl BlobBatch {
        /// Packs `records` and commits to every blob.
        pub fn new(records: &[RecordBytes]) -> Result<Self, Error> {
            let blobs = super::pack_blobs(records);
            let mut commitments = Vec::with_capacity(blobs.len());
            for blob in &blobs {
                let c = settings().blob_to_kzg_commitment(&c_kzg::Blob::from_bytes(blob)?)?;
                commitments.push(*c.to_bytes().as_ref());
            }
            let versioned_hashes = commitments.iter().map(versioned_hash).collect();
            Ok(Self {
                blobs,
                commitments,
                versioned_hashes,
            })
        }

        /// `dataCommitment` of the header: keccak256 of the versioned hashes, concatenated.
        pub fn data_commitment(&self) -> B256 {
            keccak256(
                self.versioned_hashes
                    .iter()
                    .flat_map(|h| h.0)
                    .collect::<Vec<u8>>(),
            )
        }

        /// The blob-sidecar proofs (`compute_blob_kzg_proof`) a type-3 transaction carries.
        pub fn blob_proofs(&self) -> Result<Vec<[u8; 48]>, Error> {
            self.blobs
                .iter()
                .zip(&self.commitments)
                .map(|(blob, c)| {
                    let p = settings().compute_blob_kzg_proof(
                        &c_kzg::Blob::from_bytes(blob)?,
                        &c_kzg::Bytes48::from_bytes(c)?,
                    )?;
                    Ok(*p.to_bytes().as_ref())
                })
                .collect()
        }

        /// KZG proof that element `e` of blob `b` is what it is.
        fn element_proof(&self, b: usize, e: usize) -> Result<Bytes, Error> {
            let z = c_kzg::Bytes32::new(evaluation_point(e).to_be_bytes());
            let (proof, y) =
                settings().compute_kzg_proof(&c_kzg::Blob::from_bytes(&self.blobs[b])?, &z)?;
            debug_assert_eq!(y.as_slice(), &self.blobs[b][32 * e..32 * e + 32]);
            Ok(Bytes::copy_from_slice(proof.to_bytes().as_ref()))
        }

        /// Blob-mode `RecordOpening` of record `index`: `proof = abi.encode(bytes32[]
        /// versionedHashes, bytes commitment, bytes[5] kzgProofs)`.
        pub fn record_opening(
            &self,
            records: &[RecordBytes],
            index: usize,
        ) -> Result<abi::RecordOpening, Error> {
            let (b, first) = (
                index / RECORDS_PER_BLOB,
                ELEMENTS_PER_RECORD * (index % RECORDS_PER_BLOB),
            );
            let proofs = (0..ELEMENTS_PER_RECORD)
                .map(|k| self.element_proof(b, first + k))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(abi::RecordOpening {
                index: index as u32,
                record: records[index].to_vec().into(),
                proof: (
                    self.versioned_hashes.clone(),
                    Bytes::copy_from_slice(&self.commitments[b]),
                    proofs,
                )
                    .abi_encode_params()
                    .into(),
            })
        }

        /// Blob-mode `CommitmentOpening` of record `index` (its last element, the commitment, only):
        /// `proof = abi.encode(bytes32[] versionedHashes, bytes commitment, bytes kzgProof)`.
        pub fn commitment_opening(
            &self,
            records: &[RecordBytes],
            index: usize,
        ) -> Result<abi::CommitmentOpening, Error> {
            let (b, first) = (
                index / RECORDS_PER_BLOB,
                ELEMENTS_PER_RECORD * (index % RECORDS_PER_BLOB),
            );
            let proof = self.element_proof(b, first + ELEMENTS_PER_RECORD - 1)?;
            Ok(abi::CommitmentOpening {
                index: index as u32,
                commitment: FixedBytes::<31>::from_slice(&records[index][OP_LEN..]),
                proof: (
                    self.versioned_hashes.clone(),
                    Bytes::copy_from_slice(&self.commitments[b]),
                    proof,
                )
                    .abi_encode_params()
                    .into(),
            })
        }
    }

    const _: () = assert!(BLOB_LEN == c_kzg::BYTES_PER_BLOB);

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn evaluation_points_are_the_bit_reversed_roots_of_unity() {
            assert_eq!(evaluation_point(0), U256::from(1u64));
            // bitrev12(1) = 2048: ω^2048 = -1.
            assert_eq!(evaluation_point(1), BLS_MODULUS - U256::from(1u64));
            let w = evaluation_point(1 << 11); // bitrev12(2048) = 1: ω itself
            assert_eq!(
                w.pow_mod(U256::from(4096u64), BLS_MODULUS),
                U256::from(1u64)
            );
            assert_ne!(
                w.pow_mod(U256::from(2048u64), BLS_MODULUS),
                U256::from(1u64)
            );
        }

        #[test]
        fn openings_verify_with_the_trusted_setup_and_fail_for_another_value() {
            let records: Vec<RecordBytes> = (0..RECORDS_PER_BLOB + 3)
                .map(|j| core::array::from_fn(|k| (j * 7 + k * 13) as u8))
                .collect();
            let batch = BlobBatch::new(&records).expect("commit");
            assert_eq!(batch.blobs.len(), 2);
            for index in [0, 1, RECORDS_PER_BLOB - 1, RECORDS_PER_BLOB + 2] {
                let b = index / RECORDS_PER_BLOB;
                let first = ELEMENTS_PER_RECORD * (index % RECORDS_PER_BLOB);
                let opening = batch.record_opening(&records, index).expect("open");
                let (hashes, commitment, proofs) =
                    <(Vec<B256>, Bytes, Vec<Bytes>)>::abi_decode_params(&opening.proof)
                        .expect("decode");
                assert_eq!(hashes, batch.versioned_hashes);
                assert_eq!(
                    versioned_hash(commitment.as_ref().try_into().expect("48")),
                    hashes[b]
                );
                for (k, proof) in proofs.iter().enumerate() {
                    let e = first + k;
                    let z = c_kzg::Bytes32::new(evaluation_point(e).to_be_bytes());
                    let mut y = [0u8; 32];
                    y[1..].copy_from_slice(&records[index][31 * k..31 * k + 31]);
                    let c = c_kzg::Bytes48::from_bytes(&commitment).expect("c");
                    let p = c_kzg::Bytes48::from_bytes(proof).expect("p");
                    assert!(settings()
                        .verify_kzg_proof(&c, &z, &c_kzg::Bytes32::new(y), &p)
                        .expect("verify"));
                    y[31] ^= 1;
                    assert!(!settings()
                        .verify_kzg_proof(&c, &z, &c_kzg::Bytes32::new(y), &p)
                        .expect("verify"));
                }
            }
        }
    }
}
