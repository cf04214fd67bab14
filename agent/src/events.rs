//! The one event source of every daemon that follows a contract: the validator's follower, the
//! relayer's scanner, the watcher and the L2 node's deposit follower read logs through it.
//!
//! A follower keeps its own cursor (the next block to read: in its store, or in memory) and asks
//! for the next [`Window`]: the blocks from that cursor up to the confirmation depth (at most
//! `max_blocks_per_round` of them), their logs in chain order (read in ranges the RPC accepts),
//! and the hash of the window's last block, to checkpoint with the cursor. A follower that must
//! not read past a reorg checks its checkpoint with [`EventSource::is_canonical`] first.
//!
//! Every error is an [`EventError`] that says whether waiting helps.

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Log;

use crate::chain::{block_hash, scan_logs, ChainError};

/// Blocks one window covers at most by default (the scan inside is chunked to the RPC's range
/// limit): a follower far behind catches up in rounds, checkpointing after each.
pub const DEFAULT_MAX_BLOCKS_PER_ROUND: u64 = 10_000;

/// Why a window could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Reading the chain failed (see [`ChainError::is_retryable`]); nothing was read.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The node answered without the window's last block, though it is past the confirmation
    /// depth (a node behind its own head, or a reorg deeper than the depth): retry.
    #[error("block {0} is past the confirmation depth but the node does not have it")]
    MissingBlock(u64),
}

impl EventError {
    /// Whether trying again later may succeed (the RPC or the node's view changes; a follower
    /// decides itself what a deep reorg means, see [`EventSource::is_canonical`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::MissingBlock(_) => true,
            Self::Chain(e) => e.is_retryable(),
        }
    }
}

/// Confirmed blocks `from..=to` and the logs in them, in chain order.
#[derive(Debug, Clone)]
pub struct Window {
    /// First block read.
    pub from: u64,
    /// Last block read: the next window starts at `to + 1`.
    pub to: u64,
    /// Hash of block `to` when it was read (the checkpoint).
    pub to_hash: B256,
    /// The logs, ordered by (block, log index).
    pub logs: Vec<Log>,
}

/// Logs of one contract with one of `topics`, past `confirmations` blocks.
#[derive(Debug, Clone)]
pub struct EventSource {
    provider: DynProvider,
    contract: Address,
    topics: Vec<B256>,
    confirmations: u64,
    max_block_range: u64,
    max_blocks_per_round: u64,
}

impl EventSource {
    /// A source of `contract`'s logs with any of `topics` (topic 0), `confirmations` blocks deep,
    /// read in `eth_getLogs` ranges of at most `max_block_range` blocks.
    pub fn new(
        provider: DynProvider,
        contract: Address,
        topics: &[B256],
        confirmations: u64,
        max_block_range: u64,
    ) -> Self {
        Self {
            provider,
            contract,
            topics: topics.to_vec(),
            confirmations,
            max_block_range,
            max_blocks_per_round: DEFAULT_MAX_BLOCKS_PER_ROUND,
        }
    }

    /// At most `blocks` blocks per window (at least 1).
    pub fn with_max_blocks_per_round(mut self, blocks: u64) -> Self {
        self.max_blocks_per_round = blocks.max(1);
        self
    }

    /// The contract followed.
    pub fn contract(&self) -> Address {
        self.contract
    }

    /// The newest block past the confirmation depth, `None` while the chain is shorter.
    pub async fn safe_block(&self) -> Result<Option<u64>, EventError> {
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(|e| ChainError::rpc("eth_blockNumber", e))?;
        Ok(head.checked_sub(self.confirmations))
    }

    /// The next window from block `next` on, `None` if no block from `next` on is confirmed yet.
    pub async fn next_window(&self, next: u64) -> Result<Option<Window>, EventError> {
        let Some(safe) = self.safe_block().await? else {
            return Ok(None);
        };
        if next > safe {
            return Ok(None);
        }
        let to = safe.min(next.saturating_add(self.max_blocks_per_round.saturating_sub(1)));
        let logs = self.logs(next, to).await?;
        let to_hash = self
            .block_hash(to)
            .await?
            .ok_or(EventError::MissingBlock(to))?;
        Ok(Some(Window {
            from: next,
            to,
            to_hash,
            logs,
        }))
    }

