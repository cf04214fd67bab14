//! The challenger's watch: re-derives every batch posted to `GhostPlaneRollup` from L1 data
//! alone (the `submitBatch` transaction's calldata, or its blobs, and the portal's deposits) and
//! replays it with [`Replayer`], an executor independent of the Zig engine. Each batch ends
//! checked (honest), found fraudulent (the op and the rule), or not checkable yet (an RPC error,
//! blobs not served yet, deposits not read yet): the last is retried and never reported as fraud.
//!
//! Blob contents come from `anvil_getBlobsByTransactionHash` (anvil has no beacon API); they are
//! only believed when they re-commit to the header's data commitment.
//!
//! The Rollup's `BatchSubmitted` and `FraudProven` events are followed incrementally: each
//! catch-up reads only the blocks since the last one (plus the last [`REORG_DEPTH`] blocks again,
//! to follow shallow L1 reorgs) in ranges of at most [`MAX_LOG_RANGE`] blocks, and keeps per batch
//! number its last submission not cut since; checking a batch costs the same at batch 10 and at
//! batch 10^6 (it used to query the whole chain's logs for every batch). The portal's deposits
//! are read once per poll up to the same head (each batch is replayed against the deposits made
//! by the end of its block), and the next batches' transactions and blobs are fetched ahead while
//! one is replayed.

use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Log;
use alloy::sol_types::{SolCall, SolEvent};
use ghostbridge_sequencer::replay::{PortalDeposit, Replayer, Verdict};
use ghostbridge_sequencer::settlement::{self, abi, kzg::BlobBatch, Blob, BLOB_LEN};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::bindings::portal::GhostPlanePortal;
use crate::bindings::rollup::GhostPlaneRollup;

/// Challenger settings.
#[derive(Debug, Clone)]
pub struct ChallengerConfig {
    /// The Rollup.
    pub rollup: Address,
    /// The portal.
    pub portal: Address,
    /// The deployment block.
    pub from_block: u64,
    /// Poll interval.
    pub poll: Duration,
    /// The Rollup's genesis: state tree depth, base fee, fee collector.
    pub depth: u32,
    /// Base fee.
    pub base_fee: u128,
    /// Fee collector (slot 0).
    pub fee_collector: Address,
}

/// Why a batch could not be checked yet (retried; never a fraud).
#[derive(Debug, thiserror::Error)]
pub enum NotYet {
    /// The L1 node did not answer.
    #[error("L1 RPC: {0}")]
    Rpc(String),
    /// The batch's blobs are not served (yet), or do not re-commit to its header.
    #[error("batch {batch}: blobs unavailable: {reason}")]
    Blobs {
        /// The batch.
        batch: u64,
        /// Why.
        reason: String,
    },
}

fn rpc(e: impl std::fmt::Display) -> NotYet {
    NotYet::Rpc(e.to_string())
}

/// What the challenger has found.
#[derive(Debug, Default)]
pub struct ChallengerStatus {
    inner: Mutex<StatusInner>,
}

#[derive(Debug, Default, Clone)]
struct StatusInner {
    checked: u64,
    proven: u64,
    frauds: BTreeMap<u64, Verdict>,
    not_yet: Option<String>,
}

