//! The L2 sequencer: a tokio task that receives signed transactions over a bounded channel,
//! recovers their senders in parallel (rayon, all cores), orders them (arrival order, each
//! sender's transactions in nonce order within the sender's arrival positions), executes them in
//! the engine with one batched FFI crossing, seals a batch when it reaches `batch_size`
//! transactions or `batch_timeout` after its first one, and hands the sealed batch to a
//! [`SettlementSink`]. What a full batch has no room for (`batch_full`, `withdrawals_full`:
//! register ops and deposits take room too) opens the next batch, its receipts still pending.
//!
//! ```text
//! submit_raw ─decode─▶ bounded mpsc ─▶ collect (size | timeout) ─▶ spawn_blocking {
//!     rayon: recover senders ─▶ order ─▶ engine.submit_transactions ─▶ engine.create_batch }
//!   ─▶ receipts + latest header ─▶ SettlementSink::settle
//! ```

use crate::{
    engine::{AccountInfo, BatchHeader, DepositOutcome, Engine, Transaction},
    error::EngineError,
    journal::{Journal, JournalError, JournalOp},
    ledger::{BatchSettlement, Ledger, LedgerError, Sealed},
    settlement::{self, abi, SettlementError},
    tx::{self, DecodedTx, SignedWithdrawal, TxError},
};
use alloy_primitives::{keccak256, Address, B256};
use rayon::prelude::*;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock},
    time::Duration,
};
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};

/// Sequencer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequencerConfig {
    /// Seal when the open batch holds this many transactions (<= the engine's batch maximum).
    pub batch_size: usize,
    /// Seal this long after the open batch's first transaction arrived.
    pub batch_timeout: Duration,
    /// Bound of the incoming transaction queue; submissions beyond it are refused.
    pub queue_capacity: usize,
    /// Most final receipts (applied or rejected) kept for `gp_getReceipt`; the oldest are
    /// forgotten first, so a flood of transactions costs bounded memory.
    pub receipts_max: usize,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            batch_size: 8190,
            batch_timeout: Duration::from_millis(500),
            queue_capacity: 65_536,
            receipts_max: 1_000_000,
        }
    }
}

/// A sealed batch as handed to settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBatch {
    /// Header with the three roots.
    pub header: BatchHeader,
    /// Raw bytes of the applied transactions, in execution order.
    pub transactions: Vec<Vec<u8>>,
    /// Hashes of the applied transactions, in execution order.
    pub transaction_hashes: Vec<B256>,
    /// What L1 needs: records of every op (deposits, transfers, withdrawals), the L1 header,
    /// the withdrawal leaves.
    pub settlement: BatchSettlement,
}

/// Why settlement refused a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("settlement of batch {batch_number} failed: {reason}")]
pub struct SinkError {
    /// The batch.
    pub batch_number: u64,
    /// Why.
    pub reason: String,
}

/// Where sealed batches go (L1 posting is later work; [`InMemorySink`] for tests).
pub trait SettlementSink: Send + Sync + 'static {
    /// Takes one sealed batch.
    fn settle(&self, batch: SealedBatch) -> Result<(), SinkError>;
}

/// A sink that keeps every batch in memory.
#[derive(Debug, Default)]
pub struct InMemorySink {
    batches: Mutex<Vec<SealedBatch>>,
}

