//! The C ABI of the GhostPlane engine (`zig/src/ffi.zig`): `#[repr(C)]` mirrors of its
//! `extern struct`s, the `extern "C"` declarations, and [`RawEngine`], a minimal safe shim that
//! owns the engine handle. This is the only module of the crate with `unsafe` code; every block
//! says why it is sound. The layouts are checked against `ghostplane_abi_layout_json()` by the
//! `abi_layout` test, so the two sides cannot drift apart.
#![allow(unsafe_code)]

use std::{ffi::CStr, marker::PhantomData, ptr::NonNull};

/// Result of every fallible engine call (`FFIResult`, 160 bytes, align 4).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiResult {
    /// 1 on success, 0 on error.
    pub success: u8,
    /// Explicit padding before `error_code`.
    pub _pad0: [u8; 3],
    /// 0 on success, else an [`ErrorCode`] value.
    pub error_code: u32,
    /// Number of meaningful bytes in `data`.
    pub data_len: u32,
    /// Explicit padding up to `data` at offset 16.
    pub _pad1: u32,
    /// Inline result (a root, a count as u64 LE, ...).
    pub data: [u8; 32],
    /// NUL-terminated UTF-8 message, written only on error.
    pub error_message: [u8; 112],
}

impl FfiResult {
    /// A zeroed result, used for out-parameter initialisation in tests.
    pub const fn zeroed() -> Self {
        Self {
            success: 0,
            _pad0: [0; 3],
            error_code: 0,
            data_len: 0,
            _pad1: 0,
            data: [0; 32],
            error_message: [0; 112],
        }
    }

    /// The error message up to its NUL (lossy on invalid UTF-8, which the engine never writes).
    pub fn message(&self) -> String {
        let end = self
            .error_message
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.error_message.len());
        String::from_utf8_lossy(&self.error_message[..end]).into_owned()
    }

    /// `data` read as a little-endian u64 (counts).
    pub fn data_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.data[..8]);
        u64::from_le_bytes(b)
    }
}

/// Error codes of the engine (`ErrorCode`, u32).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Success.
    Ok = 0,
    /// A required pointer was null.
    NullPointer = 1,
    /// The handle is not a live engine.
    InvalidHandle = 2,
    /// Transaction nonce differs from the account nonce.
    BadNonce = 3,
    /// Token id >= 8.
    UnknownToken = 4,
    /// Transaction data longer than 1024 bytes.
    DataTooLong = 5,
    /// `gas_limit * gas_price < base_fee`.
    FeeTooLow = 6,
    /// Balance does not cover the value.
    InsufficientBalance = 7,
    /// GCC balance does not cover the fee.
    InsufficientFeeBalance = 8,
    /// A balance would exceed u128.
    BalanceOverflow = 9,
    /// All 2^depth account slots are used.
    AccountsFull = 10,
    /// The open batch holds `batch_transactions_max` transactions.
    BatchFull = 11,
    /// The open batch holds `batch_withdrawals_max` withdrawals.
    WithdrawalsFull = 12,
    /// The account has no slot.
    AccountNotFound = 13,
    /// No withdrawal at that index in the last sealed batch.
    WithdrawalNotFound = 14,
    /// Allocation failed at init.
    OutOfMemory = 15,
    /// Config out of range.
    InvalidConfig = 16,
    /// Zero deposit or withdrawal amount.
    ZeroAmount = 17,
    /// An L1 deposit whose index is not the engine's deposit cursor.
    BadDepositIndex = 18,
    /// No op at that index in the last sealed batch.
    StepNotFound = 19,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [Self; 20] = [
        Self::Ok,
        Self::NullPointer,
        Self::InvalidHandle,
        Self::BadNonce,
        Self::UnknownToken,
        Self::DataTooLong,
        Self::FeeTooLow,
        Self::InsufficientBalance,
        Self::InsufficientFeeBalance,
        Self::BalanceOverflow,
        Self::AccountsFull,
        Self::BatchFull,
        Self::WithdrawalsFull,
        Self::AccountNotFound,
        Self::WithdrawalNotFound,
        Self::OutOfMemory,
        Self::InvalidConfig,
        Self::ZeroAmount,
        Self::BadDepositIndex,
        Self::StepNotFound,
    ];

    /// The code for a raw value, `None` for values the engine does not define.
    pub fn from_u32(v: u32) -> Option<Self> {
        Self::ALL.get(usize::try_from(v).ok()?).copied()
    }

    /// The snake_case name used by the Zig side and its layout JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NullPointer => "null_pointer",
            Self::InvalidHandle => "invalid_handle",
            Self::BadNonce => "bad_nonce",
            Self::UnknownToken => "unknown_token",
            Self::DataTooLong => "data_too_long",
            Self::FeeTooLow => "fee_too_low",
            Self::InsufficientBalance => "insufficient_balance",
            Self::InsufficientFeeBalance => "insufficient_fee_balance",
            Self::BalanceOverflow => "balance_overflow",
            Self::AccountsFull => "accounts_full",
            Self::BatchFull => "batch_full",
            Self::WithdrawalsFull => "withdrawals_full",
            Self::AccountNotFound => "account_not_found",
            Self::WithdrawalNotFound => "withdrawal_not_found",
            Self::OutOfMemory => "out_of_memory",
            Self::InvalidConfig => "invalid_config",
            Self::ZeroAmount => "zero_amount",
            Self::BadDepositIndex => "bad_deposit_index",
            Self::StepNotFound => "step_not_found",
        }
    }
}