impl ChallengerStatus {
    fn with<T>(&self, f: impl FnOnce(&mut StatusInner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The last batch replayed honest (0: none).
    pub fn checked(&self) -> u64 {
        self.with(|s| s.checked)
    }

    /// Fraud proofs this challenger landed.
    pub fn proven(&self) -> u64 {
        self.with(|s| s.proven)
    }

    /// Batches found fraudulent, with the verdict.
    pub fn frauds(&self) -> BTreeMap<u64, Verdict> {
        self.with(|s| s.frauds.clone())
    }

    /// Why the next batch could not be checked, if it could not.
    pub fn not_yet(&self) -> Option<String> {
        self.with(|s| s.not_yet.clone())
    }
}

/// A batch as posted: its header and records, read back from L1.
#[derive(Debug, Clone)]
pub struct PostedBatch {
    /// The header.
    pub header: abi::BatchHeader,
    /// The records.
    pub records: Vec<settlement::RecordBytes>,
    /// The L1 block it was submitted in.
    pub block: u64,
    /// The submitting transaction.
    pub tx: B256,
    /// The record as the Rollup hashed it (header, submission time, proposer).
    pub record: abi::BatchRecord,
}

/// Most blocks per `eth_getLogs` the challenger sends (the node may refuse wider ranges; then
/// the range is halved).
pub const MAX_LOG_RANGE: u64 = 2_000;

/// Blocks below the L1 head whose Rollup events are read again at every catch-up: a reorg this
/// shallow is followed (a batch it removes or moves is forgotten or moved). Events deeper than
/// that are folded into the per-batch cache for good.
pub const REORG_DEPTH: u64 = 64;

/// A `BatchSubmitted` event: where batch `number` was (last) submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Submission {
    block: u64,
    tx: B256,
    submitted_at: u64,
    proposer: Address,
}

/// A Rollup event the challenger follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RollupEvent {
    /// Batch `.0` submitted (again, if it was cut before).
    Submitted(u64, Submission),
    /// Batch `.0` and every later one cut by a fraud proof.
    Cut(u64),
}

impl RollupEvent {
    fn apply(self, batches: &mut BTreeMap<u64, Submission>) {
        match self {
            Self::Submitted(n, s) => {
                batches.insert(n, s);
            }
            Self::Cut(n) => {
                drop(batches.split_off(&n));
            }
        }
    }
}

/// The Rollup's batches as its events tell, followed incrementally: per batch number the last
/// submission not cut since (events ordered by block and log index).
#[derive(Debug, Default, Clone)]
struct BatchIndex {
    /// Batches from the events at or below `settled_to` (at least [`REORG_DEPTH`] deep when read).
    settled: BTreeMap<u64, Submission>,
    /// The last block folded into `settled` (`None`: none yet).
    settled_to: Option<u64>,
    /// Events above `settled_to` with their block, in chain order: read again at every catch-up.
    recent: Vec<(u64, RollupEvent)>,
}

impl BatchIndex {
    /// Batch `number`'s last submission not cut since, as far as the index has read.
    fn get(&self, number: u64) -> Option<Submission> {
        self.recent
            .iter()
            .fold(self.settled.get(&number).copied(), |cur, (_, e)| match *e {
                RollupEvent::Submitted(n, s) if n == number => Some(s),
                RollupEvent::Cut(n) if n <= number => None,
                _ => cur,
            })
    }

    /// Forgets everything (read again from `from_block` at the next catch-up).
    fn reset(&mut self) {
        *self = Self::default();
    }

    /// Folds `logs` (one block range, in any order) into the index: events at or below
    /// `settle_line` into `settled`, the others appended to `recent` (re-applying events already
    /// folded, after a failed catch-up, changes nothing: the last event on a batch wins).
    fn fold(
        &mut self,
        mut logs: Vec<Log>,
        settle_line: u64,
        recent: &mut Vec<(u64, RollupEvent)>,
    ) -> Result<(), NotYet> {
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        for log in logs {
            let block = log.block_number.ok_or_else(|| rpc("log without a block"))?;
            let event = match log.topic0() {
                Some(t) if *t == GhostPlaneRollup::BatchSubmitted::SIGNATURE_HASH => {
                    let e = log
                        .log_decode::<GhostPlaneRollup::BatchSubmitted>()
                        .map_err(|e| rpc(format!("BatchSubmitted: {e}")))?;
                    let tx = log
                        .transaction_hash
                        .ok_or_else(|| rpc("log without a transaction"))?;
                    let d = e.inner.data;
                    RollupEvent::Submitted(
                        d.number,
                        Submission {
                            block,
                            tx,
                            submitted_at: d.submittedAt,
                            proposer: d.proposer,
                        },
                    )
                }
                Some(t) if *t == GhostPlaneRollup::FraudProven::SIGNATURE_HASH => {
                    let e = log
                        .log_decode::<GhostPlaneRollup::FraudProven>()
                        .map_err(|e| rpc(format!("FraudProven: {e}")))?;
                    RollupEvent::Cut(e.inner.data.number)
                }
                _ => continue,
            };
            if block <= settle_line {
                event.apply(&mut self.settled);
            } else {
                recent.push((block, event));
            }
        }
        Ok(())
    }

