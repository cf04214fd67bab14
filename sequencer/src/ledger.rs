//! The sequencer's ledger: the engine plus the ops of its open batch, so that every sealed batch
//! comes out with what L1 needs (zig/SPEC.md, "Op records"): the records in the engine's own op
//! order with the engine's step commitments, the L1 batch header, and the withdrawal leaves that
//! users finalize on L1.
//!
//! Every engine mutation goes through the ledger, under one lock held by the sequencer, so an L1
//! deposit that arrives between two transaction batches is recorded where the engine applied it.

use crate::engine::{BatchHeader, DepositOutcome, Engine, Transaction, TxOutcome, Withdrawal};
use crate::error::EngineError;
use crate::journal::{JournalEntry, JournalOp};
use crate::roots::{self, StepState, WITHDRAWALS_DEPTH};
use crate::settlement::{
    self, abi, DepositOp, Op, Record, RecordBytes, RegisterOp, SettlementError, TransferOp,
    WithdrawalOp,
};
use crate::tx::SignedWithdrawal;
use alloy_primitives::{Address, B256};

/// Why the ledger refused an op or could not seal.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The engine refused (the op changed nothing).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The op cannot be written as a settlement record (it changed nothing either: checked first).
    #[error(transparent)]
    Settlement(#[from] SettlementError),
    /// The engine and the ledger disagree about the sealed batch: a bug, never retry.
    #[error("ledger and engine disagree: {0}")]
    Diverged(String),
}

/// What L1 needs of a sealed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSettlement {
    /// The L1 header in calldata mode (blob posting sets `dataMode` 1 and the blob commitment).
    pub l1_header: abi::BatchHeader,
    /// State before the batch.
    pub start: StepState,
    /// The records, in op order.
    pub records: Vec<RecordBytes>,
    /// Withdrawal leaves of the batch (withdrawals and refunds), by leaf index.
    pub withdrawals: Vec<abi::Withdrawal>,
}

impl BatchSettlement {
    /// The 16 siblings of withdrawal `index` in the batch's withdrawals tree (what
    /// `GhostPlanePortal.finalizeWithdrawal` takes), or `None` past the batch's withdrawals.
    pub fn withdrawal_siblings(&self, index: u32) -> Option<Vec<B256>> {
        if index as usize >= self.withdrawals.len() {
            return None;
        }
        let leaves: Vec<B256> = self
            .withdrawals
            .iter()
            .map(settlement::withdrawal_leaf)
            .collect();
        Some(roots::proof_siblings(
            WITHDRAWALS_DEPTH,
            &leaves,
            index.into(),
        ))
    }
}

/// The engine and its open batch's ops.
#[derive(Debug)]
pub struct Ledger {
    engine: Engine,
    /// State at the start of the open batch.
    start: StepState,
    /// Accounts after the open batch's ops (a slot equal to it is created by the next op).
    accounts: u64,
    open: Vec<Op>,
    /// Withdrawal leaves of the open batch, without their batch number (known at seal).
    open_withdrawals: Vec<(Address, Address, u32, u128)>,
    /// The inputs of the open batch's ops, for the journal.
    open_inputs: Vec<JournalOp>,
    next_batch: u64,
}

/// A batch the ledger sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The engine's header.
    pub header: BatchHeader,
    /// What L1 needs.
    pub settlement: BatchSettlement,
    /// The inputs that rebuild it (the journal entry).
    pub inputs: JournalEntry,
}

impl Ledger {
    /// A ledger over a fresh engine (genesis: the fee collector alone at slot 0).
    pub fn new(engine: Engine) -> Self {
        let config = engine.config();
        let start = StepState::genesis(config.accounts_depth, config.fee_collector);
        Self {
            accounts: start.account_count,
            start,
            engine,
            open: Vec::new(),
            open_withdrawals: Vec::new(),
            open_inputs: Vec::new(),
            // SPEC: batch numbers start at 1.
            next_batch: 1,
        }
    }