    /// The logs in blocks `from..=to`, whatever their depth (a follower with its own notion of
    /// the head, such as the watcher's pass, reads its range with this).
    pub async fn logs(&self, from: u64, to: u64) -> Result<Vec<Log>, EventError> {
        scan_logs(
            &self.provider,
            self.contract,
            &self.topics,
            from,
            to,
            self.max_block_range,
        )
        .await
        .map_err(EventError::from)
    }

    /// Hash of block `number`, `None` if the node does not have it.
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>, EventError> {
        Ok(block_hash(&self.provider, number).await?)
    }

    /// Whether block `number` still has `hash`: a checkpoint taken past the confirmation depth
    /// that is no longer canonical means the chain reorganised deeper than the depth.
    pub async fn is_canonical(&self, number: u64, hash: B256) -> Result<bool, EventError> {
        Ok(self.block_hash(number).await? == Some(hash))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::testing::{block, log_in as log, mock_node, Asserter};
    use alloy::rpc::types::Block;

    /// A source over a scripted node: each RPC call takes the next pushed answer, in order.
    fn source(confirmations: u64, max_blocks: u64) -> (EventSource, Asserter) {
        let (provider, node) = mock_node();
        let source = EventSource::new(
            provider,
            Address::repeat_byte(0x11),
            &[B256::repeat_byte(0x22)],
            confirmations,
            1_000,
        )
        .with_max_blocks_per_round(max_blocks);
        (source, node)
    }

    #[tokio::test]
    async fn a_window_ends_at_the_confirmation_depth_or_the_round_limit() {
        let (src, node) = source(5, 10);
        // Head 100, 5 deep: safe 95; from 50 the round limit (10 blocks) ends it at 59.
        node.push_success(&100u64);
        node.push_success(&vec![log(52), log(59)]);
        node.push_success(&block(B256::repeat_byte(0x59)));
        let w = src.next_window(50).await.unwrap().expect("a window");
        assert_eq!((w.from, w.to), (50, 59));
        assert_eq!(w.to_hash, B256::repeat_byte(0x59));
        assert_eq!(w.logs.len(), 2);
        // From 90 the depth ends it at 95.
        node.push_success(&100u64);
        node.push_success(&Vec::<Log>::new());
        node.push_success(&block(B256::repeat_byte(0x95)));
        let w = src.next_window(90).await.unwrap().expect("a window");
        assert_eq!((w.from, w.to), (90, 95));
        assert!(node.read_q().is_empty(), "one call each: head, logs, hash");
    }

    #[tokio::test]
    async fn nothing_past_the_depth_is_no_window_and_reads_no_logs() {
        let (src, node) = source(5, 10);
        node.push_success(&3u64); // shorter than the depth
        assert!(src.next_window(0).await.unwrap().is_none());
        node.push_success(&100u64); // the cursor is already past the safe block
        assert!(src.next_window(96).await.unwrap().is_none());
        assert!(node.read_q().is_empty());
    }

    #[tokio::test]
    async fn a_dead_rpc_and_a_missing_block_are_retryable_errors_not_empty_windows() {
        let (src, node) = source(0, 10);
        node.push_failure_msg("connection refused");
        let e = src.next_window(0).await.unwrap_err();
        assert!(
            matches!(e, EventError::Chain(ChainError::Rpc { .. })) && e.is_retryable(),
            "{e}"
        );
        // The node lists the logs but not the window's last block: no checkpoint, no window.
        node.push_success(&10u64);
        node.push_success(&vec![log(10)]);
        node.push_success(&Option::<Block>::None);
        let e = src.next_window(5).await.unwrap_err();
        assert!(
            matches!(e, EventError::MissingBlock(10)) && e.is_retryable(),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_checkpoint_is_canonical_only_while_its_block_keeps_its_hash() {
        let (src, node) = source(0, 10);
        node.push_success(&block(B256::repeat_byte(1)));
        assert!(src.is_canonical(7, B256::repeat_byte(1)).await.unwrap());
        node.push_success(&block(B256::repeat_byte(2)));
        assert!(!src.is_canonical(7, B256::repeat_byte(1)).await.unwrap());
        node.push_success(&Option::<Block>::None);
        assert!(!src.is_canonical(7, B256::repeat_byte(1)).await.unwrap());
    }
}