    /// Reads the Rollup's events up to the current L1 head: from the first block not settled,
    /// in ranges of at most [`MAX_LOG_RANGE`] blocks. Each range fully read moves the settled
    /// cursor past it; an RPC error leaves the cursor after the last range fully read (never
    /// past a block not read) and the events above it as the last complete catch-up read them.
    async fn catch_up(
        &mut self,
        provider: &DynProvider,
        rollup: Address,
        from_block: u64,
    ) -> Result<u64, NotYet> {
        let head = provider.get_block_number().await.map_err(rpc)?;
        let settle_line = head.saturating_sub(REORG_DEPTH);
        let mut recent = Vec::new();
        match self
            .read_ranges(provider, rollup, from_block, head, settle_line, &mut recent)
            .await
        {
            Ok(()) => {
                self.recent = recent;
                Ok(head)
            }
            Err(e) => {
                // The last complete catch-up's events above the settled cursor stay valid.
                let settled_to = self.settled_to;
                self.recent.retain(|(block, _)| Some(*block) > settled_to);
                Err(e)
            }
        }
    }

    async fn read_ranges(
        &mut self,
        provider: &DynProvider,
        rollup: Address,
        from_block: u64,
        head: u64,
        settle_line: u64,
        recent: &mut Vec<(u64, RollupEvent)>,
    ) -> Result<(), NotYet> {
        // The shared event source, read to `head` (the settle line is applied by `fold`).
        let events = ghostbridge_agent::events::EventSource::new(
            provider.clone(),
            rollup,
            &[
                GhostPlaneRollup::BatchSubmitted::SIGNATURE_HASH,
                GhostPlaneRollup::FraudProven::SIGNATURE_HASH,
            ],
            0,
            MAX_LOG_RANGE,
        );
        let mut a = self.settled_to.map_or(from_block, |b| b.saturating_add(1));
        while a <= head {
            let b = a.saturating_add(MAX_LOG_RANGE.saturating_sub(1)).min(head);
            let logs = events.logs(a, b).await.map_err(rpc)?;
            self.fold(logs, settle_line, recent)?;
            if settle_line >= a {
                self.settled_to = Some(settle_line.min(b));
            }
            a = b.saturating_add(1);
        }
        Ok(())
    }
}

/// Batches fetched (transaction, blobs, re-commitment) ahead of the one being replayed, so that
/// checking does not wait for L1 round trips one batch at a time.
const PREFETCH: usize = 8;

/// Batch `number`'s `submission` read from L1: the transaction's header and records (from its
/// calldata or its blobs, which must re-commit to the header). `None`: the transaction is not
/// on L1.
async fn fetch(
    provider: DynProvider,
    number: u64,
    submission: Submission,
) -> Result<Option<PostedBatch>, NotYet> {
    let Submission {
        block,
        tx,
        submitted_at,
        proposer,
    } = submission;
    let Some(t) = provider.get_transaction_by_hash(tx).await.map_err(rpc)? else {
        return Ok(None);
    };
    let input = alloy::consensus::Transaction::input(&t);
    let call = abi::IGhostPlaneRollup::submitBatchCall::abi_decode(input)
        .map_err(|e| rpc(format!("submitBatch calldata of {tx}: {e}")))?;
    let header = call.header;
    let n = header.opCount as usize;
    let records = if header.dataMode == 0 {
        settlement::decode_records(&call.records)
            .map_err(|e| rpc(format!("records of batch {number}: {e}")))?
            .iter()
            .map(settlement::Record::encode)
            .collect()
    } else {
        let raw: Vec<Bytes> = provider
            .raw_request("anvil_getBlobsByTransactionHash".into(), (tx,))
            .await
            .map_err(|e| NotYet::Blobs {
                batch: number,
                reason: e.to_string(),
            })?;
        let commitment = header.dataCommitment;
        // Unpacking and re-committing is CPU work (a KZG commitment per blob).
        tokio::task::spawn_blocking(move || blob_records(number, &raw, n, commitment))
            .await
            .map_err(|e| rpc(format!("re-committing batch {number}'s blobs: {e}")))??
    };
    Ok(Some(PostedBatch {
        record: abi::BatchRecord {
            header: header.clone(),
            submittedAt: submitted_at,
            proposer,
        },
        header,
        records,
        block,
        tx,
    }))
}