impl InMemorySink {
    /// The batches received so far.
    pub fn batches(&self) -> Vec<SealedBatch> {
        self.batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl InMemorySink {
    /// Number of batches received so far.
    pub fn len(&self) -> usize {
        self.batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no batch was received yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Header of the last batch received.
    pub fn last_header(&self) -> Option<BatchHeader> {
        self.batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .map(|b| b.header)
    }
}

impl SettlementSink for InMemorySink {
    fn settle(&self, batch: SealedBatch) -> Result<(), SinkError> {
        self.batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(batch);
        Ok(())
    }
}

/// Status of a submitted transaction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum Receipt {
    /// Queued, not yet executed.
    Pending,
    /// Applied in `batch_number`.
    #[serde(rename_all = "camelCase")]
    Applied {
        /// Batch that holds it.
        batch_number: u64,
        /// Recovered sender.
        from: Address,
    },
    /// Not applied.
    #[serde(rename_all = "camelCase")]
    Rejected {
        /// Why.
        reason: String,
    },
}

/// Why a submission was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The raw bytes are not a valid transaction.
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// The queue holds `capacity` transactions already.
    #[error("sequencer queue full ({capacity} transactions); retry later")]
    QueueFull {
        /// Queue bound.
        capacity: usize,
    },
    /// The sequencer task has stopped.
    #[error("sequencer stopped")]
    Stopped,
    /// The same transaction is queued or applied already (a rejected one may be sent again).
    #[error("transaction {hash} already known")]
    AlreadyKnown {
        /// Its hash.
        hash: B256,
    },
    /// The transaction carries call data, which no settlement record can hold (zig/SPEC.md,
    /// "Op records"): it could never be proven on L1, so it is never sequenced.
    #[error("transaction carries {len} bytes of data; GhostPlane settles transfers only (data must be empty)")]
    DataNotSettleable {
        /// Data length.
        len: usize,
    },
    /// A field is wider than a transfer record holds (value 112 bits, gas limit 24, gas price
    /// 40): the transaction could never be proven on L1.
    #[error("transaction cannot be settled: {0}")]
    NotSettleable(SettlementError),
}

impl SubmitError {
    /// Whether the same submission may succeed later.
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::QueueFull { .. })
    }
}

/// A queued signed L2 operation.
enum Queued {
    Transfer {
        decoded: DecodedTx,
        raw: Vec<u8>,
    },
    Withdrawal {
        signed: SignedWithdrawal,
        raw: Vec<u8>,
        hash: B256,
    },
}

impl Queued {
    fn hash(&self) -> B256 {
        match self {
            Self::Transfer { decoded, .. } => decoded.hash,
            Self::Withdrawal { hash, .. } => *hash,
        }
    }
}

/// State shared by the task, the handle and the RPC.
#[derive(Debug)]
struct Shared {
    ledger: Mutex<Ledger>,
    receipts: RwLock<Receipts>,
    latest: RwLock<Option<BatchHeader>>,
    /// Withdrawal leaves of every sealed batch that has any, by batch number.
    withdrawals: RwLock<HashMap<u64, Arc<BatchSettlement>>>,
    /// Wakes the batching task when an op entered the open batch outside the queue (an L1
    /// deposit), so it is sealed within the batch timeout even if no transaction follows.
    nudge: tokio::sync::Notify,
    /// The durable log (none: nothing survives a restart, for tests and benchmarks).
    journal: Mutex<Option<Journal>>,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Receipts by hash, with the final ones (applied, rejected) in the order they became final so
/// the oldest can be forgotten past the bound. Pending receipts are bounded by the queue.
#[derive(Debug, Default)]
struct Receipts {
    by_hash: HashMap<B256, Receipt>,
    finished: std::collections::VecDeque<B256>,
    max: usize,
}

impl Receipts {
    fn get(&self, hash: &B256) -> Option<&Receipt> {
        self.by_hash.get(hash)
    }

    /// Records `hash` as pending unless it is pending or applied already. A rejected
    /// transaction may be sent again (it changed nothing and may be valid now).
    fn admit(&mut self, hash: B256) -> Result<(), SubmitError> {
        match self.by_hash.get(&hash) {
            Some(Receipt::Pending | Receipt::Applied { .. }) => {
                Err(SubmitError::AlreadyKnown { hash })
            }
            _ => {
                self.by_hash.insert(hash, Receipt::Pending);
                Ok(())
            }
        }
    }

    fn remove(&mut self, hash: &B256) {
        self.by_hash.remove(hash);
    }

