//! Posts every sealed batch to `GhostPlaneRollup.submitBatch`, in order, as EIP-4844 blobs (one
//! type-3 transaction carrying ceil(ops / 1024) blobs) or, in calldata mode, with the records in
//! calldata.
//!
//! At most once per batch: the Rollup takes batch `n` only when its tip is `n − 1`, so before
//! every attempt the poster reads the tip, and a batch already on L1 (a resend that landed, a
//! restarted poster) is not sent again. A transaction not mined within `receipt_timeout` is
//! replaced on the same nonce with doubled fees (blob gas included), up to the configured caps.
//! A batch an L1 reorg removes after it landed is posted again from a retained copy.
//!
//! With `max_in_flight` > 1 the poster sends the next batches on the following nonces without
//! waiting for the first to be mined (several batches per L1 block). Anything irregular (a
//! revert, no receipt in time, an RPC error while sending) sends the batches back to the line and
//! the first one goes the careful way above (tip read, fee bumps, reorg re-posts).

use alloy::eips::eip4844::{BlobTransactionSidecar, Bytes48};
use alloy::network::{TransactionBuilder, TransactionBuilder4844};
use alloy::primitives::{Address, Bytes, FixedBytes, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use ghostbridge_sequencer::ledger::BatchSettlement;
use ghostbridge_sequencer::sequencer::{SealedBatch, SettlementSink, SinkError};
use ghostbridge_sequencer::settlement::{self, abi, kzg::BlobBatch};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use crate::bindings::rollup::GhostPlaneRollup;

/// Where a batch's op records go on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// EIP-4844 blobs (the Rollup reads their versioned hashes with BLOBHASH).
    Blobs,
    /// Calldata (chains without blobs); the Rollup computes the records' Merkle root.
    Calldata,
}

/// Most blobs one transaction may carry (EIP-7594, in force since Osaka; anvil's default).
pub const MAX_BLOBS_PER_TX: usize = 6;

/// Most records one calldata batch carries: 768 × 124 B = 95 KB of calldata, under the 128 KiB
/// transaction size geth's pool accepts.
pub const MAX_CALLDATA_RECORDS: usize = 768;

impl DataMode {
    /// Most ops one batch can carry in this mode (the engine must not seal more).
    pub const fn max_ops(self) -> usize {
        match self {
            Self::Blobs => MAX_BLOBS_PER_TX * settlement::RECORDS_PER_BLOB,
            Self::Calldata => MAX_CALLDATA_RECORDS,
        }
    }
}

/// Poster settings.
#[derive(Debug, Clone)]
pub struct PosterConfig {
    /// The Rollup.
    pub rollup: Address,
    /// The bonded proposer the provider signs for.
    pub proposer: Address,
    /// Blobs or calldata.
    pub mode: DataMode,
    /// How long to wait for a receipt before replacing the transaction with higher fees.
    pub receipt_timeout: Duration,
    /// Most wei per gas the poster pays.
    pub max_fee_per_gas: u128,
    /// Most wei per blob gas the poster pays.
    pub max_fee_per_blob_gas: u128,
    /// Batch transactions sent ahead of the oldest unmined one, on consecutive nonces (1: the
    /// next batch is sent once the previous one is mined, so at most one batch lands per L1
    /// block). More lets several batches share a block, which a node sealing faster than L1's
    /// block time needs (op-batcher's `max-pending-tx`).
    pub max_in_flight: usize,
}