/// The `n` records of batch `number` from its blobs as served, if they re-commit to
/// `commitment` (or hold a malformed element: provable as such).
fn blob_records(
    number: u64,
    raw: &[Bytes],
    n: usize,
    commitment: B256,
) -> Result<Vec<settlement::RecordBytes>, NotYet> {
    // Filled in place: a 128 KiB array passed by value through iterator adapters overflows a
    // debug build's stack.
    let mut blobs: Vec<Blob> = vec![[0u8; BLOB_LEN]; raw.len()];
    for (dst, b) in blobs.iter_mut().zip(raw) {
        if b.len() != BLOB_LEN {
            return Err(NotYet::Blobs {
                batch: number,
                reason: format!("a blob of {} bytes, not {BLOB_LEN}", b.len()),
            });
        }
        dst.copy_from_slice(b);
    }
    if blobs.len() != settlement::blob_count(n) {
        return Err(NotYet::Blobs {
            batch: number,
            reason: format!("{} blobs for {n} ops", blobs.len()),
        });
    }
    let records = settlement::unpack_blobs(&blobs, n);
    let recommitted = BlobBatch::new(&records)
        .map_err(|e| NotYet::Blobs {
            batch: number,
            reason: e.to_string(),
        })?
        .data_commitment();
    if recommitted != commitment {
        // Either the node served other blobs, or an element does not start with a zero byte
        // (unreadable by an opening: `proveMalformedElement`).
        if settlement::malformed_elements(&blobs, n).is_empty() {
            return Err(NotYet::Blobs {
                batch: number,
                reason: "the served blobs do not commit to the header".into(),
            });
        }
    }
    Ok(records)
}

/// The first of `deposits` (made in `blocks`, ascending) made by the end of L1 block `block`.
fn deposits_at<'a>(
    deposits: &'a [PortalDeposit],
    blocks: &[u64],
    block: u64,
) -> &'a [PortalDeposit] {
    let n = blocks.partition_point(|b| *b <= block);
    deposits.get(..n).unwrap_or(deposits)
}

/// A batch being fetched: [`fetch`] on a task.
type Fetching = tokio::task::JoinHandle<Result<Option<PostedBatch>, NotYet>>;

/// Batches being fetched ahead, in order; aborted when dropped.
#[derive(Debug, Default)]
struct Ahead(std::collections::VecDeque<(u64, Submission, Fetching)>);

impl Drop for Ahead {
    fn drop(&mut self) {
        for (_, _, task) in &self.0 {
            task.abort();
        }
    }
}

/// The state the challenger keeps between polls.
#[derive(Debug)]
pub struct Challenger {
    config: ChallengerConfig,
    replayer: Replayer,
    next: u64,
    deposits: Vec<PortalDeposit>,
    /// The L1 block of each of `deposits`.
    deposit_blocks: Vec<u64>,
    deposits_read_to: Option<u64>,
    batches: BatchIndex,
}

