//! `ghostbridge-sequencer`: the safe Rust side of GhostPlane, the Zig L2 engine.
//!
//! - [`ffi`]: `#[repr(C)]` mirrors of the engine's C ABI and the only `unsafe` code of the crate.
//! - [`engine`]: [`Engine`](engine::Engine), the safe owner of an engine handle, with typed
//!   [`EngineError`]s and Rust-side input refusals.
//! - [`roots`]: independent recomputation of the state, transactions and withdrawals roots.
//! - [`tx`]: the signed L2 transaction format and sender recovery.
//! - [`sequencer`]: the batching task (parallel recovery → ordering → batched execution →
//!   sealing → [`SettlementSink`](sequencer::SettlementSink)).
//! - [`rpc`]: the JSON-RPC endpoint.
//! - [`journal`]: the durable log of every sealed batch's inputs (restart after `kill -9`).
//! - [`replay`]: an executor of posted batches independent of the engine (challengers).
//!
//! Feature `test-utils`: test hooks that bypass the Rust-side refusals (so tests reach the
//! engine's own checks) and the shared fuzz body (`fuzz`).
//!
//! Data flow: raw tx (RPC) → [`tx::decode`] → bounded queue → rayon sender recovery →
//! [`sequencer::order`] → one `ghostplane_submit_transactions` crossing → `ghostplane_create_batch`
//! → settlement sink.
#![deny(unsafe_code)]

pub mod error;
pub mod journal;
pub mod replay;
pub mod roots;
pub mod settlement;
pub mod tx;

pub mod cli;
pub mod engine;
pub mod ffi;
#[cfg(feature = "test-utils")]
pub mod fuzz;
pub mod ledger;
pub mod rpc;
pub mod sequencer;

pub use error::{EngineError, Result};

/// Number of token ids (0 GCC, 1 SPIRIT, 2 MANA, 3 GHOST, 4..7 bridged).
pub const TOKEN_COUNT: usize = 8;
/// Longest transaction data, in bytes.
pub const TX_DATA_MAX: usize = 1024;
