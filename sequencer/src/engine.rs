//! [`Engine`]: the safe API over the GhostPlane engine. It owns the handle (dropped with
//! `ghostplane_deinit`), converts alloy types to the ABI, refuses bad inputs before crossing, and
//! maps every engine error code to one [`EngineError`] variant.

use crate::{
    error::{EngineError, Result},
    ffi::{self, ErrorCode, FfiResult},
    TOKEN_COUNT, TX_DATA_MAX,
};

/// Most withdrawals a batch can hold (the withdrawals tree has depth 16).
pub const WITHDRAWALS_MAX: u32 = 1 << crate::roots::WITHDRAWALS_DEPTH;
use alloy_primitives::{Address, B256};

/// Engine configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// State tree depth (capacity `2^accounts_depth` accounts), 1..=24.
    pub accounts_depth: u32,
    /// Transactions per batch at most.
    pub batch_transactions_max: u32,
    /// Withdrawals per batch at most.
    pub batch_withdrawals_max: u32,
    /// Fee charged per applied transaction and withdrawal, in GCC units.
    pub base_fee: u128,
    /// Recipient of the fees.
    pub fee_collector: Address,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            accounts_depth: 20,
            batch_transactions_max: 8190,
            batch_withdrawals_max: 1024,
            base_fee: 1_000_000_000_000_000,
            fee_collector: Address::repeat_byte(0xfe),
        }
    }
}

/// A transaction ready for the engine: sender already recovered, hash already computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Transaction hash (its transactions-root leaf).
    pub hash: B256,
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Amount of `token`.
    pub value: u128,
    /// Token id, below [`TOKEN_COUNT`].
    pub token: u32,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas price.
    pub gas_price: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Call data, at most [`TX_DATA_MAX`] bytes.
    pub data: Vec<u8>,
}

/// A withdrawal request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawal {
    /// L2 account debited.
    pub from: Address,
    /// L1 recipient.
    pub l1_recipient: Address,
    /// Token id.
    pub token: u32,
    /// Amount.
    pub amount: u128,
    /// Sender nonce.
    pub nonce: u64,
}

/// Header of a sealed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchHeader {
    /// Batch number (0-based).
    pub batch_number: u64,
    /// Applied transactions.
    pub transaction_count: u32,
    /// Recorded withdrawals.
    pub withdrawal_count: u32,
    /// Accounts with a slot.
    pub account_count: u64,
    /// State root after the batch.
    pub state_root: B256,
    /// Transactions root.
    pub transactions_root: B256,
    /// Withdrawals root (of the batch's depth-16 withdrawals tree).
    pub withdrawals_root: B256,
    /// L1 deposits consumed since genesis, after the batch.
    pub deposit_cursor: u64,
    /// Ops of the batch: deposits + refunds + transactions + withdrawals.
    pub op_count: u32,
}

/// What [`Engine::deposit_l1`] did with the L1 deposit it consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepositOutcome {
    /// Credited to the L2 account.
    Credited,
    /// The account could not be created (accounts full): a refund op recorded a withdrawal of
    /// the amount to the L1 sender.
    Refunded,
}

/// Post-step state of one op of the last sealed batch (SPEC "Step state after every op").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// State root after the op.
    pub state_root: B256,
    /// Withdrawals root of the batch after the op.
    pub withdrawals_root: B256,
    /// Accounts with a slot after the op.
    pub account_count: u64,
    /// L1 deposits consumed since genesis after the op.
    pub deposit_cursor: u64,
    /// Withdrawals of the batch after the op.
    pub withdrawal_count: u32,
    /// Op kind: 1 deposit, 2 transfer, 3 withdrawal, 4 refund, 5 register.
    pub kind: u32,
    /// Step commitment `c_i` (first 31 bytes of the step hash).
    pub commitment: [u8; 31],
}

/// State of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountInfo {
    /// Slot index in the state tree.
    pub slot: u64,
    /// Nonce.
    pub nonce: u64,
    /// Balances by token id.
    pub balances: [u128; TOKEN_COUNT],
}