/// Engine configuration (`Config`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiConfig {
    /// State tree depth, 1..=24.
    pub accounts_depth: u32,
    /// Transactions per batch at most.
    pub batch_transactions_max: u32,
    /// Withdrawals per batch at most.
    pub batch_withdrawals_max: u32,
    /// Reserved, zero.
    pub _reserved: u32,
    /// Base fee, low 64 bits.
    pub base_fee_lo: u64,
    /// Base fee, high 64 bits.
    pub base_fee_hi: u64,
    /// Recipient of fees.
    pub fee_collector: [u8; 20],
}

/// An L2 transaction as the engine takes it (`Transaction`, 136 bytes, align 8).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiTransaction {
    /// Transaction hash (a transactions-root leaf).
    pub hash: [u8; 32],
    /// Sender (already recovered).
    pub from: [u8; 20],
    /// Recipient.
    pub to: [u8; 20],
    /// Value, low 64 bits.
    pub value_lo: u64,
    /// Value, high 64 bits.
    pub value_hi: u64,
    /// Token id.
    pub token: u32,
    /// Padding, zero.
    pub _pad: u32,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas price.
    pub gas_price: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Call data (borrowed for the duration of the call only), null when empty.
    pub data_ptr: *const u8,
    /// Length of `data_ptr`.
    pub data_len: u64,
}

/// A withdrawal request (`Withdrawal`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiWithdrawal {
    /// L2 account debited.
    pub from: [u8; 20],
    /// L1 recipient.
    pub l1_recipient: [u8; 20],
    /// Token id.
    pub token: u32,
    /// Padding, zero.
    pub _pad: u32,
    /// Amount, low 64 bits.
    pub amount_lo: u64,
    /// Amount, high 64 bits.
    pub amount_hi: u64,
    /// Sender nonce.
    pub nonce: u64,
}

/// A sealed batch's header (`BatchHeader`, 136 bytes, align 8).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FfiBatchHeader {
    /// Batch number (0-based).
    pub batch_number: u64,
    /// Applied transactions.
    pub transaction_count: u32,
    /// Recorded withdrawals.
    pub withdrawal_count: u32,
    /// Accounts with a slot.
    pub account_count: u64,
    /// State root after the batch.
    pub state_root: [u8; 32],
    /// Transactions root.
    pub transactions_root: [u8; 32],
    /// Withdrawals root.
    pub withdrawals_root: [u8; 32],
    /// L1 deposits consumed since genesis, after the batch.
    pub deposit_cursor: u64,
    /// Ops of the batch (deposits + refunds + transactions + withdrawals).
    pub op_count: u32,
    /// Padding, zero.
    pub _pad2: u32,
}

/// Post-step state of one op of the last sealed batch (`Step`, 120 bytes, align 8).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FfiStep {
    /// State root after the op.
    pub state_root: [u8; 32],
    /// Root of the batch's depth-16 withdrawals tree after the op.
    pub withdrawals_root: [u8; 32],
    /// Accounts with a slot after the op.
    pub account_count: u64,
    /// L1 deposits consumed since genesis after the op.
    pub deposit_cursor: u64,
    /// Withdrawals of the batch after the op.
    pub withdrawal_count: u32,
    /// Op kind: 1 deposit, 2 transfer, 3 withdrawal, 4 refund, 5 register.
    pub kind: u32,
    /// The step commitment `c_i` in bytes 0..31, byte 31 zero.
    pub commitment: [u8; 32],
}