impl Challenger {
    /// A challenger from genesis.
    pub fn new(config: ChallengerConfig) -> Self {
        Self {
            replayer: Replayer::genesis(config.depth, config.base_fee, config.fee_collector),
            config,
            next: 1,
            deposits: Vec::new(),
            deposit_blocks: Vec::new(),
            deposits_read_to: None,
            batches: BatchIndex::default(),
        }
    }

    /// The replayed tip's state (what the next batch must start from).
    pub fn state(&self) -> ghostbridge_sequencer::roots::StepState {
        self.replayer.state()
    }

    /// Reads batch `number`'s last submission from L1 (`None`: not posted, or cut and not
    /// posted again), after catching up with the Rollup's events.
    pub async fn read_batch(
        &mut self,
        provider: &DynProvider,
        number: u64,
    ) -> Result<Option<PostedBatch>, NotYet> {
        self.catch_up(provider).await?;
        self.fetch_batch(provider, number).await
    }

    /// Catches up with the Rollup's events (see [`BatchIndex::catch_up`]); returns the L1 head
    /// read to.
    async fn catch_up(&mut self, provider: &DynProvider) -> Result<u64, NotYet> {
        self.batches
            .catch_up(provider, self.config.rollup, self.config.from_block)
            .await
    }

    /// Batch `number` as the events read so far tell: its transaction and data from L1.
    async fn fetch_batch(
        &mut self,
        provider: &DynProvider,
        number: u64,
    ) -> Result<Option<PostedBatch>, NotYet> {
        let Some(submission) = self.batches.get(number) else {
            return Ok(None);
        };
        match fetch(provider.clone(), number, submission).await? {
            Some(batch) => Ok(Some(batch)),
            None => Err(self.gone(number, submission)),
        }
    }

    /// The submission of batch `number` is not on L1 (a reorg deeper than [`REORG_DEPTH`]
    /// removed it): every event is read again at the next catch-up.
    fn gone(&mut self, number: u64, submission: Submission) -> NotYet {
        self.batches.reset();
        rpc(format!(
            "transaction {} of batch {number} not found (an L1 reorg?): reading the Rollup's events again",
            submission.tx
        ))
    }

    /// The portal's deposits made by the end of L1 block `block`.
    fn deposits_at(&self, block: u64) -> &[PortalDeposit] {
        deposits_at(&self.deposits, &self.deposit_blocks, block)
    }

    /// Reads the portal's deposits up to `block`, in ranges of at most [`MAX_LOG_RANGE`] blocks.
    async fn read_deposits(&mut self, provider: &DynProvider, block: u64) -> Result<(), NotYet> {
        let portal = GhostPlanePortal::new(self.config.portal, provider);
        loop {
            let from = self
                .deposits_read_to
                .map_or(self.config.from_block, |b| b.saturating_add(1));
            if from > block {
                return Ok(());
            }
            let to = from
                .saturating_add(MAX_LOG_RANGE.saturating_sub(1))
                .min(block);
            let mut logs = portal
                .Deposited_filter()
                .from_block(from)
                .to_block(to)
                .query()
                .await
                .map_err(rpc)?;
            logs.sort_by_key(|(_, l)| (l.block_number, l.log_index));
            for (d, log) in logs {
                if d.index as usize == self.deposits.len() {
                    let block = log.block_number.ok_or_else(|| rpc("log without a block"))?;
                    self.deposit_blocks.push(block);
                    self.deposits.push(PortalDeposit {
                        l1_sender: d.l1Sender,
                        recipient: d.recipient,
                        token: d.token,
                        amount: d.amount,
                    });
                }
            }
            self.deposits_read_to = Some(to);
        }
    }