/// A Merkle proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleProof {
    /// Leaf index.
    pub leaf_index: u64,
    /// The leaf.
    pub leaf: B256,
    /// The root proven against.
    pub root: B256,
    /// Siblings, bottom-up.
    pub siblings: Vec<B256>,
}

/// Per-transaction outcome of a batched submission.
pub type TxOutcome = std::result::Result<(), EngineError>;

/// The values of the call being made, to put the offending value into an error.
#[derive(Debug, Default, Clone, Copy)]
struct Ctx {
    nonce: u64,
    token: u32,
    len: u64,
    gas_limit: u64,
    gas_price: u64,
    from: Address,
    amount: u128,
    index: u32,
    deposit_index: u64,
}

impl Ctx {
    fn tx(tx: &Transaction) -> Self {
        Self {
            nonce: tx.nonce,
            token: tx.token,
            len: tx.data.len() as u64,
            gas_limit: tx.gas_limit,
            gas_price: tx.gas_price,
            from: tx.from,
            amount: tx.value,
            index: 0,
            deposit_index: 0,
        }
    }

    /// Maps an error code (non-zero) to its variant.
    fn error(self, code: u32, detail: String) -> EngineError {
        let Some(code_enum) = ErrorCode::from_u32(code) else {
            return EngineError::UnknownCode { code, detail };
        };
        match code_enum {
            ErrorCode::Ok => EngineError::UnknownCode { code, detail },
            ErrorCode::NullPointer => EngineError::NullPointer { detail },
            ErrorCode::InvalidHandle => EngineError::InvalidHandle { detail },
            ErrorCode::BadNonce => EngineError::BadNonce {
                nonce: self.nonce,
                detail,
            },
            ErrorCode::UnknownToken => EngineError::UnknownToken {
                token: self.token,
                detail,
            },
            ErrorCode::DataTooLong => EngineError::DataTooLong {
                len: self.len,
                detail,
            },
            ErrorCode::FeeTooLow => EngineError::FeeTooLow {
                gas_limit: self.gas_limit,
                gas_price: self.gas_price,
                detail,
            },
            ErrorCode::InsufficientBalance => EngineError::InsufficientBalance {
                from: self.from,
                amount: self.amount,
                detail,
            },
            ErrorCode::InsufficientFeeBalance => EngineError::InsufficientFeeBalance {
                from: self.from,
                detail,
            },
            ErrorCode::BalanceOverflow => EngineError::BalanceOverflow {
                account: self.from,
                detail,
            },
            ErrorCode::AccountsFull => EngineError::AccountsFull { detail },
            ErrorCode::BatchFull => EngineError::BatchFull { detail },
            ErrorCode::WithdrawalsFull => EngineError::WithdrawalsFull { detail },
            ErrorCode::AccountNotFound => EngineError::AccountNotFound {
                account: self.from,
                detail,
            },
            ErrorCode::WithdrawalNotFound => EngineError::WithdrawalNotFound {
                index: self.index,
                detail,
            },
            ErrorCode::OutOfMemory => EngineError::OutOfMemory { detail },
            ErrorCode::InvalidConfig => EngineError::InvalidConfig { detail },
            ErrorCode::ZeroAmount => EngineError::ZeroAmount { detail },
            ErrorCode::BadDepositIndex => EngineError::BadDepositIndex {
                index: self.deposit_index,
                detail,
            },
            ErrorCode::StepNotFound => EngineError::StepNotFound {
                index: self.index,
                detail,
            },
        }
    }

    fn check(self, r: FfiResult) -> Result<FfiResult> {
        if r.success == 1 && r.error_code == 0 {
            Ok(r)
        } else {
            Err(self.error(r.error_code, r.message()))
        }
    }
}

