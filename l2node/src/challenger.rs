//! The challenger's watch: re-derives every batch posted to `GhostPlaneRollup` from L1 data
//! alone (the `submitBatch` transaction's calldata, or its blobs, and the portal's deposits) and
//! replays it with [`Replayer`], an executor independent of the Zig engine. Each batch ends
//! checked (honest), found fraudulent (the op and the rule), or not checkable yet (an RPC error,
//! blobs not served yet, deposits not read yet): the last is retried and never reported as fraud.
//!
//! Blob contents come from `anvil_getBlobsByTransactionHash` (anvil has no beacon API); they are
//! only believed when they re-commit to the header's data commitment.

use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::sol_types::SolCall;
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

/// The state the challenger keeps between polls.
#[derive(Debug)]
pub struct Challenger {
    config: ChallengerConfig,
    replayer: Replayer,
    next: u64,
    deposits: Vec<PortalDeposit>,
    deposits_read_to: Option<u64>,
}

impl Challenger {
    /// A challenger from genesis.
    pub fn new(config: ChallengerConfig) -> Self {
        Self {
            replayer: Replayer::genesis(config.depth, config.base_fee, config.fee_collector),
            config,
            next: 1,
            deposits: Vec::new(),
            deposits_read_to: None,
        }
    }

    /// The replayed tip's state (what the next batch must start from).
    pub fn state(&self) -> ghostbridge_sequencer::roots::StepState {
        self.replayer.state()
    }

    /// Reads batch `number`'s last submission from L1 (`None`: not posted).
    pub async fn read_batch(
        &self,
        provider: &DynProvider,
        number: u64,
    ) -> Result<Option<PostedBatch>, NotYet> {
        let events = GhostPlaneRollup::new(self.config.rollup, provider)
            .BatchSubmitted_filter()
            .topic1(B256::from(alloy::primitives::U256::from(number)))
            .from_block(self.config.from_block)
            .query()
            .await
            .map_err(rpc)?;
        let Some((event, log)) = events.last() else {
            return Ok(None);
        };
        let (submitted_at, proposer) = (event.submittedAt, event.proposer);
        let tx = log
            .transaction_hash
            .ok_or_else(|| rpc("log without a transaction"))?;
        let block = log.block_number.ok_or_else(|| rpc("log without a block"))?;
        let t = provider
            .get_transaction_by_hash(tx)
            .await
            .map_err(rpc)?
            .ok_or_else(|| rpc(format!("transaction {tx} not found")))?;
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
            // Filled in place: a 128 KiB array passed by value through iterator adapters
            // overflows a debug build's stack.
            let mut blobs: Vec<Blob> = vec![[0u8; BLOB_LEN]; raw.len()];
            for (dst, b) in blobs.iter_mut().zip(&raw) {
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
            if recommitted != header.dataCommitment {
                // Either the node served other blobs, or an element does not start with a zero
                // byte (unreadable by an opening: `proveMalformedElement`).
                let malformed = settlement::malformed_elements(&blobs, n);
                if malformed.is_empty() {
                    return Err(NotYet::Blobs {
                        batch: number,
                        reason: "the served blobs do not commit to the header".into(),
                    });
                }
            }
            records
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

    /// Reads the portal's deposits up to `block`.
    async fn read_deposits(&mut self, provider: &DynProvider, block: u64) -> Result<(), NotYet> {
        let from = self
            .deposits_read_to
            .map_or(self.config.from_block, |b| b.saturating_add(1));
        if from > block {
            return Ok(());
        }
        let mut logs = GhostPlanePortal::new(self.config.portal, provider)
            .Deposited_filter()
            .from_block(from)
            .to_block(block)
            .query()
            .await
            .map_err(rpc)?;
        logs.sort_by_key(|(_, l)| (l.block_number, l.log_index));
        for (d, _) in logs {
            if d.index as usize == self.deposits.len() {
                self.deposits.push(PortalDeposit {
                    l1_sender: d.l1Sender,
                    recipient: d.recipient,
                    token: d.token,
                    amount: d.amount,
                });
            }
        }
        self.deposits_read_to = Some(block);
        Ok(())
    }

    /// Checks every batch posted since the last call, in order. Stops at the first fraud (later
    /// batches build on it and are cut with it) or at the first batch not checkable yet.
    pub async fn poll(
        &mut self,
        provider: &DynProvider,
        status: &ChallengerStatus,
    ) -> Result<(), NotYet> {
        loop {
            let Some(batch) = self.read_batch(provider, self.next).await? else {
                return Ok(());
            };
            self.read_deposits(provider, batch.block).await?;
            let verdict = self
                .replayer
                .replay(&batch.header, &batch.records, &self.deposits);
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
                    .witness(&batch.header, records, &self.deposits, i)
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
        &self,
        provider: &DynProvider,
    ) -> Result<Option<PostedBatch>, NotYet> {
        self.read_batch(provider, self.next).await
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