    /// Checks every batch posted since the last call, in order. Stops at the first fraud (later
    /// batches build on it and are cut with it) or at the first batch not checkable yet.
    pub async fn poll(
        &mut self,
        provider: &DynProvider,
        status: &ChallengerStatus,
    ) -> Result<(), NotYet> {
        // Once per poll: new batches, and batches cut and posted again, are seen; deposits are
        // read up to the same head.
        let head = self.catch_up(provider).await?;
        self.read_deposits(provider, head).await?;
        let mut ahead = Ahead::default();
        loop {
            while ahead.0.len() < PREFETCH {
                let number = self.next.saturating_add(ahead.0.len() as u64);
                let Some(submission) = self.batches.get(number) else {
                    break;
                };
                let task = tokio::spawn(fetch(provider.clone(), number, submission));
                ahead.0.push_back((number, submission, task));
            }
            let Some((number, submission, task)) = ahead.0.pop_front() else {
                return Ok(());
            };
            let fetched = task
                .await
                .map_err(|e| rpc(format!("fetching batch {number}: {e}")))??;
            let Some(batch) = fetched else {
                return Err(self.gone(number, submission));
            };
            self.read_deposits(provider, batch.block).await?;
            let verdict = self.replayer.replay(
                &batch.header,
                &batch.records,
                deposits_at(&self.deposits, &self.deposit_blocks, batch.block),
            );
            match verdict {
                Verdict::Honest => {
                    tracing::info!(batch = self.next, "batch replayed: honest");
                    status.with(|s| s.checked = self.next);
                    self.next = self.next.saturating_add(1);
                }
                other => {
                    let new = status.with(|s| s.frauds.insert(self.next, other.clone()).is_none());
                    if new {
                        tracing::error!(batch = self.next, verdict = ?other, "FRAUD in a posted batch");
                    }
                    return Ok(());
                }
            }
        }
    }
}

/// Why a fraud proof could not be built or was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// This verdict has no one-transaction proof built here yet.
    #[error("no proof built for {0:?}")]
    Unsupported(Verdict),
    /// Openings or witnesses could not be built.
    #[error("building the proof: {0}")]
    Build(String),
    /// The L1 node did not answer or the Rollup refused (a proof is simulated first).
    #[error("L1: {0}")]
    L1(String),
}

impl Challenger {
    /// The `proveFraud` / `proveFinalFraud` calldata for `verdict` on `batch` (which must be the
    /// batch the replayer's state is the start of).
    pub fn proof_calldata(
        &self,
        batch: &PostedBatch,
        verdict: &Verdict,
    ) -> Result<Vec<u8>, ProveError> {
        let build = |e: &dyn std::fmt::Display| ProveError::Build(e.to_string());
        let records = &batch.records;
        let blobs = if batch.header.dataMode == 1 {
            Some(BlobBatch::new(records).map_err(|e| build(&e))?)
        } else {
            None
        };
        match verdict {
            Verdict::Fraud { index, .. } => {
                let i = *index;
                let w = self
                    .replayer
                    .witness(&batch.header, records, self.deposits_at(batch.block), i)
                    .ok_or_else(|| build(&"the batch does not start at the replayed tip"))?;
                let (siblings, _) =
                    settlement::sequential_siblings(self.config.depth, &w.accounts, &w.finals)
                        .map_err(|e| build(&e))?;
                let accounts = w
                    .accounts
                    .iter()
                    .zip(siblings)
                    .map(|(p, sib)| settlement::account_witness(p.slot, &p.state, sib))
                    .collect();
                let (op, prev) = match &blobs {
                    Some(b) => (
                        b.record_opening(records, i).map_err(|e| build(&e))?,
                        if i == 0 {
                            settlement::prev_opening(records, 0)
                        } else {
                            b.commitment_opening(records, i.saturating_sub(1))
                                .map_err(|e| build(&e))?
                        },
                    ),
                    None => (
                        settlement::record_opening(records, i),
                        settlement::prev_opening(records, i),
                    ),
                };
                Ok(settlement::prove_fraud_calldata(
                    &batch.record,
                    &settlement::FraudWitness {
                        op,
                        prev,
                        pre: w.pre,
                        accounts,
                        withdrawal_siblings: w.withdrawal_siblings,
                    },
                ))
            }
            Verdict::FinalState { .. } if blobs.is_none() || records.is_empty() => Ok(
                settlement::prove_final_fraud_calldata(&batch.record, records),
            ),
            Verdict::FinalState { .. } => {
                let b = blobs.as_ref().ok_or_else(|| build(&"no blobs"))?;
                let last = b
                    .commitment_opening(records, records.len().saturating_sub(1))
                    .map_err(|e| build(&e))?;
                Ok(abi::IGhostPlaneRollup::proveFinalFraudCall {
                    batch: batch.record.clone(),
                    last,
                }
                .abi_encode())
            }
            other => Err(ProveError::Unsupported(other.clone())),
        }
    }