/// One u128 as two u64 halves (`{lo, hi}`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FfiU128 {
    /// Low 64 bits.
    pub lo: u64,
    /// High 64 bits.
    pub hi: u64,
}

/// Account state (`AccountInfo`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FfiAccountInfo {
    /// 1 when the account has a slot.
    pub exists: u8,
    /// Padding.
    pub _pad: [u8; 7],
    /// Slot index.
    pub slot: u64,
    /// Nonce.
    pub nonce: u64,
    /// Balances by token id.
    pub balances: [FfiU128; 8],
}

/// A Merkle proof (`MerkleProof`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FfiMerkleProof {
    /// Leaf index.
    pub leaf_index: u64,
    /// Number of meaningful siblings.
    pub depth: u32,
    /// Padding.
    pub _pad: u32,
    /// The leaf.
    pub leaf: [u8; 32],
    /// The root proven against.
    pub root: [u8; 32],
    /// Siblings bottom-up.
    pub siblings: [[u8; 32]; 32],
}

/// The engine behind the opaque handle.
#[repr(C)]
pub struct GpEngine {
    _opaque: [u8; 0],
    _marker: PhantomData<(*mut u8, std::marker::PhantomPinned)>,
}

extern "C" {
    fn ghostplane_init(config: *const FfiConfig, out_handle: *mut *mut GpEngine) -> FfiResult;
    fn ghostplane_deinit(handle: *mut GpEngine);
    fn ghostplane_version() -> u32;
    fn ghostplane_deposit(
        handle: *mut GpEngine,
        account: *const [u8; 20],
        token: u32,
        amount_lo: u64,
        amount_hi: u64,
    ) -> FfiResult;
    fn ghostplane_deposit_l1(
        handle: *mut GpEngine,
        index: u64,
        l1_sender: *const [u8; 20],
        account: *const [u8; 20],
        token: u32,
        amount_lo: u64,
        amount_hi: u64,
    ) -> FfiResult;
    fn ghostplane_step(handle: *mut GpEngine, index: u32, out: *mut FfiStep) -> FfiResult;
    fn ghostplane_slot_proof(
        handle: *mut GpEngine,
        slot: u32,
        out: *mut FfiMerkleProof,
    ) -> FfiResult;
    fn ghostplane_open_withdrawal_proof(
        handle: *mut GpEngine,
        index: u32,
        out: *mut FfiMerkleProof,
    ) -> FfiResult;
    fn ghostplane_submit_transaction(handle: *mut GpEngine, tx: *const FfiTransaction)
        -> FfiResult;
    fn ghostplane_submit_transactions(
        handle: *mut GpEngine,
        txs: *const FfiTransaction,
        count: u32,
        out_codes: *mut u32,
    ) -> FfiResult;
    fn ghostplane_withdraw(handle: *mut GpEngine, req: *const FfiWithdrawal) -> FfiResult;
    fn ghostplane_create_batch(handle: *mut GpEngine, out: *mut FfiBatchHeader) -> FfiResult;
    fn ghostplane_get_state_root(handle: *mut GpEngine, out: *mut [u8; 32]) -> FfiResult;
    fn ghostplane_get_account(
        handle: *mut GpEngine,
        account: *const [u8; 20],
        out: *mut FfiAccountInfo,
    ) -> FfiResult;
    fn ghostplane_account_proof(
        handle: *mut GpEngine,
        account: *const [u8; 20],
        out: *mut FfiMerkleProof,
    ) -> FfiResult;
    fn ghostplane_withdrawal_proof(
        handle: *mut GpEngine,
        index: u32,
        out: *mut FfiMerkleProof,
    ) -> FfiResult;
    fn ghostplane_abi_layout_json() -> *const std::ffi::c_char;
}

/// The engine's ABI version (the empty crossing).
pub fn version() -> u32 {
    // SAFETY: takes no arguments and touches no state.
    unsafe { ghostplane_version() }
}