/// The GhostPlane engine. Owns its handle; `Send` (it can move to the sequencer's thread) but not
/// `Sync`: every call takes `&mut self`.
#[derive(Debug)]
pub struct Engine {
    raw: ffi::RawEngine,
    config: EngineConfig,
    /// Reused per batched submission (the codes buffer holds no pointers, so `Engine` stays
    /// `Send`; the `FfiTransaction` array is built per call).
    scratch_codes: Vec<u32>,
}

impl Engine {
    /// Creates an engine (allocates all its memory up front).
    pub fn new(config: EngineConfig) -> Result<Self> {
        if !(1..=24).contains(&config.accounts_depth) {
            return Err(EngineError::ConfigOutOfRange {
                field: "accounts_depth",
                value: config.accounts_depth.into(),
            });
        }
        if config.batch_transactions_max == 0 {
            return Err(EngineError::ConfigOutOfRange {
                field: "batch_transactions_max",
                value: 0,
            });
        }
        if !(1..=WITHDRAWALS_MAX).contains(&config.batch_withdrawals_max) {
            return Err(EngineError::ConfigOutOfRange {
                field: "batch_withdrawals_max",
                value: config.batch_withdrawals_max.into(),
            });
        }
        Self::new_raw(config)
    }

    /// Creates an engine without the Rust-side config checks (so tests can reach the engine's own
    /// `invalid_config`).
    fn new_raw(config: EngineConfig) -> Result<Self> {
        let (lo, hi) = ffi::split(config.base_fee);
        let raw_config = ffi::FfiConfig {
            accounts_depth: config.accounts_depth,
            batch_transactions_max: config.batch_transactions_max,
            batch_withdrawals_max: config.batch_withdrawals_max,
            _reserved: 0,
            base_fee_lo: lo,
            base_fee_hi: hi,
            fee_collector: config.fee_collector.into_array(),
        };
        let raw = ffi::RawEngine::init(&raw_config)
            .map_err(|r| Ctx::default().error(r.error_code, r.message()))?;
        Ok(Self {
            raw,
            config,
            scratch_codes: Vec::new(),
        })
    }

    /// The configuration this engine was created with.
    pub const fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The engine's ABI version (one empty FFI crossing).
    pub fn version() -> u32 {
        ffi::version()
    }

    /// The dev deposit path (`ghostplane_deposit`): L1 deposit number `deposit_cursor` with the
    /// account as its own L1 sender; `AccountsFull` is an error that changes nothing.
    pub fn deposit(&mut self, account: Address, token: u32, amount: u128) -> Result<()> {
        check_token(token)?;
        if amount == 0 {
            return Err(EngineError::ZeroAmountRefused { what: "deposit" });
        }
        self.deposit_raw(account, token, amount)
    }

    /// [`Engine::deposit`] without the Rust-side refusals (tests reach the engine's checks).
    fn deposit_raw(&mut self, account: Address, token: u32, amount: u128) -> Result<()> {
        let ctx = Ctx {
            token,
            from: account,
            amount,
            ..Ctx::default()
        };
        ctx.check(self.raw.deposit(&account.into_array(), token, amount))
            .map(drop)
    }

    /// L1 deposit `index` of the portal (`ghostplane_deposit_l1`): `BadDepositIndex` unless it
    /// is the engine's deposit cursor. A deposit whose account cannot be created is consumed as
    /// a refund op (a withdrawal of the amount to `l1_sender`).
    pub fn deposit_l1(
        &mut self,
        index: u64,
        l1_sender: Address,
        account: Address,
        token: u32,
        amount: u128,
    ) -> Result<DepositOutcome> {
        check_token(token)?;
        if amount == 0 {
            return Err(EngineError::ZeroAmountRefused { what: "deposit" });
        }
        self.deposit_l1_raw(index, l1_sender, account, token, amount)
    }