    /// Sends the proof of `verdict` on `batch` from `prover` (simulated first: a proof the
    /// Rollup refuses is never sent). Returns the transaction hash.
    pub async fn prove(
        &self,
        prover: &DynProvider,
        batch: &PostedBatch,
        verdict: &Verdict,
    ) -> Result<B256, ProveError> {
        use alloy::network::TransactionBuilder;
        let l1 = |e: &dyn std::fmt::Display| ProveError::L1(e.to_string());
        let call = alloy::rpc::types::TransactionRequest::default()
            .with_to(self.config.rollup)
            .with_input(self.proof_calldata(batch, verdict)?);
        let gas = prover
            .estimate_gas(call.clone())
            .await
            .map_err(|e| l1(&format!("the Rollup refuses the proof: {e}")))?;
        let receipt = prover
            .send_transaction(call.with_gas_limit(gas.saturating_mul(5) / 4))
            .await
            .map_err(|e| l1(&e))?
            .get_receipt()
            .await
            .map_err(|e| l1(&e))?;
        if !receipt.status() {
            return Err(l1(&format!(
                "proof reverted in {}",
                receipt.transaction_hash
            )));
        }
        Ok(receipt.transaction_hash)
    }

    /// The batch the replayer stopped at (the first one not honest), read again.
    pub async fn pending_batch(
        &mut self,
        provider: &DynProvider,
    ) -> Result<Option<PostedBatch>, NotYet> {
        let batch = self.read_batch(provider, self.next).await?;
        if let Some(b) = &batch {
            // Its witnesses need the deposits up to its block.
            self.read_deposits(provider, b.block).await?;
        }
        Ok(batch)
    }
}

