//! The watcher's decisions, free of I/O so they can be unit-tested: how validators' answers
//! make a verdict on a release, what the watcher remembers between passes (and when it forgets),
//! and which violations are reported (each once, in bounded memory).

use std::collections::{HashMap, HashSet, VecDeque};

use alloy::primitives::{B256, U256};
use ghostbridge_core::attest::AnswerError;
use ghostbridge_core::keys::SignatureError;
use ghostbridge_core::protocol::Message;

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Short kind, the metric label.
    pub kind: &'static str,
    /// Chain where it was seen.
    pub chain_id: u64,
    /// Details.
    pub detail: String,
    /// Identity: the same key is reported once (a release event's chain/tx/log, or a condition's
    /// route and token).
    pub key: String,
    /// A condition re-evaluated on every pass (supply > backing): reported again only after it
    /// cleared, and while it lasts the endpoints are kept paused.
    pub persistent: bool,
    /// A held transfer to cancel: (chain, endpoint, message id).
    pub cancel: Option<(u64, alloy::primitives::Address, B256)>,
}

// ------------------------------------------------------------------ PQ verdict

/// One validator's answer to "sign this message", as the watcher weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A signature that passed every check, by the set member at this index.
    Valid(usize),
    /// A definitive no: the message is not admitted (HTTP 404), goes elsewhere (409), or the
    /// validator returned a signature that does not verify.
    Refused(String),
    /// No usable answer now (timeout, connection refused, 5xx, halted, key not learned yet...).
    Unavailable(String),
}

/// What the validators say about one release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PqOutcome {
    /// At least `threshold` distinct set members signed it, every signature passing both
    /// ML-DSA-65 verifiers.
    Verified,
    /// More than `N - threshold` validators definitively refused: an honest quorum can never
    /// have vouched for it.
    Refuted(String),
    /// Neither yet (validators unreachable, halted, too few answers): retried later.
    CannotVerifyYet(String),
}

/// How a failed answer counts: only a validator that answered and said no (or signed garbage)
/// counts against a release; anything that may be transient counts as no answer.
pub fn weigh_error(e: &AnswerError) -> Answer {
    match e {
        AnswerError::Status {
            status: 404 | 409, ..
        } => Answer::Refused(e.to_string()),
        AnswerError::Status { .. } | AnswerError::Unreachable { .. } | AnswerError::NotInSet(_) => {
            Answer::Unavailable(e.to_string())
        }
        // The public key may not be learned yet (the validator was down at `/v1/info`) or a key
        // rotation may be pending on chain: not a verdict on the message.
        AnswerError::BadSignature {
            error: SignatureError::PqKeyNotRegistered { .. },
            ..
        } => Answer::Unavailable(e.to_string()),
        AnswerError::BadSignature { .. } | AnswerError::WrongDigest { .. } => {
            Answer::Refused(e.to_string())
        }
    }
}

/// The verdict from every configured validator's answer. `set_size` and `threshold` are the
/// destination verifier's.
pub fn classify(answers: &[Answer], set_size: usize, threshold: u64) -> PqOutcome {
    let valid: HashSet<usize> = answers
        .iter()
        .filter_map(|a| {
            if let Answer::Valid(i) = a {
                Some(*i)
            } else {
                None
            }
        })
        .collect();
    let refused: Vec<&str> = answers
        .iter()
        .filter_map(|a| {
            if let Answer::Refused(s) = a {
                Some(s.as_str())
            } else {
                None
            }
        })
        .collect();
    let unavailable: Vec<&str> = answers
        .iter()
        .filter_map(|a| {
            if let Answer::Unavailable(s) = a {
                Some(s.as_str())
            } else {
                None
            }
        })
        .collect();
    if threshold > 0 && valid.len() as u64 >= threshold {
        return PqOutcome::Verified;
    }
    let max_refusals = (set_size as u64).saturating_sub(threshold);
    if threshold > 0 && refused.len() as u64 > max_refusals {
        return PqOutcome::Refuted(format!(
            "{} of {} validators refused (at most {max_refusals} may for {threshold} to sign), {} signatures verify: {}",
            refused.len(), set_size, valid.len(), refused.join("; ")));
    }
    let mut why = format!(
        "{} of {threshold} required ML-DSA-65 signatures verify, {} refusals",
        valid.len(),
        refused.len()
    );
    if answers.is_empty() {
        why.push_str(", no validator configured");
    }
    if !unavailable.is_empty() {
        why.push_str(&format!(", unavailable: {}", unavailable.join("; ")));
    }
    PqOutcome::CannotVerifyYet(why)
}