/// Why one posting attempt failed. The poster retries every kind (a batch cannot be skipped:
/// the next one builds on it); [`PostError::is_retryable`] says whether waiting can fix it or an
/// operator must act.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The L1 node did not answer or refused the request.
    #[error("L1 RPC: {0}")]
    Rpc(String),
    /// An earlier batch is not on L1 yet.
    #[error("batch {number} is not next: the Rollup's tip is {tip}")]
    NotNext {
        /// The batch.
        number: u64,
        /// The Rollup's last batch.
        tip: u64,
    },
    /// Not mined within the receipt timeout (it is replaced with higher fees).
    #[error("batch {number}: transaction {tx} not mined in time")]
    NotMined {
        /// The batch.
        number: u64,
        /// The transaction.
        tx: B256,
    },
    /// `submitBatch` reverted (not bonded, a forced deposit left out, a batch that does not
    /// follow the tip): waiting does not fix it.
    #[error("batch {number}: submitBatch reverted in {tx}")]
    Reverted {
        /// The batch.
        number: u64,
        /// The transaction.
        tx: B256,
    },
    /// The records could not be put into blobs (a bug).
    #[error("batch {number}: building blobs: {reason}")]
    Blobs {
        /// The batch.
        number: u64,
        /// Why.
        reason: String,
    },
}

impl PostError {
    /// Whether retrying as is may succeed.
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Rpc(_) | Self::NotNext { .. } | Self::NotMined { .. }
        )
    }
}

fn rpc(e: impl std::fmt::Display) -> PostError {
    PostError::Rpc(e.to_string())
}

/// The sequencer's settlement sink: hands each sealed batch to [`run`] without blocking the
/// sequencer.
#[derive(Debug)]
pub struct L1Sink {
    batches: mpsc::UnboundedSender<SealedBatch>,
}

/// A sink and the receiving end [`run`] posts from.
pub fn channel() -> (L1Sink, mpsc::UnboundedReceiver<SealedBatch>) {
    let (batches, rx) = mpsc::unbounded_channel();
    (L1Sink { batches }, rx)
}

impl SettlementSink for L1Sink {
    fn settle(&self, batch: SealedBatch) -> Result<(), SinkError> {
        let batch_number = batch.header.batch_number;
        self.batches.send(batch).map_err(|_| SinkError {
            batch_number,
            reason: "the L1 poster has stopped".into(),
        })
    }
}

/// What the poster has done, for status and tests.
#[derive(Debug, Default)]
pub struct PosterStatus {
    posted: AtomicU64,
    failed_attempts: AtomicU64,
}

impl PosterStatus {
    /// The last batch known to be on L1 (0: none).
    pub fn posted(&self) -> u64 {
        self.posted.load(Ordering::Relaxed)
    }

    /// Failed posting attempts so far.
    pub fn failed_attempts(&self) -> u64 {
        self.failed_attempts.load(Ordering::Relaxed)
    }
}

/// A batch on L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The batch.
    pub number: u64,
    /// The transaction that posted it (`None`: it was on L1 already).
    pub tx: Option<B256>,
}

/// Posted batches kept for re-posting after an L1 reorg removes them (older ones are far below
/// any reorg depth; a restart re-posts from the journal anyway). At most ~1.3 MB each (records
/// only; the raw transactions are dropped).
pub const RETAINED_BATCHES: usize = 64;

/// A batch transaction sent and not yet seen mined.
#[derive(Debug)]
struct InFlight {
    batch: SealedBatch,
    tx: B256,
    nonce: u64,
    sent: Instant,
}

/// A batch's header and data as submitted: calldata records, or a blob sidecar.
type Payload = (abi::BatchHeader, Bytes, Option<BlobTransactionSidecar>);

/// Payloads being built ahead of sending, by batch number. Blob commitments and proofs take
/// ~150 ms of CPU per blob, so they are built on blocking threads while earlier batches are
/// sent and mined, not in the poster's loop.
#[derive(Debug, Default)]
struct Prepared(
    std::collections::HashMap<u64, tokio::task::JoinHandle<Result<Payload, PostError>>>,
);

impl Prepared {
    /// Starts building the payloads of the first `ahead` batches of `line` not started yet.
    fn start(&mut self, line: &VecDeque<SealedBatch>, ahead: usize, mode: DataMode) {
        for batch in line.iter().take(ahead) {
            let number = batch.settlement.l1_header.number;
            self.0.entry(number).or_insert_with(|| {
                let settlement = batch.settlement.clone();
                tokio::task::spawn_blocking(move || payload(&settlement, mode))
            });
        }
    }

