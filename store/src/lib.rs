//! Persistent state of the GhostBridge relayer and validator daemons.
//!
//! One [`Store`] API over two backends: an embedded SQLite file (the default) and PostgreSQL
//! (a `postgres://` URL), where several relayer instances share the work. Each backend has its
//! own numbered migrations (`migrations/sqlite`, `migrations/postgres`), embedded with
//! `sqlx::migrate!` and applied by [`Store::migrate`] / [`Store::open`].
//!
//! What it keeps:
//! - **Message lifecycle** ([`MessageRecord`], [`Status`]): `seen → attested → submitted →
//!   confirmed`, or `failed_permanently` with a reason. A watcher calls
//!   [`Store::insert_seen`]; relayers lease due work with [`Store::claim_batch`] and move it on
//!   with `mark_*` while their lease is live; failures are rescheduled by
//!   [`Store::record_failure`] with the pure bounded [`backoff_delay`]; final errors (the
//!   destination refuses the release for good) are counted by [`Store::record_final_failure`]
//!   up to a bound, then the message is `failed_permanently` until an operator
//!   [`Store::redeliver`]s it.
//! - **Attestations** per message or batch root ([`AttestationRecord`]) and **batches**
//!   (root → member ids).
//! - **Validator signing journal**: [`Store::record_signed`] refuses to sign one nonce with two
//!   contents ([`StoreError::ConflictingSignature`]).
//! - **Chain cursors** ([`ChainCursor`]): last scanned block per (chain, contract).
//! - **Status queries and counters** for `ghostbridge status` and metrics.
//!
//! Data flow: watcher → `insert_seen` → relayer `claim_batch` → validators' signatures via
//! `put_attestation` → `mark_attested` → `mark_submitted` (before broadcast) → `mark_confirmed`
//! (or `release` to check the receipt later, `record_failure` to retry).
//!
//! Invariants the store enforces (and the integration tests check on both backends): a message
//! is leased to at most one relayer at a time; only the live lease holder moves it; status only
//! moves forward (but for the operator's `redeliver`); unique message id and unique
//! `(dst chain, src chain, src contract, nonce)` (a vault and a minter number independently).

mod backoff;
mod error;
mod row;
mod store;
mod types;

pub use backoff::{backoff_delay, jitter_seed, BackoffPolicy};
pub use error::{Result, StoreError};
pub use store::{Store, StoreConfig};
pub use types::{
    AttestationRecord, AttestationSubject, ChainCursor, InsertOutcome, Lease, MessageRecord,
    NewMessage, SignDecision, Status, StatusCounts, Submission,
};
