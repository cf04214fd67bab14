//! What every GhostBridge daemon stands on (validator, relayer, watcher, L2 node, challenger):
//! its lifecycle and its network I/O. The types they exchange are in `ghostbridge-core`.
//!
//! - [`daemon`]: `agent_main`, the one start-up and life of the validator, relayer and watcher
//!   (config, store, ops port, supervised tasks, typed start-up errors).
//! - [`runtime`]: tracing, Prometheus metrics, `/health`, shutdown signals, supervised tasks (a
//!   panic stops the process), the one round loop with backoff every daemon task runs in.
//! - [`listener`]: the HTTP/1.1 listener of every daemon (validator API, ops ports, L2 RPC) with
//!   a connection cap, handshake/header/body/idle timeouts, a lifetime cap and a body limit.
//! - [`tls`]: TLS 1.3 with the hybrid post-quantum group X25519MLKEM768 only.
//! - [`chain`]: RPC access (providers with timeouts, chunked log scans, consumed marks).
//! - [`events`]: the one event source of every follower: confirmed windows of a contract's
//!   logs with a checkpoint hash, typed errors.
//! - `testing` (feature `test-utils`): fakes for daemon unit tests (a scripted chain node).
//! - [`attest`]: the validators' HTTP API as a client sees it: gathers a threshold of
//!   attestations and checks every signature against the on-chain validator set.

pub mod attest;
pub mod chain;
pub mod daemon;
pub mod events;
pub mod listener;
pub mod runtime;
#[cfg(any(test, feature = "test-utils"))]
pub mod testing;
pub mod tls;
