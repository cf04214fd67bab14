//! `ghostbridge-l2node`: GhostPlane's L1 side, beside the sequencer.
//!
//! ```text
//!  GhostPlanePortal ──Deposited (past the confirmation depth)──▶ deposits::follow ─▶ SequencerHandle::deposit_l1
//!  sequencer ──SealedBatch──▶ poster::L1Sink ─▶ poster::run ─▶ type-3 tx: GhostPlaneRollup.submitBatch
//! ```
//!
//! - [`poster`]: posts every sealed batch, in order, as EIP-4844 blobs (calldata mode for
//!   chains without blobs); the Rollup's batch numbering makes a post at most once.
//! - [`deposits`]: follows the portal's deposits past a confirmation depth and applies them in
//!   index order, never twice, never skipped.
//! - [`withdrawals`]: finalizing an L2 withdrawal on L1 from the `BatchSubmitted` event and the
//!   leaf's proof.
//! - [`challenger`]: re-derives every posted batch from L1 data and replays it with an executor
//!   independent of the engine (`ghostbridge_sequencer::replay`).
//! - [`node`]: all of it as one unit, with the L2 JSON-RPC on the bounded listener.
//! - [`client`]: an L2 JSON-RPC client (CLI, tests).
//! - [`bindings`]: the contracts' ABIs.
//! - `lie` (feature `test-lies`, tests only): a sequencer that posts a lie, for the challenger's
//!   end-to-end tests.

pub mod bindings;
pub mod challenger;
pub mod client;
pub mod deposits;
#[cfg(feature = "test-lies")]
pub mod lie;
pub mod node;
pub mod poster;
pub mod withdrawals;