/// Watches until the task is dropped; with a `prover`, proves every fraud it finds (once per
/// batch submission; a proof the Rollup refuses is retried at the next poll).
pub async fn run(
    provider: DynProvider,
    prover: Option<DynProvider>,
    config: ChallengerConfig,
    status: Arc<ChallengerStatus>,
) {
    let poll = config.poll;
    let mut c = Challenger::new(config);
    let mut proven: std::collections::HashSet<B256> = std::collections::HashSet::new();
    loop {
        let r = c.poll(&provider, &status).await;
        status.with(|s| s.not_yet = r.as_ref().err().map(ToString::to_string));
        if let Err(e) = &r {
            tracing::warn!(error = %e, "cannot check yet; retrying");
        }
        let fraud = status.with(|s| s.frauds.get(&c.next).cloned());
        if let (Some(prover), Some(verdict)) = (&prover, fraud) {
            match c.pending_batch(&provider).await {
                Ok(Some(batch)) if !proven.contains(&batch.tx) => {
                    match c.prove(prover, &batch, &verdict).await {
                        Ok(tx) => {
                            tracing::warn!(batch = c.next, %tx, "fraud proven on L1");
                            proven.insert(batch.tx);
                            status.with(|s| s.proven = s.proven.saturating_add(1));
                        }
                        Err(e) => {
                            tracing::error!(batch = c.next, error = %e, "proving failed; retrying")
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the fraudulent batch yet"),
            }
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use alloy::primitives::{LogData, U256};

    const ROLLUP: Address = Address::repeat_byte(0x11);

    fn log(block: u64, index: u64, data: LogData) -> Log {
        Log {
            inner: alloy::primitives::Log {
                address: ROLLUP,
                data,
            },
            block_number: Some(block),
            log_index: Some(index),
            transaction_hash: Some(B256::with_last_byte(
                u8::try_from(block * 4 + index).unwrap(),
            )),
            ..Log::default()
        }
    }

    fn submitted(block: u64, index: u64, number: u64) -> Log {
        let e = GhostPlaneRollup::BatchSubmitted {
            number,
            proposer: Address::repeat_byte(0x22),
            headerHash: B256::ZERO,
            withdrawalsRoot: B256::ZERO,
            submittedAt: block * 12,
            recordHash: B256::ZERO,
            finalAt: 0,
        };
        log(block, index, e.encode_log_data())
    }

    fn cut(block: u64, index: u64, number: u64) -> Log {
        let e = GhostPlaneRollup::FraudProven {
            number,
            proposer: Address::repeat_byte(0x22),
            prover: Address::repeat_byte(0x33),
            slashed: U256::ZERO,
            reward: U256::ZERO,
        };
        log(block, index, e.encode_log_data())
    }

    /// (batch, the block of its live submission) for batches 1..=6.
    fn live(index: &BatchIndex) -> Vec<(u64, Option<u64>)> {
        (1..=6)
            .map(|n| (n, index.get(n).map(|s| s.block)))
            .collect()
    }

    fn first_again(logs: &[Log], boundary: u64) -> Vec<Log> {
        logs.iter()
            .filter(|l| l.block_number < Some(boundary))
            .cloned()
            .collect()
    }

    #[test]
    fn the_last_submission_wins_and_a_cut_drops_every_later_batch() {
        // Batches 1..4 posted; a proof cuts 3 (and 4); 3 and 4 posted again; 5 posted; two
        // events in block 20, given out of order.
        let logs = [
            submitted(10, 0, 1),
            submitted(11, 0, 2),
            submitted(12, 0, 3),
            submitted(13, 0, 4),
            cut(15, 1, 3),
            submitted(16, 0, 3),
            submitted(20, 2, 5),
            submitted(20, 1, 4),
        ];
        let want = vec![
            (1, Some(10)),
            (2, Some(11)),
            (3, Some(16)),
            (4, Some(20)),
            (5, Some(20)),
            (6, None),
        ];
        // However the events split between the settled part and the recent one, and across
        // ranges, the same batches are live.
        for settle_line in 0..=21 {
            for boundary in 0..=21 {
                let (first, second): (Vec<Log>, Vec<Log>) = logs
                    .iter()
                    .cloned()
                    .partition(|l| l.block_number < Some(boundary));
                let mut index = BatchIndex::default();
                let mut recent = Vec::new();
                index.fold(first, settle_line, &mut recent).unwrap();
                index.fold(second, settle_line, &mut recent).unwrap();
                index.recent = recent;
                assert_eq!(
                    live(&index),
                    want,
                    "settled to {settle_line}, ranges split at {boundary}"
                );
                // A catch-up failing after the first range, then one reading everything again:
                // the events folded twice change nothing.
                let mut index = BatchIndex::default();
                let mut recent = Vec::new();
                index
                    .fold(first_again(&logs, boundary), settle_line, &mut recent)
                    .unwrap();
                let mut recent = Vec::new();
                index.fold(logs.to_vec(), settle_line, &mut recent).unwrap();
                index.recent = recent;
                assert_eq!(live(&index), want, "read again after {boundary}");
            }
        }
        // Before the re-posts: 3 and 4 are gone (not "posted"), 1 and 2 stay.
        let mut index = BatchIndex::default();
        let mut recent = Vec::new();
        index.fold(logs[..5].to_vec(), 12, &mut recent).unwrap();
        index.recent = recent;
        assert_eq!(
            live(&index),
            vec![
                (1, Some(10)),
                (2, Some(11)),
                (3, None),
                (4, None),
                (5, None),
                (6, None)
            ]
        );
    }
}