    /// [`Engine::deposit_l1`] without the Rust-side refusals.
    fn deposit_l1_raw(
        &mut self,
        index: u64,
        l1_sender: Address,
        account: Address,
        token: u32,
        amount: u128,
    ) -> Result<DepositOutcome> {
        let ctx = Ctx {
            token,
            from: account,
            amount,
            deposit_index: index,
            ..Ctx::default()
        };
        let r = ctx.check(self.raw.deposit_l1(
            index,
            &l1_sender.into_array(),
            &account.into_array(),
            token,
            amount,
        ))?;
        Ok(if r.data[0] == 1 {
            DepositOutcome::Refunded
        } else {
            DepositOutcome::Credited
        })
    }

    /// Applies one transaction.
    pub fn submit_transaction(&mut self, tx: &Transaction) -> Result<()> {
        check_tx(tx)?;
        self.submit_transaction_raw(tx)
    }

    /// [`Engine::submit_transaction`] without the Rust-side refusals.
    fn submit_transaction_raw(&mut self, tx: &Transaction) -> Result<()> {
        let raw = to_ffi(tx);
        Ctx::tx(tx)
            .check(self.raw.submit_transaction(&raw, &tx.data))
            .map(drop)
    }

    /// Applies many transactions in one FFI crossing. Returns one outcome per transaction, in
    /// order; the engine stops at `batch_full`, and the transactions it did not reach are
    /// reported as `BatchFull`. Transactions refused on the Rust side are not sent (the engine
    /// sees the rest, in order).
    pub fn submit_transactions(&mut self, txs: &[Transaction]) -> Result<Vec<TxOutcome>> {
        if txs.len() > self.config.batch_transactions_max as usize {
            return Err(EngineError::TooManyTransactions {
                count: txs.len(),
                max: self.config.batch_transactions_max,
            });
        }
        let mut outcomes: Vec<TxOutcome> = Vec::with_capacity(txs.len());
        let mut sent: Vec<usize> = Vec::with_capacity(txs.len());
        let mut raw_txs: Vec<ffi::FfiTransaction> = Vec::with_capacity(txs.len());
        for (i, tx) in txs.iter().enumerate() {
            match check_tx(tx) {
                Ok(()) => {
                    raw_txs.push(to_ffi(tx));
                    sent.push(i);
                    outcomes.push(Ok(()));
                }
                Err(e) => outcomes.push(Err(e)),
            }
        }
        self.scratch_codes.clear();
        // Pre-fill with batch_full: entries the engine does not reach keep it.
        self.scratch_codes
            .resize(raw_txs.len(), ErrorCode::BatchFull as u32);
        // `raw_txs`' data pointers borrow `txs`, which outlives the call.
        let r = self
            .raw
            .submit_transactions(&raw_txs, &mut self.scratch_codes);
        drop(raw_txs);
        if r.success != 1 && r.error_code != ErrorCode::BatchFull as u32 {
            return Err(Ctx::default().error(r.error_code, r.message()));
        }
        for (k, &i) in sent.iter().enumerate() {
            let code = self.scratch_codes[k];
            if code != 0 {
                // No per-tx message crosses in a batched call; the variant's fields carry the values.
                outcomes[i] = Err(Ctx::tx(&txs[i]).error(code, String::new()));
            }
        }
        Ok(outcomes)
    }

    /// Debits `amount` + fee from `req.from` and records the withdrawal in the open batch.
    pub fn withdraw(&mut self, req: &Withdrawal) -> Result<()> {
        check_token(req.token)?;
        if req.amount == 0 {
            return Err(EngineError::ZeroAmountRefused { what: "withdrawal" });
        }
        self.withdraw_raw(req)
    }

    /// [`Engine::withdraw`] without the Rust-side refusals.
    fn withdraw_raw(&mut self, req: &Withdrawal) -> Result<()> {
        let (lo, hi) = ffi::split(req.amount);
        let raw = ffi::FfiWithdrawal {
            from: req.from.into_array(),
            l1_recipient: req.l1_recipient.into_array(),
            token: req.token,
            _pad: 0,
            amount_lo: lo,
            amount_hi: hi,
            nonce: req.nonce,
        };
        let ctx = Ctx {
            nonce: req.nonce,
            token: req.token,
            from: req.from,
            amount: req.amount,
            ..Ctx::default()
        };
        ctx.check(self.raw.withdraw(&raw)).map(drop)
    }