// ------------------------------------------------------------------ what the watcher remembers

/// Where a release or hold was emitted: its identity. A transaction cannot release one message
/// twice (the replay mark), so the transaction hash identifies a message's release even when a
/// reorganisation re-includes it at another log index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventKey {
    /// Chain.
    pub chain_id: u64,
    /// Transaction.
    pub tx: B256,
    /// Log index in the block.
    pub log_index: u64,
}

impl EventKey {
    /// `chain/tx/log`.
    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.chain_id, self.tx, self.log_index)
    }
}

/// What a release (or hold) event is, given everything seen before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// This very event was already counted (a re-scan): ignore it.
    Seen,
    /// Another event already released (or held) this message.
    Twice(EventKey),
    /// No lock/burn on any chain emitted it.
    Unbacked,
    /// Its lock/burn.
    Source(Message),
}

/// The watcher's committed view of the chains. Bounded by the bridge's traffic, not by time:
/// a lock is kept only until it is released, then only its id and releasing event stay.
#[derive(Debug, Default, Clone)]
pub struct View {
    /// Next block to scan per chain.
    pub cursors: HashMap<u64, u64>,
    /// Locks/burns not yet released, by id.
    pub sources: HashMap<B256, Message>,
    /// Released message ids → the event that released them.
    pub released: HashMap<B256, EventKey>,
    /// Held (not yet released) message ids → the event that held them.
    pub held: HashMap<B256, EventKey>,
}

/// What one pass adds to the view; applied only when the whole pass succeeded.
#[derive(Debug, Default, Clone)]
pub struct Delta {
    /// Cursors after the pass.
    pub cursors: HashMap<u64, u64>,
    /// New locks/burns.
    pub sources: HashMap<B256, Message>,
    /// New releases.
    pub released: HashMap<B256, EventKey>,
    /// New holds.
    pub held: HashMap<B256, EventKey>,
}

impl View {
    fn source<'a>(&'a self, delta: &'a Delta, id: &B256) -> Option<&'a Message> {
        delta.sources.get(id).or_else(|| self.sources.get(id))
    }

    /// Classifies a release event and records it in `delta` (also when it is a violation, so
    /// a second release of the same message is seen as one).
    pub fn release(&self, delta: &mut Delta, id: B256, at: EventKey) -> Lookup {
        if let Some(prev) = delta.released.get(&id).or_else(|| self.released.get(&id)) {
            return if prev.chain_id == at.chain_id && prev.tx == at.tx {
                Lookup::Seen
            } else {
                Lookup::Twice(*prev)
            };
        }
        delta.released.insert(id, at);
        match self.source(delta, &id) {
            Some(m) => Lookup::Source(m.clone()),
            None => Lookup::Unbacked,
        }
    }

    /// Classifies a hold (`TransferHeld`) and records it in `delta`.
    pub fn hold(&self, delta: &mut Delta, id: B256, at: EventKey) -> Lookup {
        if let Some(prev) = delta.held.get(&id).or_else(|| self.held.get(&id)) {
            return if prev.chain_id == at.chain_id && prev.tx == at.tx {
                Lookup::Seen
            } else {
                Lookup::Twice(*prev)
            };
        }
        if let Some(prev) = delta.released.get(&id).or_else(|| self.released.get(&id)) {
            return Lookup::Twice(*prev);
        }
        delta.held.insert(id, at);
        match self.source(delta, &id) {
            Some(m) => Lookup::Source(m.clone()),
            None => Lookup::Unbacked,
        }
    }

    /// Applies a completed pass.
    pub fn commit(&mut self, delta: Delta) {
        self.cursors.extend(delta.cursors);
        self.sources.extend(delta.sources);
        self.held.extend(delta.held);
        for (id, at) in delta.released {
            self.sources.remove(&id);
            self.held.remove(&id);
            self.released.insert(id, at);
        }
    }
}

