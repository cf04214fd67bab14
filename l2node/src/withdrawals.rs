//! Finalizing an L2 withdrawal on L1 from L1 data plus the leaf and siblings the L2 gives
//! (`gp_getWithdrawalProof`, or rebuilt from the batch's published records): the batch's
//! header hash, withdrawals root, submission time and proposer come from the Rollup's
//! `BatchSubmitted` event, so no archive node is needed.

use alloy::primitives::{Address, B256};
use alloy::providers::DynProvider;
use alloy::rpc::types::TransactionReceipt;
use ghostbridge_sequencer::sequencer::WithdrawalProof;

use crate::bindings::portal::{GhostPlanePortal, IGhostPlaneTypes};
use crate::bindings::rollup::GhostPlaneRollup;

/// A batch as its `BatchSubmitted` event recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOnL1 {
    /// Batch number.
    pub number: u64,
    /// keccak256(abi.encode(header)).
    pub header_hash: B256,
    /// The batch's withdrawals root.
    pub withdrawals_root: B256,
    /// Block timestamp of the submission.
    pub submitted_at: u64,
    /// Who submitted it.
    pub proposer: Address,
    /// When its challenge window ends.
    pub final_at: u64,
}

/// Why a finalization could not be sent or was refused.
#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    /// The L1 node did not answer (retry).
    #[error("L1 RPC: {0}")]
    Rpc(String),
    /// No `BatchSubmitted` event for the batch since `from_block` (not posted yet: retry later).
    #[error("batch {0} is not on L1 yet")]
    NotPosted(u64),
    /// The portal refused (not final yet, already claimed, a wrong proof): its reason.
    #[error("finalizeWithdrawal refused: {0}")]
    Refused(String),
}

/// The last submission of batch `number` (a batch cut by a fraud proof is submitted again
/// under the same number; the last event is the live one).
pub async fn batch_on_l1(
    provider: &DynProvider,
    rollup: Address,
    number: u64,
    from_block: u64,
) -> Result<Option<BatchOnL1>, FinalizeError> {
    let events = GhostPlaneRollup::new(rollup, provider)
        .BatchSubmitted_filter()
        .topic1(B256::from(alloy::primitives::U256::from(number)))
        .from_block(from_block)
        .query()
        .await
        .map_err(|e| FinalizeError::Rpc(e.to_string()))?;
    Ok(events.last().map(|(e, _)| BatchOnL1 {
        number: e.number,
        header_hash: e.headerHash,
        withdrawals_root: e.withdrawalsRoot,
        submitted_at: e.submittedAt,
        proposer: e.proposer,
        final_at: e.finalAt,
    }))
}

/// Sends `finalizeWithdrawal` for `proof` (the provider signs; anyone may send it, the portal
/// pays the leaf's L1 recipient). A refusal carries the portal's reason.
pub async fn finalize(
    provider: &DynProvider,
    portal: Address,
    proof: &WithdrawalProof,
    batch: &BatchOnL1,
) -> Result<TransactionReceipt, FinalizeError> {
    let w = &proof.withdrawal;
    let siblings: [B256; 16] = proof.siblings.as_slice().try_into().map_err(|_| {
        FinalizeError::Refused(format!("{} siblings, not 16", proof.siblings.len()))
    })?;
    let portal = GhostPlanePortal::new(portal, provider);
    let call = portal.finalizeWithdrawal(
        IGhostPlaneTypes::Withdrawal {
            batchNumber: w.batchNumber,
            index: w.index,
            from: w.from,
            l1Recipient: w.l1Recipient,
            token: w.token,
            amount: w.amount,
        },
        siblings,
        batch.header_hash,
        batch.withdrawals_root,
        batch.submitted_at,
        batch.proposer,
    );
    // Simulated first: a refusal comes back with the portal's custom error, before a nonce is
    // taken (a provider that caches nonces would otherwise leave a gap behind a failed send).
    call.call()
        .await
        .map_err(|e| FinalizeError::Refused(e.to_string()))?;
    let pending = call
        .send()
        .await
        .map_err(|e| FinalizeError::Refused(e.to_string()))?;
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|e| FinalizeError::Rpc(e.to_string()))?;
    if !receipt.status() {
        return Err(FinalizeError::Refused(format!(
            "reverted in {}",
            receipt.transaction_hash
        )));
    }
    Ok(receipt)
}