    /// Seals the open batch: computes its three roots and opens the next one.
    pub fn create_batch(&mut self) -> Result<BatchHeader> {
        let mut out = ffi::FfiBatchHeader::default();
        Ctx::default().check(self.raw.create_batch(&mut out))?;
        Ok(BatchHeader {
            batch_number: out.batch_number,
            transaction_count: out.transaction_count,
            withdrawal_count: out.withdrawal_count,
            account_count: out.account_count,
            state_root: B256::from(out.state_root),
            transactions_root: B256::from(out.transactions_root),
            withdrawals_root: B256::from(out.withdrawals_root),
            deposit_cursor: out.deposit_cursor,
            op_count: out.op_count,
        })
    }

    /// Post-step state of op `index` of the last sealed batch.
    pub fn step(&mut self, index: u32) -> Result<Step> {
        let mut out = ffi::FfiStep::default();
        let ctx = Ctx {
            index,
            ..Ctx::default()
        };
        ctx.check(self.raw.step(index, &mut out))?;
        let mut commitment = [0u8; 31];
        commitment.copy_from_slice(&out.commitment[..31]);
        Ok(Step {
            state_root: B256::from(out.state_root),
            withdrawals_root: B256::from(out.withdrawals_root),
            account_count: out.account_count,
            deposit_cursor: out.deposit_cursor,
            withdrawal_count: out.withdrawal_count,
            kind: out.kind,
            commitment,
        })
    }

    /// Proof of slot `slot` (used or not) against the current state root (after the last
    /// applied op, sealed or not).
    pub fn slot_proof(&mut self, slot: u32) -> Result<MerkleProof> {
        let mut out = ffi::FfiMerkleProof::default();
        Ctx::default().check(self.raw.slot_proof(slot, &mut out))?;
        Ok(proof(&out))
    }

    /// Proof of leaf `index` (< 2^16, possibly a zero leaf) of the open batch's depth-16
    /// withdrawals tree against its current root.
    pub fn open_withdrawal_proof(&mut self, index: u32) -> Result<MerkleProof> {
        let mut out = ffi::FfiMerkleProof::default();
        let ctx = Ctx {
            index,
            ..Ctx::default()
        };
        ctx.check(self.raw.open_withdrawal_proof(index, &mut out))?;
        Ok(proof(&out))
    }

    /// The state root at the last sealed batch.
    pub fn state_root(&mut self) -> Result<B256> {
        let mut out = [0u8; 32];
        Ctx::default().check(self.raw.state_root(&mut out))?;
        Ok(B256::from(out))
    }

    /// Current state of `account`, `None` if it has no slot.
    pub fn account(&mut self, account: Address) -> Result<Option<AccountInfo>> {
        let mut out = ffi::FfiAccountInfo::default();
        let ctx = Ctx {
            from: account,
            ..Ctx::default()
        };
        match ctx.check(self.raw.account(&account.into_array(), &mut out)) {
            Ok(_) if out.exists == 1 => {}
            Ok(_) | Err(EngineError::AccountNotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut balances = [0u128; TOKEN_COUNT];
        for (b, raw) in balances.iter_mut().zip(out.balances.iter()) {
            *b = ffi::join(raw.lo, raw.hi);
        }
        Ok(Some(AccountInfo {
            slot: out.slot,
            nonce: out.nonce,
            balances,
        }))
    }

    /// Proof of `account`'s leaf against the last sealed state root.
    pub fn account_proof(&mut self, account: Address) -> Result<MerkleProof> {
        let mut out = ffi::FfiMerkleProof::default();
        let ctx = Ctx {
            from: account,
            ..Ctx::default()
        };
        ctx.check(self.raw.account_proof(&account.into_array(), &mut out))?;
        Ok(proof(&out))
    }

    /// Proof of withdrawal `index` of the last sealed batch against its withdrawals root.
    pub fn withdrawal_proof(&mut self, index: u32) -> Result<MerkleProof> {
        let mut out = ffi::FfiMerkleProof::default();
        let ctx = Ctx {
            index,
            ..Ctx::default()
        };
        ctx.check(self.raw.withdrawal_proof(index, &mut out))?;
        Ok(proof(&out))
    }

    /// Test hook (`test-utils`): [`Engine::new`] without the Rust-side config checks, so tests
    /// reach the engine's own `invalid_config`.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn new_unchecked(config: EngineConfig) -> Result<Self> {
        Self::new_raw(config)
    }

    /// Test hook (`test-utils`): [`Engine::deposit`] without the Rust-side refusals.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn deposit_unchecked(&mut self, account: Address, token: u32, amount: u128) -> Result<()> {
        self.deposit_raw(account, token, amount)
    }