/// Whether a release's content is its source's. `local_token` is what the destination maps the
/// source token to (the wrapped token on a minter, the token itself on a vault). A minter never
/// releases the zero address (no wrapped route); a vault does: it is native ETH.
#[allow(clippy::too_many_arguments)]
pub fn content_matches(
    m: &Message,
    dst_chain: u64,
    src_chain: Option<u64>,
    recipient: alloy::primitives::Address,
    minted: bool,
    local_token: alloy::primitives::Address,
    expected_local_token: alloy::primitives::Address,
    amount: U256,
) -> bool {
    m.dstChainId == dst_chain
        && src_chain.is_none_or(|s| s == m.srcChainId)
        && m.recipient == recipient
        && m.amount == amount
        && local_token == expected_local_token
        && !(minted && local_token.is_zero())
}

// ------------------------------------------------------------------ reporting

/// Violations reported so far: a count and the last [`Reporter::KEEP`], each key once.
#[derive(Debug, Default)]
pub struct Reporter {
    total: u64,
    recent: VecDeque<Violation>,
    /// Keys reported lately (bounded), so a violation found again by a retried pass is not
    /// reported twice.
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    /// Persistent conditions holding at the last pass.
    active: HashSet<String>,
}

impl Reporter {
    /// Violations kept for inspection.
    pub const KEEP: usize = 256;
    /// Keys remembered against re-reports.
    pub const SEEN: usize = 4096;

    /// Takes one pass's findings; returns those to report now. `complete`: the pass saw every
    /// condition, so persistent conditions not found any more have cleared.
    pub fn record(&mut self, found: Vec<Violation>, complete: bool) -> Vec<Violation> {
        let mut new = Vec::new();
        let mut holding = HashSet::new();
        for v in found {
            if v.persistent {
                holding.insert(v.key.clone());
                if !self.active.insert(v.key.clone()) {
                    continue;
                }
            } else if !self.remember(&v.key) {
                continue;
            }
            self.total = self.total.saturating_add(1);
            if self.recent.len() == Self::KEEP {
                self.recent.pop_front();
            }
            self.recent.push_back(v.clone());
            new.push(v);
        }
        if complete {
            self.active.retain(|k| holding.contains(k));
        }
        new
    }