    /// Makes `hash` final and forgets the oldest final receipts beyond the bound. (A hash
    /// rejected, sent again and final again is forgotten at its first turn: approximate age
    /// order, exact bound.)
    fn finish(&mut self, hash: B256, receipt: Receipt) {
        self.by_hash.insert(hash, receipt);
        self.finished.push_back(hash);
        while self.finished.len() > self.max.max(1) {
            if let Some(old) = self.finished.pop_front() {
                // A hash sent again and still queued keeps its pending receipt.
                if !matches!(self.by_hash.get(&old), Some(Receipt::Pending)) {
                    self.by_hash.remove(&old);
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.by_hash.len()
    }
}

/// What the L2 gives a user to finalize withdrawal `index` of batch `batchNumber` on L1
/// (`GhostPlanePortal.finalizeWithdrawal`): the leaf and its siblings. The rest of the call
/// (header hash, withdrawals root, submission time, proposer) is in the Rollup's
/// `BatchSubmitted` event of that batch, on L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalProof {
    /// The leaf fields.
    pub withdrawal: abi::Withdrawal,
    /// 16 siblings, bottom-up.
    pub siblings: Vec<B256>,
    /// The batch's withdrawals root (the siblings lead to it).
    pub withdrawals_root: B256,
}

/// Cloneable handle to a running sequencer.
#[derive(Clone)]
pub struct SequencerHandle {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Queued>,
    capacity: usize,
}

impl std::fmt::Debug for SequencerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SequencerHandle")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl SequencerHandle {
    /// Decodes and queues a raw transaction; returns its hash. The signature is checked later, in
    /// parallel with the rest of the batch.
    pub fn submit_raw(&self, raw: Vec<u8>) -> Result<B256, SubmitError> {
        let decoded = tx::decode(&raw)?;
        match settlement::check_settleable(&decoded.tx) {
            Ok(()) => {}
            Err(SettlementError::TxHasData { len }) => {
                return Err(SubmitError::DataNotSettleable { len })
            }
            Err(e) => return Err(SubmitError::NotSettleable(e)),
        }
        self.enqueue(Queued::Transfer { decoded, raw })
    }

    /// Decodes and queues a raw signed withdrawal (`tx::decode_withdrawal` format); returns its
    /// hash (keccak256 of the raw bytes). The signature is checked with the batch's.
    pub fn submit_raw_withdrawal(&self, raw: Vec<u8>) -> Result<B256, SubmitError> {
        let signed = tx::decode_withdrawal(&raw)?;
        let hash = keccak256(&raw);
        self.enqueue(Queued::Withdrawal { signed, raw, hash })
    }

    fn enqueue(&self, queued: Queued) -> Result<B256, SubmitError> {
        let hash = queued.hash();
        {
            let mut receipts = self
                .shared
                .receipts
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            receipts.admit(hash)?;
        }
        match self.queue.try_send(queued) {
            Ok(()) => Ok(hash),
            Err(e) => {
                self.shared
                    .receipts
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&hash);
                Err(match e {
                    mpsc::error::TrySendError::Full(_) => SubmitError::QueueFull {
                        capacity: self.capacity,
                    },
                    mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
                })
            }
        }
    }

    /// Credits a development deposit (no L1 behind it: the L1 sender is zero and the index is
    /// the next deposit cursor, so batches holding one cannot settle on a real portal).
    pub fn deposit(&self, account: Address, token: u32, amount: u128) -> Result<(), LedgerError> {
        let mut ledger = self.shared.ledger();
        let index = ledger.deposit_cursor();
        ledger.deposit_l1(index, Address::ZERO, account, token, amount)?;
        drop(ledger);
        // Sealed within the batch timeout even if no transaction follows.
        self.shared.nudge.notify_one();
        Ok(())
    }

    /// Applies portal deposit `index` (it must be the next one: [`Self::deposit_cursor`]).
    pub fn deposit_l1(
        &self,
        index: u64,
        l1_sender: Address,
        recipient: Address,
        token: u32,
        amount: u128,
    ) -> Result<DepositOutcome, LedgerError> {
        let outcome = self
            .shared
            .ledger()
            .deposit_l1(index, l1_sender, recipient, token, amount)?;
        self.shared.nudge.notify_one();
        Ok(outcome)
    }

    /// The next portal deposit index the L2 expects.
    pub fn deposit_cursor(&self) -> u64 {
        self.shared.ledger().deposit_cursor()
    }

    /// Current state of `account`.
    pub fn account(&self, account: Address) -> Result<Option<AccountInfo>, crate::EngineError> {
        self.shared.ledger().engine().account(account)
    }

    /// The finalization data of withdrawal `index` of sealed batch `batch`, if it exists.
    pub fn withdrawal_proof(&self, batch: u64, index: u32) -> Option<WithdrawalProof> {
        let settlement = self
            .shared
            .withdrawals
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&batch)
            .cloned()?;
        let siblings = settlement.withdrawal_siblings(index)?;
        Some(WithdrawalProof {
            withdrawal: settlement.withdrawals[index as usize].clone(),
            siblings,
            withdrawals_root: settlement.l1_header.withdrawalsRoot,
        })
    }