    /// Drops builds of batches up to `number` (posted the careful way, which builds its own).
    fn forget_through(&mut self, number: u64) {
        self.0.retain(|n, _| *n > number);
    }

    /// The payload of batch `number` if one was started (`None`: build it now).
    async fn take(&mut self, number: u64) -> Option<Payload> {
        self.0.remove(&number)?.await.ok()?.ok()
    }
}

/// How often the poster looks for the receipt of its oldest batch transaction in flight.
const RECEIPT_POLL: Duration = Duration::from_millis(100);

/// Posts the batches `rx` yields, in order, each until it is on L1. A batch L1 held and then lost
/// (a reorg after it landed: the tip falls below it) is posted again from a retained copy
/// before the next one.
pub async fn run(
    provider: DynProvider,
    config: PosterConfig,
    mut rx: mpsc::UnboundedReceiver<SealedBatch>,
    status: Arc<PosterStatus>,
) {
    let depth = config.max_in_flight.max(1);
    let mut retained: VecDeque<SealedBatch> = VecDeque::new();
    let mut line: VecDeque<SealedBatch> = VecDeque::new();
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut prepared = Prepared::default();
    loop {
        if line.is_empty() && in_flight.is_empty() {
            let Some(batch) = rx.recv().await else {
                return;
            };
            line.push_back(received(batch));
        }
        while let Ok(batch) = rx.try_recv() {
            line.push_back(received(batch));
        }

        prepared.start(
            &line,
            depth.saturating_sub(in_flight.len()).saturating_add(depth),
            config.mode,
        );

        // Send ahead while there is room: the first on the nonce L1 expects after a tip check,
        // the next ones on the following nonces.
        while in_flight.len() < depth {
            let Some(batch) = line.pop_front() else {
                break;
            };
            let ready = prepared.take(batch.settlement.l1_header.number).await;
            let sent = match in_flight.back() {
                None => begin(&provider, &config, &batch, 0, ready).await,
                Some(last) => {
                    let nonce = last.nonce.saturating_add(1);
                    send_ahead(&provider, &config, &batch, nonce, ready)
                        .await
                        .map(|tx| Begun::Sent { tx, nonce })
                }
            };
            match sent {
                Ok(Begun::OnL1) => on_l1(batch, None, &mut retained, &status),
                Ok(Begun::Sent { tx, nonce }) => in_flight.push_back(InFlight {
                    batch,
                    tx,
                    nonce,
                    sent: Instant::now(),
                }),
                Err(e) => {
                    status.failed_attempts.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "sending a batch failed; posting in order");
                    line.push_front(batch);
                    if in_flight.is_empty() {
                        post_in_order(&provider, &config, &mut line, &mut retained, &status).await;
                        prepared.forget_through(status.posted());
                    }
                    break;
                }
            }
        }

        let Some(oldest) = in_flight.front() else {
            continue;
        };
        let failed = match provider.get_transaction_receipt(oldest.tx).await {
            Ok(Some(receipt)) if receipt.status() => {
                if let Some(f) = in_flight.pop_front() {
                    on_l1(f.batch, Some(f.tx), &mut retained, &status);
                }
                continue;
            }
            Ok(Some(_)) => Some(PostError::Reverted {
                number: oldest.batch.settlement.l1_header.number,
                tx: oldest.tx,
            }),
            _ if oldest.sent.elapsed() > config.receipt_timeout => Some(PostError::NotMined {
                number: oldest.batch.settlement.l1_header.number,
                tx: oldest.tx,
            }),
            // Not mined yet, or the node did not answer: look again soon, sending what the
            // sequencer seals meanwhile if there is room.
            _ => None,
        };
        match failed {
            Some(e) => {
                status.failed_attempts.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, in_flight = in_flight.len(), "a batch in flight failed; posting in order");
                for f in in_flight.drain(..).rev() {
                    line.push_front(f.batch);
                }
                post_in_order(&provider, &config, &mut line, &mut retained, &status).await;
                prepared.forget_through(status.posted());
            }
            None if in_flight.len() < depth => {
                tokio::select! {
                    batch = rx.recv() => match batch {
                        Some(batch) => line.push_back(received(batch)),
                        // The sequencer is gone; what is in flight still lands.
                        None => tokio::time::sleep(RECEIPT_POLL).await,
                    },
                    () = tokio::time::sleep(RECEIPT_POLL) => {}
                }
            }
            None => tokio::time::sleep(RECEIPT_POLL).await,
        }
    }
}