    fn remember(&mut self, key: &str) -> bool {
        if self.seen.contains(key) {
            return false;
        }
        if self.seen_order.len() == Self::SEEN {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        self.seen.insert(key.to_owned());
        self.seen_order.push_back(key.to_owned());
        true
    }

    /// Violations reported since start.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The last reported violations (at most [`Reporter::KEEP`]).
    pub fn recent(&self) -> impl Iterator<Item = &Violation> {
        self.recent.iter()
    }

    /// A persistent condition holds: the endpoints must stay paused.
    pub fn condition_holds(&self) -> bool {
        !self.active.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;

    fn v(key: &str, persistent: bool) -> Violation {
        Violation {
            kind: "k",
            chain_id: 1,
            detail: String::new(),
            key: key.into(),
            persistent,
            cancel: None,
        }
    }

    #[test]
    fn a_native_unlock_matches_its_burn_but_a_mint_of_no_wrapped_token_does_not() {
        let m = Message {
            version: 1,
            srcChainId: 2,
            dstChainId: 1,
            srcContract: Address::repeat_byte(2),
            nonce: 1,
            token: Address::ZERO,
            amount: U256::from(5u64),
            sender: Address::repeat_byte(3),
            recipient: Address::repeat_byte(4),
        };
        // ETH unlocked by a vault: the local token is the zero address.
        assert!(content_matches(
            &m,
            1,
            Some(2),
            m.recipient,
            false,
            Address::ZERO,
            Address::ZERO,
            m.amount
        ));
        // A minter whose route is unknown maps to zero: never a match.
        assert!(!content_matches(
            &m,
            1,
            Some(2),
            m.recipient,
            true,
            Address::ZERO,
            Address::ZERO,
            m.amount
        ));
        assert!(!content_matches(
            &m,
            1,
            Some(2),
            m.recipient,
            false,
            Address::ZERO,
            Address::ZERO,
            m.amount + U256::from(1u64)
        ));
    }

    fn status(code: u16) -> AnswerError {
        AnswerError::Status {
            url: "https://v".into(),
            status: code,
            error: "x".into(),
        }
    }

    #[test]
    fn answers_are_weighed() {
        assert!(matches!(weigh_error(&status(404)), Answer::Refused(_)));
        assert!(matches!(weigh_error(&status(409)), Answer::Refused(_)));
        assert!(matches!(weigh_error(&status(503)), Answer::Unavailable(_)));
        assert!(matches!(weigh_error(&status(502)), Answer::Unavailable(_)));
        assert!(matches!(
            weigh_error(&AnswerError::Unreachable {
                url: "u".into(),
                error: "timeout".into()
            }),
            Answer::Unavailable(_)
        ));
        assert!(matches!(
            weigh_error(&AnswerError::NotInSet(Address::ZERO)),
            Answer::Unavailable(_)
        ));
        let bad = |error| AnswerError::BadSignature {
            signer: Address::ZERO,
            error,
        };
        assert!(matches!(
            weigh_error(&bad(SignatureError::InvalidMldsa)),
            Answer::Refused(_)
        ));
        assert!(matches!(
            weigh_error(&bad(SignatureError::MalformedEcdsa)),
            Answer::Refused(_)
        ));
        assert!(matches!(
            weigh_error(&bad(SignatureError::PqKeyNotRegistered {
                registered: B256::ZERO,
                actual: B256::ZERO
            })),
            Answer::Unavailable(_)
        ));
        assert!(matches!(
            weigh_error(&AnswerError::WrongDigest {
                signer: Address::ZERO,
                got: B256::ZERO,
                expected: B256::ZERO
            }),
            Answer::Refused(_)
        ));
    }

    #[test]
    fn three_of_four_verdicts() {
        use Answer::*;
        let ok = |i| Valid(i);
        let no = || Refused("404".into());
        let down = || Unavailable("refused".into());
        assert_eq!(
            classify(&[ok(0), ok(1), ok(2), no()], 4, 3),
            PqOutcome::Verified
        );
        assert_eq!(
            classify(&[ok(0), ok(1), ok(2), ok(3)], 4, 3),
            PqOutcome::Verified
        );
        // The same signer twice counts once.
        assert!(matches!(
            classify(&[ok(0), ok(0), ok(0), down()], 4, 3),
            PqOutcome::CannotVerifyYet(_)
        ));
        // One refusal still leaves room for three signatures.
        assert!(matches!(
            classify(&[ok(0), ok(1), no(), down()], 4, 3),
            PqOutcome::CannotVerifyYet(_)
        ));
        // Two refusals of four: three signatures are impossible.
        assert!(matches!(
            classify(&[ok(0), ok(1), no(), no()], 4, 3),
            PqOutcome::Refuted(_)
        ));
        assert!(matches!(
            classify(&[no(), no(), no(), no()], 4, 3),
            PqOutcome::Refuted(_)
        ));
        // Every validator down, halted or timing out: never a violation.
        assert!(matches!(
            classify(&[down(), down(), down(), down()], 4, 3),
            PqOutcome::CannotVerifyYet(_)
        ));
        assert!(matches!(
            classify(&[no(), down(), down(), down()], 4, 3),
            PqOutcome::CannotVerifyYet(_)
        ));
        // No validators configured: cannot verify, never "violated".
        assert!(matches!(classify(&[], 4, 3), PqOutcome::CannotVerifyYet(_)));
        // A zero threshold is never taken as verified.
        assert!(matches!(
            classify(&[ok(0)], 4, 0),
            PqOutcome::CannotVerifyYet(_)
        ));
    }

    fn key(tx: u8, log: u64) -> EventKey {
        EventKey {
            chain_id: 2,
            tx: B256::repeat_byte(tx),
            log_index: log,
        }
    }

    fn message(nonce: u64) -> Message {
        Message {
            version: 1,
            srcChainId: 1,
            dstChainId: 2,
            srcContract: Address::ZERO,
            nonce,
            token: Address::ZERO,
            amount: U256::from(1),
            sender: Address::ZERO,
            recipient: Address::ZERO,
        }
    }

    #[test]
    fn a_rescanned_release_is_not_a_double_release_but_a_second_one_is() {
        let mut view = View::default();
        let id = B256::repeat_byte(9);
        let mut d = Delta::default();
        d.sources.insert(id, message(1));
        assert_eq!(
            view.release(&mut d, id, key(1, 0)),
            Lookup::Source(message(1))
        );
        // A failed pass is dropped; the re-scan sees the same release as new, not twice.
        let mut d = Delta::default();
        d.sources.insert(id, message(1));
        assert_eq!(
            view.release(&mut d, id, key(1, 0)),
            Lookup::Source(message(1))
        );
        view.commit(d);
        assert!(view.sources.is_empty(), "a released lock is forgotten");
        let mut d = Delta::default();
        assert_eq!(view.release(&mut d, id, key(1, 0)), Lookup::Seen);
        assert_eq!(
            view.release(&mut d, id, key(1, 3)),
            Lookup::Seen,
            "the same transaction re-included at another index"
        );
        assert_eq!(
            view.release(&mut d, id, key(2, 0)),
            Lookup::Twice(key(1, 0))
        );
        // Two releases of one message inside one pass.
        let mut view = View::default();
        let mut d = Delta::default();
        assert_eq!(view.release(&mut d, id, key(1, 0)), Lookup::Unbacked);
        assert_eq!(view.release(&mut d, id, key(1, 1)), Lookup::Seen);
        assert_eq!(
            view.release(&mut d, id, key(3, 0)),
            Lookup::Twice(key(1, 0))
        );
        view.commit(d);
        assert_eq!(view.released.len(), 1);
    }

    #[test]
    fn a_held_transfer_then_its_execution_is_one_release() {
        let mut view = View::default();
        let id = B256::repeat_byte(7);
        view.sources.insert(id, message(5));
        let mut d = Delta::default();
        assert_eq!(view.hold(&mut d, id, key(1, 0)), Lookup::Source(message(5)));
        view.commit(d);
        assert_eq!(view.sources.len(), 1, "kept until released");
        let mut d = Delta::default();
        assert_eq!(view.hold(&mut d, id, key(1, 0)), Lookup::Seen);
        assert_eq!(
            view.release(&mut d, id, key(2, 4)),
            Lookup::Source(message(5))
        );
        view.commit(d);
        assert!(view.sources.is_empty() && view.held.is_empty());
        let mut d = Delta::default();
        assert_eq!(view.hold(&mut d, id, key(3, 0)), Lookup::Twice(key(2, 4)));
    }

    #[test]
    fn state_does_not_grow_when_nothing_happens() {
        let mut view = View::default();
        let mut reporter = Reporter::default();
        for i in 0..10u8 {
            let id = B256::repeat_byte(i);
            view.sources.insert(id, message(i.into()));
            let mut d = Delta::default();
            view.release(&mut d, id, key(i, 0));
            view.commit(d);
        }
        let sizes = (view.sources.len(), view.released.len(), view.held.len());
        assert_eq!(sizes, (0, 10, 0));
        reporter.record(vec![v("supply/2/0xw", true), v("release/a", false)], true);
        for _ in 0..1000 {
            let mut d = Delta::default();
            d.cursors.insert(2, 100);
            view.commit(d);
            assert!(reporter
                .record(vec![v("supply/2/0xw", true)], true)
                .is_empty());
        }
        assert_eq!(
            (view.sources.len(), view.released.len(), view.held.len()),
            sizes
        );
        assert_eq!(reporter.total(), 2);
        assert_eq!(reporter.recent().count(), 2);
        assert_eq!(reporter.seen.len(), 1);
    }

    #[test]
    fn each_violation_is_reported_once_and_memory_is_bounded() {
        let mut r = Reporter::default();
        assert_eq!(r.record(vec![v("a", false), v("a", false)], true).len(), 1);
        // Found again by a retried pass: not reported again.
        assert!(r.record(vec![v("a", false)], false).is_empty());
        // A persistent condition: once while it lasts, again after it cleared and came back.
        assert_eq!(r.record(vec![v("s", true)], true).len(), 1);
        assert!(r.condition_holds());
        assert!(r.record(vec![v("s", true)], true).is_empty());
        // An incomplete pass does not clear it.
        assert!(r.record(vec![], false).is_empty());
        assert!(r.condition_holds());
        assert!(r.record(vec![], true).is_empty());
        assert!(!r.condition_holds());
        assert_eq!(r.record(vec![v("s", true)], true).len(), 1);
        assert_eq!(r.total(), 3);
        for i in 0..10_000 {
            r.record(vec![v(&format!("k{i}"), false)], true);
        }
        assert_eq!(r.total(), 10_003);
        assert_eq!(r.recent().count(), Reporter::KEEP);
        assert!(r.seen.len() <= Reporter::SEEN && r.seen_order.len() <= Reporter::SEEN);
    }
}