    /// Receipts held (pending and final; the final ones are bounded by `receipts_max`).
    pub fn receipts_held(&self) -> usize {
        self.shared
            .receipts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Receipt of a submitted transaction.
    pub fn receipt(&self, hash: &B256) -> Option<Receipt> {
        self.shared
            .receipts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hash)
            .cloned()
    }

    /// Header of the last sealed batch.
    pub fn latest_batch(&self) -> Option<BatchHeader> {
        *self
            .shared
            .latest
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts the sequencer task on the current tokio runtime, with no journal (nothing survives a
/// restart). It stops when every handle is dropped, after sealing what it holds.
pub fn spawn(
    engine: Engine,
    config: SequencerConfig,
    sink: Arc<dyn SettlementSink>,
) -> (SequencerHandle, JoinHandle<()>) {
    let shared = new_shared(engine, config);
    start(shared, config, sink)
}

/// Why a journaled sequencer could not start.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// The journal could not be read (damaged, or the disk failed).
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The journal does not replay on this engine (another deployment's or another
    /// configuration's journal): nothing is guessed, the operator decides.
    #[error("the journal does not replay on this engine: {0}")]
    Replay(#[from] LedgerError),
}

/// Starts the sequencer over the journal at `journal`: every entry is replayed into `engine`
/// first (signers are stored, so nothing is recovered again) and handed to `replayed` in
/// batch order (a node posts those L1 lacks), receipts of the last `receipts_max` replayed
/// operations answer again, and every batch sealed from now on is journaled before any of its
/// receipts is published or it reaches `sink`.
pub fn spawn_journaled(
    engine: Engine,
    config: SequencerConfig,
    sink: Arc<dyn SettlementSink>,
    journal: &std::path::Path,
    mut replayed: impl FnMut(SealedBatch),
) -> Result<(SequencerHandle, JoinHandle<()>), RecoverError> {
    let shared = new_shared(engine, config);
    let opened = Journal::open(journal, |entry| {
        let sealed = shared.ledger().replay(entry)?;
        let (batch, receipts) = sealed_batch(sealed);
        publish(&shared, &batch);
        finish_receipts(&shared, receipts);
        replayed(batch);
        Ok::<_, RecoverError>(())
    })?;
    if let Some(latest) = *shared.latest.read().unwrap_or_else(PoisonError::into_inner) {
        tracing::info!(
            batches = opened.entries(),
            latest = latest.batch_number,
            state_root = %latest.state_root,
            "journal replayed"
        );
    }
    *shared
        .journal
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(opened);
    Ok(start(shared, config, sink))
}

fn new_shared(engine: Engine, config: SequencerConfig) -> Arc<Shared> {
    Arc::new(Shared {
        ledger: Mutex::new(Ledger::new(engine)),
        receipts: RwLock::new(Receipts {
            max: config.receipts_max,
            ..Receipts::default()
        }),
        latest: RwLock::default(),
        withdrawals: RwLock::default(),
        nudge: tokio::sync::Notify::new(),
        journal: Mutex::new(None),
    })
}

fn start(
    shared: Arc<Shared>,
    config: SequencerConfig,
    sink: Arc<dyn SettlementSink>,
) -> (SequencerHandle, JoinHandle<()>) {
    let batch_size = config.batch_size.clamp(
        1,
        shared.ledger().engine().config().batch_transactions_max as usize,
    );
    let capacity = config.queue_capacity.max(1);
    let (queue, rx) = mpsc::channel(capacity);
    let task = tokio::spawn(run(
        Arc::clone(&shared),
        rx,
        batch_size,
        config.batch_timeout,
        sink,
    ));
    (
        SequencerHandle {
            shared,
            queue,
            capacity,
        },
        task,
    )
}

/// The sealed batch of `sealed` and the receipts of its signed operations.
fn sealed_batch(sealed: Sealed) -> (SealedBatch, Vec<(B256, Receipt)>) {
    let batch_number = sealed.header.batch_number;
    let mut transactions = Vec::new();
    let mut transaction_hashes = Vec::new();
    let mut receipts = Vec::new();
    for op in sealed.inputs.ops {
        match op {
            JournalOp::Deposit { .. } => {}
            JournalOp::Transfer { from, raw } => {
                let hash = keccak256(&raw);
                transaction_hashes.push(hash);
                transactions.push(raw);
                receipts.push((hash, Receipt::Applied { batch_number, from }));
            }
            JournalOp::Withdrawal { from, raw } => {
                receipts.push((keccak256(&raw), Receipt::Applied { batch_number, from }));
            }
        }
    }
    let batch = SealedBatch {
        header: sealed.header,
        transactions,
        transaction_hashes,
        settlement: sealed.settlement,
    };
    (batch, receipts)
}

/// Makes a sealed batch visible: latest header and, if it has any, its withdrawal leaves.
fn publish(shared: &Shared, batch: &SealedBatch) {
    *shared
        .latest
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Some(batch.header);
    if !batch.settlement.withdrawals.is_empty() {
        shared
            .withdrawals
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                batch.header.batch_number,
                Arc::new(batch.settlement.clone()),
            );
    }
}

async fn run(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Queued>,
    batch_size: usize,
    timeout: Duration,
    sink: Arc<dyn SettlementSink>,
) {
    let mut open = true;
    // Operations the last batch had no room for, senders recovered: they open the next one.
    let mut carried: Vec<(Address, Queued)> = Vec::new();
    while open || !carried.is_empty() {
        let mut pending = Vec::with_capacity(batch_size);
        if carried.is_empty() {
            tokio::select! {
                first = rx.recv() => match first {
                    Some(q) => pending.push(q),
                    None => break,
                },
                () = shared.nudge.notified() => {}
            }
            // A configured timeout is far below the ~centuries that could overflow an Instant.
            #[allow(clippy::arithmetic_side_effects)]
            let deadline = Instant::now() + timeout;
            while pending.len() < batch_size {
                tokio::select! {
                    msg = rx.recv() => match msg {
                        Some(q) => pending.push(q),
                        None => { open = false; break; }
                    },
                    () = tokio::time::sleep_until(deadline) => break,
                }
            }
        } else {
            // The last batch filled up: the next one goes now, with what is queued already.
            while open && pending.len().saturating_add(carried.len()) < batch_size {
                match rx.try_recv() {
                    Ok(q) => pending.push(q),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => open = false,
                }
            }
        }
        if pending.is_empty() && carried.is_empty() && shared.ledger().open_ops() == 0 {
            // Never seal an empty batch (a nudge whose deposit was already sealed).
            continue;
        }
        let hashes: Vec<B256> = carried
            .iter()
            .map(|(_, q)| q.hash())
            .chain(pending.iter().map(Queued::hash))
            .collect();
        let carried_in = std::mem::take(&mut carried);
        let shared_exec = Arc::clone(&shared);
        let executed =
            tokio::task::spawn_blocking(move || execute(&shared_exec, carried_in, pending)).await;
        match executed {
            Ok(Ok(executed)) => {
                if let Some(batch) = executed.batch {
                    // Order: journal (in `execute`), latest header, settlement, then receipts, so
                    // a client that sees its receipt final also finds the batch in the sink and
                    // in `gp_getLatestBatch`, and the batch survives a crash.
                    publish(&shared, &batch);
                    let n = batch.header.batch_number;
                    if let Err(e) = sink.settle(batch) {
                        tracing::error!(batch = n, error = %e, "settlement failed");
                    }
                }
                finish_receipts(&shared, executed.receipts);
                carried = executed.carried;
            }
            Ok(Err(ExecError::Journal(e))) => {
                // The engine holds a batch the disk does not: nothing of it may be acknowledged,
                // and nothing sealed after it could be replayed. Stop; a restart replays the
                // journal, and the clients may send these transactions again.
                tracing::error!(error = %e, "journal write failed: the sequencer stops");
                reject_all(
                    &shared,
                    &hashes,
                    &format!("not durable ({e}); send it again once the sequencer is back"),
                );
                break;
            }
            Ok(Err(ExecError::Ledger(e))) => {
                tracing::error!(error = %e, "batch execution failed");
                reject_all(&shared, &hashes, &format!("batch execution failed: {e}"));
            }
            Err(e) => {
                tracing::error!(error = %e, "batch execution panicked");
                reject_all(&shared, &hashes, &format!("batch execution panicked: {e}"));
            }
        }
    }
}

/// Marks every transaction of a failed batch rejected, so no receipt stays pending forever.
fn reject_all(shared: &Shared, hashes: &[B256], reason: &str) {
    let rejected = Receipt::Rejected {
        reason: reason.to_owned(),
    };
    finish_receipts(shared, hashes.iter().map(|h| (*h, rejected.clone())));
}

/// Publishes final receipts (under one write lock).
fn finish_receipts(shared: &Shared, receipts: impl IntoIterator<Item = (B256, Receipt)>) {
    let mut store = shared
        .receipts
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    for (hash, receipt) in receipts {
        store.finish(hash, receipt);
    }
}

/// What [`execute`] returns.
struct Executed {
    /// The sealed batch, journaled (none when nothing applied).
    batch: Option<SealedBatch>,
    /// Final receipts, to publish once the batch is settled.
    receipts: Vec<(B256, Receipt)>,
    /// What the batch had no room for, in order, senders recovered: the next batch starts with
    /// these, and their receipts stay pending.
    carried: Vec<(Address, Queued)>,
}

/// Why [`execute`] failed.
#[derive(Debug, thiserror::Error)]
enum ExecError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Whether the open batch merely has no room left: sealing it makes room, so the operation
/// waits for the next batch instead of being rejected.
const fn is_batch_capacity(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::BatchFull { .. } | EngineError::WithdrawalsFull { .. }
    )
}

/// Recovers (the new operations only: `carried` were recovered in an earlier call), orders,
/// executes and seals one batch, on a blocking thread. Runs of transfers go to the engine in one
/// crossing each; a withdrawal between them keeps its place, so every sender's operations apply
/// in nonce order. At the first operation the batch has no room for, the rest is carried.
fn execute(
    shared: &Shared,
    carried: Vec<(Address, Queued)>,
    pending: Vec<Queued>,
) -> Result<Executed, ExecError> {
    let senders: Vec<Result<Address, TxError>> = pending
        .par_iter()
        .map(|q| match q {
            Queued::Transfer { decoded, .. } => decoded.recover(),
            Queued::Withdrawal { signed, .. } => signed.recover(),
        })
        .collect();
    let mut receipts = Vec::with_capacity(pending.len().saturating_add(carried.len()));
    // Carried operations arrived first: they keep their place ahead of the new ones.
    let mut valid: Vec<(Address, Queued)> = carried;
    for (q, sender) in pending.into_iter().zip(senders) {
        match sender {
            Ok(from) => valid.push((from, q)),
            Err(e) => receipts.push((
                q.hash(),
                Receipt::Rejected {
                    reason: e.to_string(),
                },
            )),
        }
    }
    let mut carried = Vec::new();
    let sealed = {
        let mut ledger = shared.ledger();
        let mut run: Vec<(Address, DecodedTx, Vec<u8>)> = Vec::new();
        let mut full: Option<String> = None;
        let mut ordered = order(valid).into_iter().peekable();
        while let Some((from, q)) = ordered.next() {
            match q {
                Queued::Transfer { decoded, raw } => {
                    run.push((from, decoded, raw));
                    if matches!(ordered.peek(), Some((_, Queued::Transfer { .. }))) {
                        continue;
                    }
                    full = apply_transfers(
                        &mut ledger,
                        std::mem::take(&mut run),
                        &mut receipts,
                        &mut carried,
                    )?;
                }
                Queued::Withdrawal { signed, raw, hash } => {
                    match ledger.withdraw(&signed, &raw, from) {
                        Ok(()) => receipts.push((
                            hash,
                            Receipt::Applied {
                                batch_number: 0,
                                from,
                            },
                        )),
                        Err(LedgerError::Engine(e)) if is_batch_capacity(&e) => {
                            full = Some(e.to_string());
                            carried.push((from, Queued::Withdrawal { signed, raw, hash }));
                        }
                        Err(LedgerError::Diverged(why)) => {
                            return Err(LedgerError::Diverged(why).into())
                        }
                        Err(e) => receipts.push((
                            hash,
                            Receipt::Rejected {
                                reason: e.to_string(),
                            },
                        )),
                    }
                }
            }
            if full.is_some() {
                carried.extend(ordered);
                break;
            }
        }
        if ledger.open_ops() == 0 {
            // Nothing applied (a flood of unfunded or badly signed transactions): no empty
            // batch is sealed, only the rejections are published. An operation that does not
            // fit even an empty batch is rejected, so the rest is not carried forever.
            if let (Some(reason), false) = (full, carried.is_empty()) {
                let (_, q) = carried.remove(0);
                receipts.push((q.hash(), Receipt::Rejected { reason }));
            }
            return Ok(Executed {
                batch: None,
                receipts,
                carried,
            });
        }
        ledger.seal()?
    };
    if let Some(journal) = shared
        .journal
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_mut()
    {
        journal.append(&sealed.inputs)?;
    }
    let number = sealed.header.batch_number;
    for (_, receipt) in &mut receipts {
        if let Receipt::Applied { batch_number, .. } = receipt {
            *batch_number = number;
        }
    }
    let (batch, _) = sealed_batch(sealed);
    Ok(Executed {
        batch: Some(batch),
        receipts,
        carried,
    })
}

/// Applies a run of transfers in one engine crossing and records their receipts. The engine
/// stops at the first transfer the batch has no room for: that one and every later one of the
/// run go to `carried`, and the engine's reason is returned.
fn apply_transfers(
    ledger: &mut Ledger,
    run: Vec<(Address, DecodedTx, Vec<u8>)>,
    receipts: &mut Vec<(B256, Receipt)>,
    carried: &mut Vec<(Address, Queued)>,
) -> Result<Option<String>, LedgerError> {
    let (raws, txs): (Vec<Vec<u8>>, Vec<Transaction>) = run
        .into_iter()
        .map(|(from, decoded, raw)| (raw, decoded.into_engine_tx(from)))
        .unzip();
    let outcomes = ledger.apply_transactions(&txs, &raws)?;
    let mut full = None;
    for ((tx, raw), outcome) in txs.into_iter().zip(raws).zip(outcomes) {
        match outcome {
            Err(e) if full.is_some() || is_batch_capacity(&e) => {
                full.get_or_insert_with(|| e.to_string());
                // Decoded again only here, off the hot path (it decoded at admission).
                match tx::decode(&raw) {
                    Ok(decoded) => carried.push((tx.from, Queued::Transfer { decoded, raw })),
                    Err(e) => receipts.push((
                        tx.hash,
                        Receipt::Rejected {
                            reason: e.to_string(),
                        },
                    )),
                }
            }
            // The engine's word: applied is applied (it applies nothing past its first
            // batch_full, so this is never a transaction after a carried one).
            Ok(()) => receipts.push((
                tx.hash,
                Receipt::Applied {
                    batch_number: 0,
                    from: tx.from,
                },
            )),
            Err(e) => receipts.push((
                tx.hash,
                Receipt::Rejected {
                    reason: e.to_string(),
                },
            )),
        }
    }
    Ok(full)
}

/// Arrival order, with each sender's transactions sorted by nonce within the positions that
/// sender's transactions arrived in (so a sender's nonce gap inside one batch does not reject
/// transactions that merely arrived out of order).
pub fn order<T>(items: Vec<(Address, T)>) -> Vec<(Address, T)>
where
    T: HasNonce,
{
    let mut by_sender: HashMap<Address, Vec<usize>> = HashMap::new();
    for (i, (from, _)) in items.iter().enumerate() {
        by_sender.entry(*from).or_default().push(i);
    }
    let mut slots: Vec<Option<(Address, T)>> = items.into_iter().map(Some).collect();
    let mut out: Vec<Option<(Address, T)>> = (0..slots.len()).map(|_| None).collect();
    for positions in by_sender.values() {
        let mut mine: Vec<(Address, T)> =
            positions.iter().filter_map(|&p| slots[p].take()).collect();
        mine.sort_by_key(|(_, t)| t.nonce());
        for (&p, item) in positions.iter().zip(mine) {
            out[p] = Some(item);
        }
    }
    out.into_iter().flatten().collect()
}

/// Something with a sender nonce (for [`order`]).
pub trait HasNonce {
    /// The nonce.
    fn nonce(&self) -> u64;
}

impl HasNonce for Queued {
    fn nonce(&self) -> u64 {
        match self {
            Self::Transfer { decoded, .. } => decoded.tx.nonce,
            Self::Withdrawal { signed, .. } => signed.withdrawal.nonce,
        }
    }
}

impl HasNonce for u64 {
    fn nonce(&self) -> u64 {
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keeps_arrival_and_sorts_each_sender() {
        let a = Address::repeat_byte(1);
        let b = Address::repeat_byte(2);
        let got = order(vec![(a, 2u64), (b, 0), (a, 0), (b, 1), (a, 1)]);
        assert_eq!(got, vec![(a, 0), (b, 0), (a, 1), (b, 1), (a, 2)]);
    }
}