/// A batch from the sequencer, as this build posts it.
fn received(batch: SealedBatch) -> SealedBatch {
    #[cfg(feature = "test-lies")]
    let batch = crate::lie::apply(batch);
    batch
}

/// Records `batch` as on L1 and keeps its records for a reorg.
fn on_l1(
    batch: SealedBatch,
    tx: Option<B256>,
    retained: &mut VecDeque<SealedBatch>,
    status: &PosterStatus,
) {
    let number = batch.settlement.l1_header.number;
    tracing::info!(batch = number, ?tx, "batch on L1");
    status.posted.store(number, Ordering::Relaxed);
    retained.push_back(SealedBatch {
        transactions: Vec::new(),
        transaction_hashes: Vec::new(),
        ..batch
    });
    if retained.len() > RETAINED_BATCHES {
        retained.pop_front();
    }
}

/// Posts the first batch of `line` until it is on L1 (fee bumps, retries). If L1 lost batches
/// this poster had posted (a reorg), they go back to the front of the line from the retained
/// copies instead.
async fn post_in_order(
    provider: &DynProvider,
    config: &PosterConfig,
    line: &mut VecDeque<SealedBatch>,
    retained: &mut VecDeque<SealedBatch>,
    status: &PosterStatus,
) {
    let Some(batch) = line.pop_front() else {
        return;
    };
    let number = batch.settlement.l1_header.number;
    match post_until_on_l1(provider, config, &batch, status).await {
        Ok(tx) => on_l1(batch, tx, retained, status),
        Err(tip) => {
            let lost: Vec<SealedBatch> = retained
                .iter()
                .filter(|b| b.settlement.l1_header.number > tip)
                .cloned()
                .collect();
            if lost.first().map(|b| b.settlement.l1_header.number) == Some(tip.saturating_add(1)) {
                tracing::warn!(
                    tip,
                    number,
                    lost = lost.len(),
                    "L1 lost posted batches (a reorg): posting them again"
                );
                retained.retain(|b| b.settlement.l1_header.number <= tip);
            } else {
                tracing::error!(tip, number, "L1 lost batches this poster no longer holds: restart the node (it re-posts them from its journal); retrying");
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            line.push_front(batch);
            for b in lost.into_iter().rev() {
                line.push_front(b);
            }
        }
    }
}

/// Posts `batch` until it is on L1, retrying every failure with backoff. `Err(tip)`: the Rollup's
/// tip is below the batch before it (batches L1 had were lost), so posting it cannot succeed.
async fn post_until_on_l1(
    provider: &DynProvider,
    config: &PosterConfig,
    batch: &SealedBatch,
    status: &PosterStatus,
) -> Result<Option<B256>, u64> {
    let mut attempt: u32 = 0;
    loop {
        match post(provider, config, batch, attempt).await {
            Ok(posted) => return Ok(posted.tx),
            Err(PostError::NotNext { number, tip }) if tip < number.saturating_sub(1) => {
                status.failed_attempts.fetch_add(1, Ordering::Relaxed);
                return Err(tip);
            }
            Err(e) => {
                status.failed_attempts.fetch_add(1, Ordering::Relaxed);
                if e.is_retryable() {
                    tracing::warn!(error = %e, attempt, "posting failed; retrying");
                } else {
                    tracing::error!(error = %e, attempt, "posting failed; retrying, operator action may be needed");
                }
                attempt = attempt.saturating_add(1);
                if !matches!(e, PostError::NotMined { .. }) {
                    let backoff = Duration::from_millis(250)
                        .saturating_mul(1 << attempt.min(7))
                        .min(Duration::from_secs(30));
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }
}

/// The header and payload of a batch in `mode` (an empty batch always goes as calldata: a
/// type-3 transaction needs a blob, and the Rollup wants ceil(0 / 1024) = 0 of them).
fn payload(s: &BatchSettlement, mode: DataMode) -> Result<Payload, PostError> {
    let number = s.l1_header.number;
    if mode == DataMode::Calldata || s.records.is_empty() {
        let records: Vec<u8> = s.records.iter().flatten().copied().collect();
        return Ok((s.l1_header.clone(), Bytes::from(records), None));
    }
    let blobs_err = |reason: String| PostError::Blobs { number, reason };
    let blobs = BlobBatch::new(&s.records).map_err(|e| blobs_err(e.to_string()))?;
    let proofs = blobs.blob_proofs().map_err(|e| blobs_err(e.to_string()))?;
    let mut header = s.l1_header.clone();
    header.dataMode = 1;
    header.dataCommitment = blobs.data_commitment();
    let sidecar = BlobTransactionSidecar {
        blobs: blobs.blobs.iter().map(|b| FixedBytes::from(*b)).collect(),
        commitments: blobs
            .commitments
            .iter()
            .map(|c| Bytes48::from(*c))
            .collect(),
        proofs: proofs.into_iter().map(Bytes48::from).collect(),
    };
    Ok((header, Bytes::new(), Some(sidecar)))
}

/// The header `batch` is (or would be) submitted with in `mode`: what the Rollup's
/// `BatchSubmitted` event hashes as `headerHash`.
pub fn posted_header(batch: &SealedBatch, mode: DataMode) -> Result<abi::BatchHeader, PostError> {
    payload(&batch.settlement, mode).map(|(header, _, _)| header)
}

/// The first step of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Begun {
    /// The batch is on L1 already (a resend that landed, a restarted poster).
    OnL1,
    /// Its transaction was sent on `nonce`.
    Sent {
        /// The transaction.
        tx: B256,
        /// Its nonce.
        nonce: u64,
    },
}

/// One attempt at putting `batch` on L1 (`attempt` > 0 doubles the fees per earlier attempt).
pub async fn post(
    provider: &DynProvider,
    config: &PosterConfig,
    batch: &SealedBatch,
    attempt: u32,
) -> Result<Posted, PostError> {
    let number = batch.settlement.l1_header.number;
    let Begun::Sent { tx, .. } = begin(provider, config, batch, attempt, None).await? else {
        return Ok(Posted { number, tx: None });
    };
    let pending = alloy::providers::PendingTransactionBuilder::new(provider.root().clone(), tx);
    match tokio::time::timeout(config.receipt_timeout, pending.get_receipt()).await {
        Ok(Ok(receipt)) if receipt.status() => Ok(Posted {
            number,
            tx: Some(tx),
        }),
        // A revert: another copy may have landed first (then the next attempt sees the tip).
        Ok(Ok(_)) => Err(PostError::Reverted { number, tx }),
        Ok(Err(e)) => Err(rpc(e)),
        Err(_) => Err(PostError::NotMined { number, tx }),
    }
}

/// Reads the tip and, if `batch` is next, sends it on the nonce L1 expects (the mined count,
/// not the pending one: a replacement reuses a stuck transaction's nonce).
async fn begin(
    provider: &DynProvider,
    config: &PosterConfig,
    batch: &SealedBatch,
    attempt: u32,
    ready: Option<Payload>,
) -> Result<Begun, PostError> {
    let number = batch.settlement.l1_header.number;
    let rollup = GhostPlaneRollup::new(config.rollup, provider);
    let tip = rollup.tip().call().await.map_err(rpc)?;
    if tip >= number {
        return Ok(Begun::OnL1);
    }
    if tip.saturating_add(1) != number {
        return Err(PostError::NotNext { number, tip });
    }
    let nonce = provider
        .get_transaction_count(config.proposer)
        .latest()
        .await
        .map_err(rpc)?;
    let tx = send(provider, config, batch, nonce, attempt, None, ready).await?;
    Ok(Begun::Sent { tx, nonce })
}

/// Sends `batch` on `nonce` while the batch before it is still in flight. Its gas cannot be
/// estimated (on the mined state the Rollup's tip is behind it, so the call reverts), so the
/// limit is a bound on what `submitBatch` can use: ~75k in blob mode whatever the size, ~450 gas
/// per record plus 40 gas per calldata byte (the EIP-7623 floor) in calldata mode. Only gas used
/// is paid.
async fn send_ahead(
    provider: &DynProvider,
    config: &PosterConfig,
    batch: &SealedBatch,
    nonce: u64,
    ready: Option<Payload>,
) -> Result<B256, PostError> {
    let records = batch.settlement.records.len() as u64;
    let gas = match config.mode {
        DataMode::Blobs if records > 0 => 500_000,
        _ => 500_000u64.saturating_add(records.saturating_mul(8_000)),
    };
    send(provider, config, batch, nonce, 0, Some(gas), ready).await
}

/// Builds, prices (`attempt` > 0 doubles the fees per earlier attempt) and sends `batch`'s
/// transaction on `nonce` (with `gas`, or the provider's estimate: a simulation that refuses a
/// batch L1 would revert), with its payload if it was built ahead.
async fn send(
    provider: &DynProvider,
    config: &PosterConfig,
    batch: &SealedBatch,
    nonce: u64,
    attempt: u32,
    gas: Option<u64>,
    ready: Option<Payload>,
) -> Result<B256, PostError> {
    let started = Instant::now();
    let (header, records, sidecar) = match ready {
        Some(p) => p,
        None => payload(&batch.settlement, config.mode)?,
    };
    let built = started.elapsed();
    let input = abi::IGhostPlaneRollup::submitBatchCall { header, records }.abi_encode();
    let fees = provider.estimate_eip1559_fees().await.map_err(rpc)?;
    let bump = 1u128 << attempt.min(16);
    let max_fee = fees
        .max_fee_per_gas
        .saturating_mul(2)
        .saturating_mul(bump)
        .min(config.max_fee_per_gas);
    let priority = fees
        .max_priority_fee_per_gas
        .saturating_mul(bump)
        .min(max_fee);
    let mut request = TransactionRequest::default()
        .with_from(config.proposer)
        .with_to(config.rollup)
        .with_input(input)
        .with_nonce(nonce)
        .with_max_fee_per_gas(max_fee)
        .with_max_priority_fee_per_gas(priority);
    if let Some(gas) = gas {
        request = request.with_gas_limit(gas);
    }
    if let Some(sidecar) = sidecar {
        let blob_base = provider.get_blob_base_fee().await.map_err(rpc)?;
        let blob_fee = blob_base
            .max(1)
            .saturating_mul(2)
            .saturating_mul(bump)
            .min(config.max_fee_per_blob_gas);
        request = request
            .with_blob_sidecar(sidecar)
            .with_max_fee_per_blob_gas(blob_fee);
    }
    let pending = provider.send_transaction(request).await.map_err(rpc)?;
    tracing::debug!(
        batch = batch.settlement.l1_header.number,
        nonce,
        build_ms = built.as_millis(),
        send_ms = started.elapsed().saturating_sub(built).as_millis(),
        "batch transaction sent"
    );
    Ok(*pending.tx_hash())
}
