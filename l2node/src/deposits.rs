//! Follows `GhostPlanePortal`'s `Deposited` events past a confirmation depth and applies each
//! deposit to the sequencer in index order: never twice (an index below the L2's deposit cursor
//! is skipped), never skipped (an index above it is a gap: nothing is applied and the range is
//! read again). A range is only left behind once every deposit in it is applied, so a deposit
//! the sequencer cannot take yet (its batch is full) is retried at the next poll.

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use alloy::sol_types::SolEvent;
use ghostbridge_agent::events::EventSource;
use ghostbridge_sequencer::sequencer::SequencerHandle;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::bindings::portal::GhostPlanePortal;

/// Follower settings.
#[derive(Debug, Clone)]
pub struct DepositConfig {
    /// The portal.
    pub portal: Address,
    /// Blocks a deposit must be below the head before it is applied (reorg safety).
    pub confirmations: u64,
    /// Poll interval.
    pub poll: Duration,
    /// First block to read (the portal's deployment block).
    pub from_block: u64,
    /// Most blocks per `eth_getLogs`.
    pub max_range: u64,
}

/// Why a poll stopped before the confirmed head. All are retried at the next poll.
#[derive(Debug, thiserror::Error)]
pub enum DepositError {
    /// The L1 node did not answer.
    #[error("L1 RPC: {0}")]
    Rpc(String),
    /// A deposit index above the L2's cursor: an earlier deposit was not seen (a node that
    /// dropped a log); the range is read again.
    #[error("deposit {found} seen while the L2 expects {expected}")]
    Gap {
        /// The L2's next index.
        expected: u64,
        /// The index seen.
        found: u64,
    },
    /// The sequencer refused the deposit (its batch is full; nothing was applied).
    #[error("deposit {index} not applied yet: {reason}")]
    NotApplied {
        /// The deposit.
        index: u64,
        /// Why.
        reason: String,
    },
}

/// Progress, for status and tests.
#[derive(Debug, Default)]
pub struct DepositStatus {
    applied: AtomicU64,
    scanned_to: AtomicU64,
}

impl DepositStatus {
    /// Deposits applied by this follower.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Last L1 block fully read.
    pub fn scanned_to(&self) -> u64 {
        self.scanned_to.load(Ordering::Relaxed)
    }
}

/// Follows deposits until the task is dropped.
pub async fn follow(
    provider: DynProvider,
    config: DepositConfig,
    handle: SequencerHandle,
    status: Arc<DepositStatus>,
) {
    let mut next_block = config.from_block;
    loop {
        if let Err(e) = poll(&provider, &config, &handle, &mut next_block, &status).await {
            tracing::warn!(error = %e, "deposits: retrying at the next poll");
        }
        tokio::time::sleep(config.poll).await;
    }
}

/// Reads and applies the confirmed deposits from `next_block` on; advances `next_block` past
/// every range whose deposits are all applied. Returns how many were applied.
pub async fn poll(
    provider: &DynProvider,
    config: &DepositConfig,
    handle: &SequencerHandle,
    next_block: &mut u64,
    status: &DepositStatus,
) -> Result<u64, DepositError> {
    let rpc = |e: &dyn std::fmt::Display| DepositError::Rpc(e.to_string());
    let range = config.max_range.max(1);
    let source = EventSource::new(
        provider.clone(),
        config.portal,
        &[GhostPlanePortal::Deposited::SIGNATURE_HASH],
        config.confirmations,
        range,
    )
    .with_max_blocks_per_round(range);
    let mut applied = 0u64;
    while let Some(window) = source.next_window(*next_block).await.map_err(|e| rpc(&e))? {
        let to = window.to;
        for log in &window.logs {
            let deposit = GhostPlanePortal::Deposited::decode_log_data(log.data())
                .map_err(|e| rpc(&format!("undecodable Deposited log: {e}")))?;
            let expected = handle.deposit_cursor();
            if deposit.index < expected {
                continue;
            }
            if deposit.index > expected {
                return Err(DepositError::Gap {
                    expected,
                    found: deposit.index,
                });
            }
            handle
                .deposit_l1(
                    deposit.index,
                    deposit.l1Sender,
                    deposit.recipient,
                    deposit.token.into(),
                    deposit.amount,
                )
                .map_err(|e| DepositError::NotApplied {
                    index: deposit.index,
                    reason: e.to_string(),
                })?;
            applied = applied.saturating_add(1);
            status.applied.fetch_add(1, Ordering::Relaxed);
            tracing::info!(index = deposit.index, recipient = %deposit.recipient, "deposit applied");
        }
        status.scanned_to.store(to, Ordering::Relaxed);
        *next_block = to.saturating_add(1);
    }
    Ok(applied)
}
