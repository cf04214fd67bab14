//! Posts every sealed batch to `GhostPlaneRollup.submitBatch`, in order, as EIP-4844 blobs (one
//! type-3 transaction carrying ceil(ops / 819) blobs) or, in calldata mode, with the records in
//! calldata.
//!
//! At most once per batch: the Rollup takes batch `n` only when its tip is `n − 1`, so before
//! every attempt the poster reads the tip, and a batch already on L1 (a resend that landed, a
//! restarted poster) is not sent again. A transaction not mined within `receipt_timeout` is
//! replaced on the same nonce with doubled fees (blob gas included), up to the configured caps.
//! A batch an L1 reorg removes after it landed is posted again from a retained copy.

use alloy::eips::eip4844::{BlobTransactionSidecar, Bytes48};
use alloy::network::{TransactionBuilder, TransactionBuilder4844};
use alloy::primitives::{Address, Bytes, FixedBytes, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use ghostbridge_sequencer::sequencer::{SealedBatch, SettlementSink, SinkError};
use ghostbridge_sequencer::settlement::{abi, kzg::BlobBatch};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
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

/// Posts the batches `rx` yields, in order, each until it is on L1. A batch L1 held and then lost
/// (a reorg after it landed: the tip falls below it) is posted again from a retained copy
/// before the next one.
pub async fn run(
    provider: DynProvider,
    config: PosterConfig,
    mut rx: mpsc::UnboundedReceiver<SealedBatch>,
    status: Arc<PosterStatus>,
) {
    let mut retained: std::collections::VecDeque<SealedBatch> = std::collections::VecDeque::new();
    while let Some(batch) = rx.recv().await {
        #[cfg(feature = "test-lies")]
        let batch = crate::lie::apply(batch);
        let mut queue = std::collections::VecDeque::from([batch]);
        while let Some(batch) = queue.pop_front() {
            let number = batch.settlement.l1_header.number;
            match post_until_on_l1(&provider, &config, &batch, &status).await {
                Ok(()) => {
                    retained.push_back(SealedBatch {
                        transactions: Vec::new(),
                        transaction_hashes: Vec::new(),
                        ..batch
                    });
                    if retained.len() > RETAINED_BATCHES {
                        retained.pop_front();
                    }
                }
                Err(tip) => {
                    let lost: Vec<SealedBatch> = retained
                        .iter()
                        .filter(|b| b.settlement.l1_header.number > tip)
                        .cloned()
                        .collect();
                    if lost.first().map(|b| b.settlement.l1_header.number)
                        == Some(tip.saturating_add(1))
                    {
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
                    queue.push_front(batch);
                    for b in lost.into_iter().rev() {
                        queue.push_front(b);
                    }
                }
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
) -> Result<(), u64> {
    let mut attempt: u32 = 0;
    loop {
        match post(provider, config, batch, attempt).await {
            Ok(posted) => {
                tracing::info!(batch = posted.number, tx = ?posted.tx, "batch on L1");
                status.posted.store(posted.number, Ordering::Relaxed);
                return Ok(());
            }
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
/// type-3 transaction needs a blob, and the Rollup wants ceil(0 / 819) = 0 of them).
fn payload(
    batch: &SealedBatch,
    mode: DataMode,
) -> Result<(abi::BatchHeader, Bytes, Option<BlobTransactionSidecar>), PostError> {
    let s = &batch.settlement;
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
    payload(batch, mode).map(|(header, _, _)| header)
}

/// One attempt at putting `batch` on L1 (`attempt` > 0 doubles the fees per earlier attempt).
pub async fn post(
    provider: &DynProvider,
    config: &PosterConfig,
    batch: &SealedBatch,
    attempt: u32,
) -> Result<Posted, PostError> {
    let number = batch.settlement.l1_header.number;
    let rollup = GhostPlaneRollup::new(config.rollup, provider);
    let tip = rollup.tip().call().await.map_err(rpc)?;
    if tip >= number {
        return Ok(Posted { number, tx: None });
    }
    if tip.saturating_add(1) != number {
        return Err(PostError::NotNext { number, tip });
    }
    let (header, records, sidecar) = payload(batch, config.mode)?;
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
    // The mined count, not the pending one: a replacement reuses the stuck transaction's nonce.
    let nonce = provider
        .get_transaction_count(config.proposer)
        .latest()
        .await
        .map_err(rpc)?;
    let mut request = TransactionRequest::default()
        .with_from(config.proposer)
        .with_to(config.rollup)
        .with_input(input)
        .with_nonce(nonce)
        .with_max_fee_per_gas(max_fee)
        .with_max_priority_fee_per_gas(priority);
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
    let tx = *pending.tx_hash();
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