/// The engine's static layout description (a JSON document).
pub fn abi_layout_json() -> &'static str {
    // SAFETY: the engine returns a pointer to a static NUL-terminated string that lives for the
    // whole program; it is never freed or mutated.
    let s = unsafe { CStr::from_ptr(ghostplane_abi_layout_json()) };
    s.to_str().expect("the engine's layout JSON is ASCII")
}

/// Exclusive owner of one engine handle. All methods take `&mut self`, so calls on one engine are
/// never concurrent; `Drop` calls `ghostplane_deinit` exactly once.
#[derive(Debug)]
pub struct RawEngine {
    handle: NonNull<GpEngine>,
}

// SAFETY: the engine is plain heap memory owned through this handle: it keeps no thread-local
// state and no pointer to caller memory after a call returns (SPEC.md), so moving the owner to
// another thread is sound. It is deliberately not `Sync`: the engine does no locking, and every
// call mutates or reads it through `&mut self`.
unsafe impl Send for RawEngine {}

impl RawEngine {
    /// `ghostplane_init`. The error is the engine's raw result (a cold path, so not boxed).
    #[allow(clippy::result_large_err)]
    pub fn init(config: &FfiConfig) -> Result<Self, FfiResult> {
        let mut handle: *mut GpEngine = std::ptr::null_mut();
        // SAFETY: `config` is a valid reference for the call and `handle` a valid out pointer;
        // the engine retains neither.
        let r = unsafe { ghostplane_init(config, &mut handle) };
        match NonNull::new(handle) {
            Some(handle) if r.success == 1 => Ok(Self { handle }),
            _ => Err(r),
        }
    }

    /// `ghostplane_deposit`.
    pub fn deposit(&mut self, account: &[u8; 20], token: u32, amount: u128) -> FfiResult {
        let (lo, hi) = split(amount);
        // SAFETY: live handle (owned, not yet deinit); `account` valid for the call.
        unsafe { ghostplane_deposit(self.handle.as_ptr(), account, token, lo, hi) }
    }

    /// `ghostplane_deposit_l1`: L1 deposit `index`; on success `data[0]` is 1 when it became a
    /// refund op, 0 when credited.
    pub fn deposit_l1(
        &mut self,
        index: u64,
        l1_sender: &[u8; 20],
        account: &[u8; 20],
        token: u32,
        amount: u128,
    ) -> FfiResult {
        let (lo, hi) = split(amount);
        // SAFETY: live handle (owned, not yet deinit); both addresses valid for the call.
        unsafe {
            ghostplane_deposit_l1(
                self.handle.as_ptr(),
                index,
                l1_sender,
                account,
                token,
                lo,
                hi,
            )
        }
    }

    /// `ghostplane_step`.
    pub fn step(&mut self, index: u32, out: &mut FfiStep) -> FfiResult {
        // SAFETY: live handle; `out` is a valid, exclusive out pointer.
        unsafe { ghostplane_step(self.handle.as_ptr(), index, out) }
    }

    /// `ghostplane_slot_proof`.
    pub fn slot_proof(&mut self, slot: u32, out: &mut FfiMerkleProof) -> FfiResult {
        // SAFETY: live handle; `out` valid.
        unsafe { ghostplane_slot_proof(self.handle.as_ptr(), slot, out) }
    }

    /// `ghostplane_open_withdrawal_proof`.
    pub fn open_withdrawal_proof(&mut self, index: u32, out: &mut FfiMerkleProof) -> FfiResult {
        // SAFETY: live handle; `out` valid.
        unsafe { ghostplane_open_withdrawal_proof(self.handle.as_ptr(), index, out) }
    }

    /// `ghostplane_submit_transaction`. `tx.data_ptr` must point to `tx.data_len` readable bytes
    /// (or be null with length 0); [`crate::engine`] builds it from a borrowed slice.
    pub fn submit_transaction(&mut self, tx: &FfiTransaction, _data: &[u8]) -> FfiResult {
        debug_assert_eq!(tx.data_len as usize, _data.len());
        // SAFETY: live handle; `tx` valid for the call and its data pointer borrows `_data`, which
        // outlives the call.
        unsafe { ghostplane_submit_transaction(self.handle.as_ptr(), tx) }
    }

