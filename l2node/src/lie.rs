//! A deliberately lying sequencer, for the challenger's end-to-end tests only: compiled in with
//! the feature `test-lies` (never by `cargo build` or the devnet), switched on by the
//! environment variable `GHOSTPLANE_TEST_LIE=<kind>:<batch>`. The poster then posts batch
//! `<batch>` with its last op altered; the node's own state, journal and receipts stay honest,
//! so only L1 holds the lie (what a challenger must catch).
//!
//! Kinds: `wrong-post-state` (the last op's post-step commitment is not the state it leads to),
//! `invalid-op` (the last op's amount is changed, so its signature no longer verifies, or a
//! deposit claims more than the portal took).

use ghostbridge_sequencer::sequencer::SealedBatch;
use ghostbridge_sequencer::settlement::{self, Op, Record};

/// The environment variable naming the lie.
pub const ENV: &str = "GHOSTPLANE_TEST_LIE";

/// What to alter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Flip a bit of the last op's commitment.
    WrongPostState,
    /// Add one to the last op's amount.
    InvalidOp,
}

/// The lie the environment asks for, if any (`None` also when it does not parse: a typo must
/// not make an honest node lie in some other way).
pub fn from_env() -> Option<(Kind, u64)> {
    let spec = std::env::var(ENV).ok()?;
    let (kind, batch) = spec.split_once(':')?;
    let kind = match kind {
        "wrong-post-state" => Kind::WrongPostState,
        "invalid-op" => Kind::InvalidOp,
        _ => return None,
    };
    Some((kind, batch.parse().ok()?))
}

/// `batch` with the lie applied if it is the batch the environment names; the header is
/// recomputed over the altered records (its claimed final state is unchanged).
pub fn apply(mut batch: SealedBatch) -> SealedBatch {
    let Some((kind, number)) = from_env() else {
        return batch;
    };
    let s = &mut batch.settlement;
    if s.l1_header.number != number {
        return batch;
    }
    let Some(last) = s.records.last_mut() else {
        return batch;
    };
    let Ok(mut record) = Record::decode(last) else {
        return batch;
    };
    match kind {
        Kind::WrongPostState => record.commitment[0] ^= 1,
        Kind::InvalidOp => match &mut record.op {
            Op::Transfer(t) => t.value = t.value.wrapping_add(1),
            Op::Withdrawal(w) => w.amount = w.amount.wrapping_add(1),
            Op::Deposit(d) | Op::Refund(d) => d.amount = d.amount.wrapping_add(1),
        },
    }
    *last = record.encode();
    tracing::warn!(batch = number, ?kind, "TEST LIE: posting an altered batch");
    s.l1_header = settlement::batch_header(
        number,
        &s.start,
        &settlement::header_final(&s.l1_header),
        &s.records,
    );
    batch
}