    /// Test hook (`test-utils`): [`Engine::deposit_l1`] without the Rust-side refusals.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn deposit_l1_unchecked(
        &mut self,
        index: u64,
        l1_sender: Address,
        account: Address,
        token: u32,
        amount: u128,
    ) -> Result<DepositOutcome> {
        self.deposit_l1_raw(index, l1_sender, account, token, amount)
    }

    /// Test hook (`test-utils`): [`Engine::submit_transaction`] without the Rust-side refusals.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn submit_transaction_unchecked(&mut self, tx: &Transaction) -> Result<()> {
        self.submit_transaction_raw(tx)
    }

    /// Test hook (`test-utils`): [`Engine::withdraw`] without the Rust-side refusals.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn withdraw_unchecked(&mut self, req: &Withdrawal) -> Result<()> {
        self.withdraw_raw(req)
    }

    /// Test hook (`test-utils`): passes a handle that is not from `ghostplane_init` to the engine
    /// (tests its own `invalid_handle` check; the safe API can never do this).
    #[cfg(any(test, feature = "test-utils"))]
    pub fn deposit_bogus_handle() -> Result<()> {
        Ctx::default()
            .check(ffi::RawEngine::deposit_bogus_handle())
            .map(drop)
    }

    /// Test hook (`test-utils`): passes a null account pointer to the engine (tests its own
    /// `null_pointer` check).
    #[cfg(any(test, feature = "test-utils"))]
    pub fn deposit_null_account(&mut self) -> Result<()> {
        Ctx::default()
            .check(self.raw.deposit_null_account())
            .map(drop)
    }
}

fn proof(out: &ffi::FfiMerkleProof) -> MerkleProof {
    let depth = (out.depth as usize).min(out.siblings.len());
    MerkleProof {
        leaf_index: out.leaf_index,
        leaf: B256::from(out.leaf),
        root: B256::from(out.root),
        siblings: out.siblings[..depth]
            .iter()
            .map(|s| B256::from(*s))
            .collect(),
    }
}

const fn check_token(token: u32) -> Result<()> {
    if token as usize >= TOKEN_COUNT {
        return Err(EngineError::TokenOutOfRange { token });
    }
    Ok(())
}

/// The Rust-side refusals for a transaction.
pub(crate) fn check_tx(tx: &Transaction) -> Result<()> {
    check_token(tx.token)?;
    if tx.data.len() > TX_DATA_MAX {
        return Err(EngineError::DataOverMax { len: tx.data.len() });
    }
    Ok(())
}

fn to_ffi(tx: &Transaction) -> ffi::FfiTransaction {
    let (lo, hi) = ffi::split(tx.value);
    ffi::FfiTransaction {
        hash: tx.hash.0,
        from: tx.from.into_array(),
        to: tx.to.into_array(),
        value_lo: lo,
        value_hi: hi,
        token: tx.token,
        _pad: 0,
        gas_limit: tx.gas_limit,
        gas_price: tx.gas_price,
        nonce: tx.nonce,
        data_ptr: if tx.data.is_empty() {
            std::ptr::null()
        } else {
            tx.data.as_ptr()
        },
        data_len: tx.data.len() as u64,
    }
}