    /// `ghostplane_submit_transactions`: one crossing for `txs`, per-tx codes into `out_codes`.
    /// The data pointers of `txs` must borrow memory that outlives the call (the caller's
    /// `TxBatch` keeps the bytes alive while it lends these structs).
    pub fn submit_transactions(
        &mut self,
        txs: &[FfiTransaction],
        out_codes: &mut [u32],
    ) -> FfiResult {
        assert_eq!(txs.len(), out_codes.len(), "one code slot per transaction");
        let count =
            u32::try_from(txs.len()).expect("batch length fits u32 (checked by the caller)");
        // SAFETY: live handle; `txs` and `out_codes` are valid for `count` elements for the
        // duration of the call; each data pointer is valid for its length (caller contract above).
        unsafe {
            ghostplane_submit_transactions(
                self.handle.as_ptr(),
                txs.as_ptr(),
                count,
                out_codes.as_mut_ptr(),
            )
        }
    }

    /// `ghostplane_withdraw`.
    pub fn withdraw(&mut self, req: &FfiWithdrawal) -> FfiResult {
        // SAFETY: live handle; `req` valid for the call.
        unsafe { ghostplane_withdraw(self.handle.as_ptr(), req) }
    }

    /// `ghostplane_create_batch`.
    pub fn create_batch(&mut self, out: &mut FfiBatchHeader) -> FfiResult {
        // SAFETY: live handle; `out` is a valid, exclusive out pointer.
        unsafe { ghostplane_create_batch(self.handle.as_ptr(), out) }
    }

    /// `ghostplane_get_state_root`.
    pub fn state_root(&mut self, out: &mut [u8; 32]) -> FfiResult {
        // SAFETY: live handle; `out` valid.
        unsafe { ghostplane_get_state_root(self.handle.as_ptr(), out) }
    }

    /// `ghostplane_get_account`.
    pub fn account(&mut self, account: &[u8; 20], out: &mut FfiAccountInfo) -> FfiResult {
        // SAFETY: live handle; both pointers valid for the call.
        unsafe { ghostplane_get_account(self.handle.as_ptr(), account, out) }
    }

    /// `ghostplane_account_proof`.
    pub fn account_proof(&mut self, account: &[u8; 20], out: &mut FfiMerkleProof) -> FfiResult {
        // SAFETY: live handle; both pointers valid for the call.
        unsafe { ghostplane_account_proof(self.handle.as_ptr(), account, out) }
    }

    /// `ghostplane_withdrawal_proof`.
    pub fn withdrawal_proof(&mut self, index: u32, out: &mut FfiMerkleProof) -> FfiResult {
        // SAFETY: live handle; `out` valid.
        unsafe { ghostplane_withdrawal_proof(self.handle.as_ptr(), index, out) }
    }

    /// Calls `ghostplane_deposit` with a handle that is not from `ghostplane_init` (a zeroed
    /// buffer), to test the engine's `invalid_handle` check.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn deposit_bogus_handle() -> FfiResult {
        let mut bogus = [0u64; 4];
        let account = [0u8; 20];
        // SAFETY: the engine reads only the first u64 of the handle (its magic number), which is
        // readable here, sees it is not the magic and returns `invalid_handle` without touching
        // anything else.
        unsafe { ghostplane_deposit(bogus.as_mut_ptr().cast(), &account, 0, 1, 0) }
    }

    /// Calls `ghostplane_deposit` with a null account pointer, to test the engine's own null
    /// check (the safe API never passes null).
    #[cfg(any(test, feature = "test-utils"))]
    pub fn deposit_null_account(&mut self) -> FfiResult {
        // SAFETY: live handle; the engine checks the null pointer and returns `null_pointer`
        // before dereferencing it (SPEC.md error code 1).
        unsafe { ghostplane_deposit(self.handle.as_ptr(), std::ptr::null(), 0, 1, 0) }
    }
}

impl Drop for RawEngine {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful `ghostplane_init`, is owned exclusively by
        // `self`, and is deinitialised exactly once here.
        unsafe { ghostplane_deinit(self.handle.as_ptr()) }
    }
}

/// Splits a u128 into `(lo, hi)` u64 halves as the ABI passes it.
pub const fn split(v: u128) -> (u64, u64) {
    (v as u64, (v >> 64) as u64)
}

/// Joins `(lo, hi)` u64 halves into a u128.
pub const fn join(lo: u64, hi: u64) -> u128 {
    ((hi as u128) << 64) | lo as u128
}