    /// The engine, for reads.
    pub fn engine(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Ops in the open batch.
    pub fn open_ops(&self) -> usize {
        self.open.len()
    }

    /// Portal deposits consumed so far (the next deposit index the engine takes).
    pub fn deposit_cursor(&self) -> u64 {
        let in_open = self
            .open
            .iter()
            .filter(|op| matches!(op, Op::Deposit(_) | Op::Refund(_)))
            .count() as u64;
        self.start.deposit_cursor.saturating_add(in_open)
    }

    /// Records a register op when the engine created `address` at `slot` for the op that
    /// follows (the engine creates accounts in the order the ledger asks about them).
    fn register_if_new(&mut self, slot: u32, address: Address) {
        if u64::from(slot) == self.accounts {
            self.open.push(Op::Register(RegisterOp { slot, address }));
            self.accounts = self.accounts.saturating_add(1);
        }
    }

    fn slot(&mut self, account: Address) -> Result<u32, LedgerError> {
        let info = self.engine.account(account)?.ok_or_else(|| {
            LedgerError::Diverged(format!(
                "{account} has no slot after the engine applied an op"
            ))
        })?;
        u32::try_from(info.slot)
            .map_err(|_| LedgerError::Diverged(format!("slot {} beyond u32", info.slot)))
    }

    /// Applies portal deposit `index` (it must be the engine's deposit cursor).
    pub fn deposit_l1(
        &mut self,
        index: u64,
        l1_sender: Address,
        recipient: Address,
        token: u32,
        amount: u128,
    ) -> Result<DepositOutcome, LedgerError> {
        let token_u8 = u8::try_from(token).map_err(|_| SettlementError::TokenTooLarge { token })?;
        let outcome = self
            .engine
            .deposit_l1(index, l1_sender, recipient, token, amount)?;
        self.open_inputs.push(JournalOp::Deposit {
            index,
            l1_sender,
            recipient,
            token,
            amount,
        });
        let mut op = DepositOp {
            token: token_u8,
            to_slot: 0,
            index,
            l1_sender,
            recipient,
            amount,
        };
        match outcome {
            DepositOutcome::Credited => {
                op.to_slot = self.slot(recipient)?;
                if u64::from(op.to_slot) == self.accounts {
                    self.accounts = self.accounts.saturating_add(1); // a deposit creates its account
                }
                self.open.push(Op::Deposit(op));
            }
            DepositOutcome::Refunded => {
                self.open.push(Op::Refund(op));
                self.open_withdrawals
                    .push((Address::ZERO, l1_sender, token, amount));
            }
        }
        Ok(outcome)
    }

    /// Applies transactions (senders recovered) in one engine crossing; `raws[i]` is the signed
    /// raw form of `txs[i]`. If any transaction cannot be written as a record (data, or a field
    /// wider than the record's: [`settlement::check_settleable`]) the call is refused before the
    /// engine sees any. Returns one outcome per transaction. A new sender or recipient gets a
    /// register op before its transfer, as in the engine.
    pub fn apply_transactions(
        &mut self,
        txs: &[Transaction],
        raws: &[Vec<u8>],
    ) -> Result<Vec<TxOutcome>, LedgerError> {
        if txs.len() != raws.len() {
            return Err(LedgerError::Diverged(format!(
                "{} transactions, {} raw forms",
                txs.len(),
                raws.len()
            )));
        }
        for tx in txs {
            settlement::check_transfer_fields(tx.data.len(), tx.value, tx.gas_limit, tx.gas_price)?;
        }
        let outcomes = self.engine.submit_transactions(txs)?;
        for ((tx, raw), outcome) in txs.iter().zip(raws).zip(&outcomes) {
            if outcome.is_ok() {
                let from_slot = self.slot(tx.from)?;
                self.register_if_new(from_slot, tx.from);
                let to_slot = self.slot(tx.to)?;
                self.register_if_new(to_slot, tx.to);
                self.open
                    .push(Op::Transfer(TransferOp::from_raw(raw, from_slot, to_slot)?));
                self.open_inputs.push(JournalOp::Transfer {
                    from: tx.from,
                    raw: raw.clone(),
                });
            }
        }
        Ok(outcomes)
    }

    /// Applies a signed withdrawal whose signer is `from` (recovered by the caller).
    pub fn withdraw(
        &mut self,
        signed: &SignedWithdrawal,
        raw: &[u8],
        from: Address,
    ) -> Result<(), LedgerError> {
        let w = &signed.withdrawal;
        // Checked before the engine runs: a refused op must change nothing.
        u8::try_from(w.token).map_err(|_| SettlementError::TokenTooLarge { token: w.token })?;
        self.engine.withdraw(&Withdrawal {
            from,
            l1_recipient: w.l1_recipient,
            token: w.token,
            amount: w.amount,
            nonce: w.nonce,
        })?;
        let from_slot = self.slot(from)?;
        let recipient_slot = self.slot(w.l1_recipient)?;
        self.register_if_new(recipient_slot, w.l1_recipient);
        self.open.push(Op::Withdrawal(WithdrawalOp::from_raw(
            raw,
            from_slot,
            recipient_slot,
        )?));
        self.open_withdrawals
            .push((from, w.l1_recipient, w.token, w.amount));
        self.open_inputs.push(JournalOp::Withdrawal {
            from,
            raw: raw.to_vec(),
        });
        Ok(())
    }

    /// Seals the open batch and returns its header with its records, L1 header, withdrawal
    /// leaves and journal entry.
    pub fn seal(&mut self) -> Result<Sealed, LedgerError> {
        let header = self.engine.create_batch()?;
        let ops = std::mem::take(&mut self.open);
        let withdrawals = std::mem::take(&mut self.open_withdrawals);
        let inputs = JournalEntry {
            batch_number: header.batch_number,
            state_root: header.state_root,
            ops: std::mem::take(&mut self.open_inputs),
        };
        if header.op_count as usize != ops.len() || header.batch_number != self.next_batch {
            return Err(LedgerError::Diverged(format!(
                "engine sealed batch {} with {} ops, the ledger expected batch {} with {}",
                header.batch_number,
                header.op_count,
                self.next_batch,
                ops.len()
            )));
        }
        let mut records = Vec::with_capacity(ops.len());
        let mut end = self.start;
        for (i, op) in ops.into_iter().enumerate() {
            let step = self.engine.step(i as u32)?;
            if step.kind != op.kind() as u32 {
                return Err(LedgerError::Diverged(format!(
                    "op {i} of batch {} is a {:?} in the ledger, kind {} in the engine",
                    header.batch_number,
                    op.kind(),
                    step.kind
                )));
            }
            end = StepState {
                state_root: step.state_root,
                account_count: step.account_count,
                withdrawals_root: step.withdrawals_root,
                withdrawal_count: step.withdrawal_count,
                deposit_cursor: step.deposit_cursor,
            };
            records.push(
                Record {
                    op,
                    commitment: step.commitment,
                }
                .encode(),
            );
        }
        if end.state_root != header.state_root
            || end.withdrawals_root != header.withdrawals_root
            || end.account_count != header.account_count
            || end.deposit_cursor != header.deposit_cursor
        {
            return Err(LedgerError::Diverged(format!(
                "final step of batch {} is not the sealed header",
                header.batch_number
            )));
        }
        let number = header.batch_number;
        let l1_header = settlement::batch_header(number, &self.start, &end, &records);
        let withdrawals = withdrawals
            .into_iter()
            .enumerate()
            .map(|(i, (from, l1_recipient, token, amount))| abi::Withdrawal {
                batchNumber: number,
                index: i as u32,
                from,
                l1Recipient: l1_recipient,
                token,
                amount,
            })
            .collect();
        let batch = BatchSettlement {
            l1_header,
            start: self.start,
            records,
            withdrawals,
        };
        self.start = StepState::start(end.state_root, end.account_count, end.deposit_cursor);
        self.accounts = end.account_count;
        self.next_batch = number.saturating_add(1);
        Ok(Sealed {
            header,
            settlement: batch,
            inputs,
        })
    }

    /// Applies a journal entry to the open batch (which must be empty) and seals it: signers
    /// are taken from the entry, not recovered again. The sealed batch must be the entry's
    /// (number and state root), else the journal is not this engine's: [`LedgerError::Diverged`].
    pub fn replay(&mut self, entry: JournalEntry) -> Result<Sealed, LedgerError> {
        let diverged = |why: String| {
            LedgerError::Diverged(format!("journal batch {}: {why}", entry.batch_number))
        };
        if !self.open.is_empty() || entry.batch_number != self.next_batch {
            return Err(diverged(format!(
                "the ledger expects batch {} with an empty open batch ({} ops open)",
                self.next_batch,
                self.open.len()
            )));
        }
        let mut ops = entry.ops.iter().peekable();
        while let Some(op) = ops.next() {
            match op {
                JournalOp::Deposit {
                    index,
                    l1_sender,
                    recipient,
                    token,
                    amount,
                } => {
                    self.deposit_l1(*index, *l1_sender, *recipient, *token, *amount)?;
                }
                JournalOp::Transfer { from, raw } => {
                    // A run of transfers goes to the engine in one crossing, as when sequenced.
                    let mut txs = Vec::new();
                    let mut raws = Vec::new();
                    let mut next = Some((from, raw));
                    while let Some((from, raw)) = next {
                        let decoded = crate::tx::decode(raw)
                            .map_err(|e| diverged(format!("transfer does not decode: {e}")))?;
                        txs.push(decoded.into_engine_tx(*from));
                        raws.push(raw.clone());
                        next = match ops.peek() {
                            Some(JournalOp::Transfer { from, raw }) => {
                                ops.next();
                                Some((from, raw))
                            }
                            _ => None,
                        };
                    }
                    let outcomes = self.apply_transactions(&txs, &raws)?;
                    if let Some((tx, Err(e))) = txs
                        .iter()
                        .zip(&outcomes)
                        .find(|(_, outcome)| outcome.is_err())
                    {
                        return Err(diverged(format!("transfer {} refused: {e}", tx.hash)));
                    }
                }
                JournalOp::Withdrawal { from, raw } => {
                    let signed = crate::tx::decode_withdrawal(raw)
                        .map_err(|e| diverged(format!("withdrawal does not decode: {e}")))?;
                    self.withdraw(&signed, raw, *from)?;
                }
            }
        }
        let sealed = self.seal()?;
        if sealed.header.state_root != entry.state_root {
            return Err(diverged(format!(
                "replayed state root {} is not the journal's {}",
                sealed.header.state_root, entry.state_root
            )));
        }
        Ok(sealed)
    }
}
