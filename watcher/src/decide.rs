//! The watcher's decisions, free of I/O so they can be unit-tested: how validators' answers
//! make a verdict on a release, what the watcher remembers between passes (and when it forgets),
//! and which violations are reported (each once, in bounded memory).

use std::collections::{HashMap, HashSet, VecDeque};

use alloy::primitives::{B256, U256};
use ghostbridge_agent::attest::AnswerError;
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
    /// A definitive no: the message is not admitted though the validator scanned past its
    /// source block (HTTP 404), goes elsewhere (409), or the validator returned a signature
    /// that does not verify.
    Refused(String),
    /// No usable answer now (timeout, connection refused, 5xx, halted, key not learned yet...).
    Unavailable(String),
    /// The validator has not admitted the message YET: its follower has not scanned the
    /// source block past its confirmation depth (HTTP 425, [`NOT_YET`]; a lagging or freshly
    /// added validator). No answer, never a refusal.
    NotYet(String),
}

/// The validator's "not admitted yet" status (`ghostbridge_validator::NOT_YET`, 425 Too Early);
/// 404 means it scanned past the message's source block and saw no such message.
pub const NOT_YET: u16 = 425;

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
        AnswerError::Status {
            status: NOT_YET, ..
        } => Answer::NotYet(e.to_string()),
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
    let not_yet: Vec<&str> = answers
        .iter()
        .filter_map(|a| {
            if let Answer::NotYet(s) = a {
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
    if !not_yet.is_empty() {
        why.push_str(&format!(
            ", {} not admitted yet (lagging behind the source block): {}",
            not_yet.len(),
            not_yet.join("; ")
        ));
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
    Source(SourceEvent),
}

/// A lock/burn as the watcher saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEvent {
    /// The message it emitted.
    pub message: Message,
    /// Its block on the source chain: sent to the validators with the PQ check, so one whose
    /// follower is still behind it answers "not yet" rather than "no".
    pub block: u64,
}

/// Blocks after which a committed release is forgotten ([`View::prune`]): far deeper than any
/// confirmation depth (a validator halts on a reorganisation past its depth), so the same
/// release event can no longer be scanned again.
pub const RELEASE_HORIZON_BLOCKS: u64 = 4096;

/// The watcher's committed view of the chains, bounded by the traffic of a recent horizon:
/// a lock is kept until it is released (or forever while it is not: see `sources`), a release
/// only for [`RELEASE_HORIZON_BLOCKS`] after its block ([`View::prune`]).
#[derive(Debug, Default, Clone)]
pub struct View {
    /// Next block to scan per chain.
    pub cursors: HashMap<u64, u64>,
    /// Locks/burns not yet released, by id. Not pruned: each is value locked by a user and
    /// not delivered yet (it costs the user the lock and its fee), and forgetting it would make
    /// its later honest release look unbacked: a false pause. Locks to a chain the watcher does
    /// not watch are never kept (nothing it watches may release them).
    pub sources: HashMap<B256, SourceEvent>,
    /// Released message ids → the event that released them (recent ones: see [`View::prune`]).
    pub released: HashMap<B256, EventKey>,
    /// Held (not yet released) message ids → the event that held them.
    pub held: HashMap<B256, EventKey>,
    /// Committed releases per chain, oldest block first: what [`View::prune`] forgets.
    release_order: HashMap<u64, VecDeque<(u64, B256)>>,
    /// Releases committed since start (`released` only keeps the recent ones).
    pub releases_total: u64,
}

/// What one pass adds to the view; applied only when the whole pass succeeded.
#[derive(Debug, Default, Clone)]
pub struct Delta {
    /// Cursors after the pass.
    pub cursors: HashMap<u64, u64>,
    /// New locks/burns.
    pub sources: HashMap<B256, SourceEvent>,
    /// New releases.
    pub released: HashMap<B256, EventKey>,
    /// Blocks of the new releases.
    pub release_blocks: HashMap<B256, u64>,
    /// New holds.
    pub held: HashMap<B256, EventKey>,
}

impl View {
    fn source<'a>(&'a self, delta: &'a Delta, id: &B256) -> Option<&'a SourceEvent> {
        delta.sources.get(id).or_else(|| self.sources.get(id))
    }

    /// Classifies a release event (in `block`) and records it in `delta` (also when it is a
    /// violation, so a second release of the same message is seen as one).
    pub fn release(&self, delta: &mut Delta, id: B256, at: EventKey, block: u64) -> Lookup {
        if let Some(prev) = delta.released.get(&id).or_else(|| self.released.get(&id)) {
            return if prev.chain_id == at.chain_id && prev.tx == at.tx {
                Lookup::Seen
            } else {
                Lookup::Twice(*prev)
            };
        }
        delta.released.insert(id, at);
        delta.release_blocks.insert(id, block);
        match self.source(delta, &id) {
            Some(m) => Lookup::Source(m.clone()),
            None => Lookup::Unbacked,
        }
    }

    /// Forgets releases whose block is more than `horizon` blocks behind their chain's cursor.
    ///
    /// Why this cannot hide a double release or an unbacked mint: a release is committed
    /// together with the removal of its lock from `sources`, and a lock is never seen again
    /// (the id commits to the source contract's nonce, which never repeats; cursors only move
    /// forward). So once `released[id]` is forgotten, any later release of `id` finds neither
    /// an earlier release nor a lock, and is reported as `unbacked_release`, which pauses like
    /// `double_release` does. What `released` still has to tell apart is the SAME release
    /// event scanned again (a failed pass re-scanned, a reorganisation re-including the
    /// transaction in a later block): that only happens within the reorganisation depth, far
    /// less than `horizon`. The destination's consumed mark refuses the second release on
    /// chain in the first place; the watcher is the check that it did.
    pub fn prune(&mut self, horizon: u64) {
        for (chain, order) in &mut self.release_order {
            let Some(&cursor) = self.cursors.get(chain) else {
                continue;
            };
            while let Some(&(block, id)) = order.front() {
                if block.saturating_add(horizon) >= cursor {
                    break;
                }
                order.pop_front();
                if self
                    .released
                    .get(&id)
                    .is_some_and(|at| at.chain_id == *chain)
                {
                    self.released.remove(&id);
                }
            }
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
        let mut order: Vec<(u64, u64, B256)> = Vec::with_capacity(delta.released.len());
        for (id, at) in delta.released {
            self.sources.remove(&id);
            self.held.remove(&id);
            self.released.insert(id, at);
            self.releases_total = self.releases_total.saturating_add(1);
            let block = delta.release_blocks.get(&id).copied().unwrap_or(0);
            order.push((at.chain_id, block, id));
        }
        order.sort_unstable();
        for (chain, block, id) in order {
            self.release_order
                .entry(chain)
                .or_default()
                .push_back((block, id));
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

    /// Fake validators: two answer with a signature, two lag behind the source block (425).
    /// Before validators told "not yet" apart, their 404 counted as two refusals of four and
    /// the watcher paused the bridge over an honest release.
    #[test]
    fn lagging_validators_never_refute_a_release() {
        let lagging = || {
            weigh_error(&AnswerError::Status {
                url: "https://v".into(),
                status: NOT_YET,
                error: "message 0x.. is not admitted yet: scanned up to block 90, not yet past block 100".into(),
            })
        };
        assert!(matches!(lagging(), Answer::NotYet(_)));
        let answers = [Answer::Valid(0), Answer::Valid(1), lagging(), lagging()];
        match classify(&answers, 4, 3) {
            PqOutcome::CannotVerifyYet(why) => {
                assert!(why.contains("2 not admitted yet"), "{why}")
            }
            other => panic!("two lagging validators must not refute: {other:?}"),
        }
        // Four lagging (e.g. all freshly added): still only "cannot verify yet".
        assert!(matches!(
            classify(&[lagging(), lagging(), lagging(), lagging()], 4, 3),
            PqOutcome::CannotVerifyYet(_)
        ));
        // Once they caught up and signed: verified.
        assert_eq!(
            classify(
                &[
                    Answer::Valid(0),
                    Answer::Valid(1),
                    Answer::Valid(2),
                    lagging()
                ],
                4,
                3
            ),
            PqOutcome::Verified
        );
        // Validators past the source block that have no such message still refuse.
        assert!(matches!(
            classify(
                &[
                    Answer::Valid(0),
                    Answer::Valid(1),
                    weigh_error(&status(404)),
                    weigh_error(&status(404))
                ],
                4,
                3
            ),
            PqOutcome::Refuted(_)
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

    fn src(nonce: u64) -> SourceEvent {
        SourceEvent {
            message: message(nonce),
            block: 1,
        }
    }

    #[test]
    fn a_rescanned_release_is_not_a_double_release_but_a_second_one_is() {
        let mut view = View::default();
        let id = B256::repeat_byte(9);
        let mut d = Delta::default();
        d.sources.insert(id, src(1));
        assert_eq!(
            view.release(&mut d, id, key(1, 0), 1),
            Lookup::Source(src(1))
        );
        // A failed pass is dropped; the re-scan sees the same release as new, not twice.
        let mut d = Delta::default();
        d.sources.insert(id, src(1));
        assert_eq!(
            view.release(&mut d, id, key(1, 0), 1),
            Lookup::Source(src(1))
        );
        view.commit(d);
        assert!(view.sources.is_empty(), "a released lock is forgotten");
        let mut d = Delta::default();
        assert_eq!(view.release(&mut d, id, key(1, 0), 1), Lookup::Seen);
        assert_eq!(
            view.release(&mut d, id, key(1, 3), 1),
            Lookup::Seen,
            "the same transaction re-included at another index"
        );
        assert_eq!(
            view.release(&mut d, id, key(2, 0), 1),
            Lookup::Twice(key(1, 0))
        );
        // Two releases of one message inside one pass.
        let mut view = View::default();
        let mut d = Delta::default();
        assert_eq!(view.release(&mut d, id, key(1, 0), 1), Lookup::Unbacked);
        assert_eq!(view.release(&mut d, id, key(1, 1), 1), Lookup::Seen);
        assert_eq!(
            view.release(&mut d, id, key(3, 0), 1),
            Lookup::Twice(key(1, 0))
        );
        view.commit(d);
        assert_eq!(view.released.len(), 1);
    }

    #[test]
    fn a_held_transfer_then_its_execution_is_one_release() {
        let mut view = View::default();
        let id = B256::repeat_byte(7);
        view.sources.insert(id, src(5));
        let mut d = Delta::default();
        assert_eq!(view.hold(&mut d, id, key(1, 0)), Lookup::Source(src(5)));
        view.commit(d);
        assert_eq!(view.sources.len(), 1, "kept until released");
        let mut d = Delta::default();
        assert_eq!(view.hold(&mut d, id, key(1, 0)), Lookup::Seen);
        assert_eq!(
            view.release(&mut d, id, key(2, 4), 1),
            Lookup::Source(src(5))
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
            view.sources.insert(id, src(i.into()));
            let mut d = Delta::default();
            view.release(&mut d, id, key(i, 0), 1);
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

    /// 100,000 matched transfers over 50,000 blocks: the view keeps the releases of the last
    /// horizon only, and a release of a forgotten message is still a violation.
    #[test]
    fn the_view_stays_bounded_over_many_matched_transfers() {
        let mut view = View::default();
        let horizon = 1000;
        let mut peak = 0;
        for n in 0..100_000u64 {
            let block = n / 2;
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&n.to_be_bytes());
            let id = B256::from(h);
            let mut d = Delta::default();
            d.sources.insert(id, src(n));
            let at = EventKey {
                chain_id: 2,
                tx: id,
                log_index: 0,
            };
            assert_eq!(view.release(&mut d, id, at, block), Lookup::Source(src(n)));
            d.cursors.insert(2, block + 1);
            view.commit(d);
            view.prune(horizon);
            peak = peak.max(view.released.len());
        }
        assert!(view.sources.is_empty());
        assert_eq!(view.releases_total, 100_000);
        assert!(peak <= 2 * (horizon as usize + 2), "peak {peak}");
        let order: usize = view.release_order.values().map(VecDeque::len).sum();
        assert_eq!(order, view.released.len());
        // The first message's release was forgotten: a second release of it finds neither a
        // release nor a lock, so it is reported (unbacked), never taken as a re-scan.
        let first = B256::ZERO;
        assert!(!view.released.contains_key(&first));
        let mut d = Delta::default();
        let again = EventKey {
            chain_id: 2,
            tx: B256::repeat_byte(0xee),
            log_index: 0,
        };
        assert_eq!(view.release(&mut d, first, again, 50_000), Lookup::Unbacked);
        // A recent release is still known: the same event scanned again is not a violation,
        // another one is a double release.
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&99_999u64.to_be_bytes());
        let last = B256::from(h);
        let same = EventKey {
            chain_id: 2,
            tx: last,
            log_index: 0,
        };
        assert_eq!(view.release(&mut d, last, same, 49_999), Lookup::Seen);
        assert_eq!(
            view.release(&mut d, last, again, 50_000),
            Lookup::Twice(same)
        );
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
