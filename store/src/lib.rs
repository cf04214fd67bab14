//! Persistent state of the GhostBridge relayer and validator daemons.
//!
//! One [`Store`] API over two backends: an embedded SQLite file (the default) and PostgreSQL
//! (a `postgres://` URL), where several relayer instances share the work. Each backend has its
//! own numbered migrations (`migrations/sqlite`, `migrations/postgres`), embedded with
//! `sqlx::migrate!` and applied by [`Store::migrate`] / [`Store::open`].
//!
//! What it keeps, by module and by the daemon that owns it:
//! - **Message lifecycle** (`messages.rs`, the relayer's; [`MessageRecord`], [`Status`]):
//!   `seen → attested → submitted → confirmed`, or `failed_permanently` with a reason. The
//!   relayer's scanner calls [`Store::insert_seen`]; relayers lease due work with
//!   [`Store::claim_batch`] and move it on with `mark_*` while their lease is live; failures
//!   are rescheduled by [`Store::record_failure`] with the pure bounded [`backoff_delay`]; final
//!   errors (the destination refuses the release for good) are counted by
//!   [`Store::record_final_failure`] up to a bound, then the message is `failed_permanently`
//!   until an operator [`Store::redeliver`]s it.
//! - **Attestations** per message or batch root ([`AttestationRecord`]) and the relayer's
//!   **batches** (root → member ids) (`attestations.rs`).
//! - **Validator journal** (`journal.rs`, the validator's own tables, never the relayer's
//!   rows): [`Store::admit`] journals the messages its follower re-derived, one content per
//!   (source chain, source contract, nonce) ever ([`StoreError::ConflictingAdmission`]);
//!   its API signs only what [`Store::admitted`] returns, and journals the batch roots it signs
//!   with [`Store::put_signed_batch`].
//! - **Scan cursors** (`cursors.rs`, [`ChainCursor`]): last scanned block per (chain, contract),
//!   the relayer's ([`Store::cursor`]) and the validator's ([`Store::admission_cursor`]) apart.
//! - **Status queries and counters** for `ghostbridge status` and metrics.
//!
//! A relayer and a validator may share one database: they share no rows but the attestations
//! (keyed by validator address; the validator answers only from its own).
//!
//! Data flow: relayer scanner → `insert_seen` → relayer `claim_batch` → validators' signatures
//! via `put_attestation` → `mark_attested` → `mark_submitted` (before broadcast) →
//! `mark_confirmed` (or `release` to check the receipt later, `record_failure` to retry). On the
//! validator: follower → `admit` → `set_admission_cursor`; API → `admitted` → sign →
//! `put_attestation`.
//!
//! Invariants the store enforces (and the integration tests check on both backends): a message
//! is leased to at most one relayer at a time; only the live lease holder moves it; status only
//! moves forward (but for the operator's `redeliver`); unique message id and unique
//! `(dst chain, src chain, src contract, nonce)` (a vault and a minter number independently);
//! one admitted content per `(src chain, src contract, nonce)`; a signed batch holds only
//! admitted messages.

mod attestations;
mod backoff;
mod batches;
mod cursors;
mod error;
mod journal;
mod messages;
mod row;
mod store;
mod types;

pub use backoff::{backoff_delay, jitter_seed, BackoffPolicy};
pub use error::{Result, StoreError};
pub use store::{Store, StoreConfig};
pub use types::{
    Admission, AdmittedMessage, AttestationRecord, AttestationSubject, ChainCursor, InsertOutcome,
    Lease, MessageRecord, NewMessage, Status, StatusCounts, Submission,
};
