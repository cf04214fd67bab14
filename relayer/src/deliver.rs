//! Delivery to one destination chain: claim due messages (leases; `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL), drop those already delivered by anyone (the contract's consumed mark), gather and
//! check attestations, send single or batched releases, confirm against the consumed mark.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolValue};
use alloy::transports::TransportError;
use ghostbridge_agent::attest::{AnswerError, AttestationError, ValidatorClients, ValidatorSet};
use ghostbridge_agent::chain::ChainError;
use ghostbridge_agent::runtime::{self, run_rounds, sleep_or_shutdown, Retry, Round, RoundLoop};
use ghostbridge_core::api::BatchRequest;
use ghostbridge_core::bindings::{
    minter::BridgeMinter, vault::BridgeVault, verifier::AttestationVerifier,
};
use ghostbridge_core::protocol::{
    merkle_proofs, merkle_root, to_minter, Domain, MerkleError, Message,
};
use ghostbridge_store::{AttestationRecord, AttestationSubject, MessageRecord, Status, StoreError};
use tokio_util::sync::CancellationToken;

use crate::submit::{Call, SubmitError, Submitter, WouldRevert};
use crate::Relayer;

/// Why a delivery attempt failed. The destination's own refusal found by gas estimation
/// ([`DeliverError::would_revert`]) is sorted by `fail_or_final` into a wait, a final error or a
/// transient one; every other case is transient: the attempt is recorded on the messages (with
/// backoff, counted toward `max_attempts`) and the next round tries again.
#[derive(Debug, thiserror::Error)]
enum DeliverError {
    /// The relayer's store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A chain read failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A node request failed.
    #[error("RPC: {0}")]
    Rpc(#[from] TransportError),
    /// A contract read failed (a node error, or an answer that does not decode).
    #[error("contract call: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// Fewer validators than the threshold signed (down, behind, or signing something else).
    #[error(transparent)]
    Attestation(#[from] AttestationError),
    /// Sending failed, or estimation found a revert.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// A batch without members (cannot happen: groups are never empty).
    #[error("batch root: {0}")]
    Merkle(#[from] MerkleError),
    /// Our lease on some messages ran out before their attestation was recorded.
    #[error("lease lost on {0} message(s) before attestation was recorded")]
    LeaseLost(usize),
    /// A mined release left messages unconsumed (the transaction reverted for a reason the
    /// node does not repeat now).
    #[error("{0} message(s) not consumed after their transaction was mined")]
    NotConsumed(usize),
    /// Caching a batch root in the verifier reverted.
    #[error("verifyBatchRoot reverted")]
    RootNotCached,
    /// A batch refused for a window or bucket none of its members is charged to.
    #[error("{0} (no member of the batch matches)")]
    UnmatchedWait(String),
    /// Taking refused members out of a batch did not finish within its bound.
    #[error("batch isolation did not converge")]
    NotConverged,
}

impl Retry for DeliverError {
    fn is_retryable(&self) -> bool {
        match self {
            // Another relayer's claim won a race: normal when several share one store.
            Self::Store(StoreError::LeaseNotHeld { .. } | StoreError::InvalidTransition { .. }) => {
                true
            }
            Self::Store(e) => e.is_retryable(),
            Self::Chain(e) => e.is_retryable(),
            // An empty batch: a bug, not weather.
            Self::Merkle(_) => false,
            Self::Rpc(_)
            | Self::Contract(_)
            | Self::Attestation(_)
            | Self::Submit(_)
            | Self::LeaseLost(_)
            | Self::NotConsumed(_)
            | Self::RootNotCached
            | Self::UnmatchedWait(_)
            | Self::NotConverged => true,
        }
    }
}

impl DeliverError {
    /// The destination's refusal found by gas estimation, if that is what this is.
    fn would_revert(&self) -> Option<&WouldRevert> {
        match self {
            Self::Submit(SubmitError::WouldRevert(w)) => Some(w),
            _ => None,
        }
    }
}

/// Release kind on the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Lock leg: mint wrapped tokens on the minter.
    Mint,
    /// Burn leg: unlock canonical tokens from the vault.
    Unlock,
}

#[derive(Clone)]
struct Pending {
    record: MessageRecord,
    message: Message,
}

/// Delivery to `dst`: `rounds_in_flight` workers run rounds concurrently on one shared
/// submitter. Their claims are disjoint (leases), so while one round waits for its block the
/// next has already claimed, attested and broadcast behind it: blocks stay full under a backlog.
pub(crate) async fn run(r: Relayer, dst: u64, submitter: Submitter, shutdown: CancellationToken) {
    let submitter = std::sync::Arc::new(submitter);
    let workers = (0..r.inner.rounds_in_flight)
        .map(|worker| {
            let (r, submitter, shutdown) = (r.clone(), submitter.clone(), shutdown.clone());
            tokio::spawn(async move {
                // Staggered starts, so the workers' rounds interleave instead of moving in step.
                // (`checked_div` is `None` only for a zero divisor.)
                let stagger = r
                    .inner
                    .poll
                    .saturating_mul(worker)
                    .checked_div(r.inner.rounds_in_flight.max(1))
                    .unwrap_or_default();
                if sleep_or_shutdown(stagger, &shutdown).await {
                    run_worker(r, dst, &submitter, worker, shutdown).await;
                }
            })
        })
        .collect::<Vec<_>>();
    for w in workers {
        // A worker's panic reaches the relayer's supervisor, which stops the process.
        ghostbridge_agent::runtime::propagate_panic(w.await);
    }
}

async fn run_worker(
    r: Relayer,
    dst: u64,
    submitter: &Submitter,
    worker: u32,
    shutdown: CancellationToken,
) {
    let spec = RoundLoop {
        component: format!("deliver/{dst}/{worker}"),
        poll: r.inner.poll,
        errors_metric: "ghostbridge_relayer_round_errors_total",
    };
    let r = &r;
    run_rounds(spec, &r.inner.health, &shutdown, move || async move {
        // A round that found work goes again at once: a backlog is drained without waiting.
        Ok::<_, DeliverError>(match round(r, dst, submitter).await? {
            0 => Round::Idle,
            _ => Round::Busy,
        })
    })
    .await
}

fn kind_of(r: &Relayer, m: &Message) -> Option<Kind> {
    let src = r.inner.chains.get(&m.srcChainId)?;
    if m.srcContract == src.deployment.vault {
        Some(Kind::Mint)
    } else if m.srcContract == src.deployment.minter {
        Some(Kind::Unlock)
    } else {
        None
    }
}

/// Returns how many messages it handled.
async fn round(r: &Relayer, dst: u64, submitter: &Submitter) -> Result<usize, DeliverError> {
    let inner = &r.inner;
    let claimed = inner
        .store
        .claim_batch(
            &inner.id,
            dst,
            inner.batch_max.saturating_mul(inner.pipeline_batches),
            inner.lease,
        )
        .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let count = claimed.len();
    let provider = &inner.providers[&dst];
    let deployment = &inner.chains[&dst].deployment;
    let mut groups: BTreeMap<Kind, Vec<Pending>> = BTreeMap::new();
    let mut decoded = Vec::with_capacity(claimed.len());
    for record in claimed {
        let message = match Message::abi_decode(&record.encoded) {
            Ok(m) => m,
            Err(e) => {
                inner
                    .store
                    .fail_permanently(&record.id, &inner.id, &format!("undecodable message: {e}"))
                    .await?;
                continue;
            }
        };
        let Some(kind) = kind_of(r, &message) else {
            inner
                .store
                .fail_permanently(
                    &record.id,
                    &inner.id,
                    "source contract is not a configured vault or minter",
                )
                .await?;
            continue;
        };
        decoded.push((record, message, kind));
    }
    // Anyone may have delivered a message (another relayer, a user, our own earlier attempt):
    // read every consumed mark first, concurrently.
    let marks = consumed_many(
        r,
        dst,
        decoded
            .iter()
            .map(|(_, m, k)| (*k, m.srcChainId, m.nonce))
            .collect(),
    )
    .await?;
    let mut delivered_elsewhere = Vec::new();
    for ((record, message, kind), already) in decoded.into_iter().zip(marks) {
        if already {
            delivered_elsewhere.push(record.id);
            continue;
        }
        if record.status == Status::Submitted {
            if let Some(sub) = &record.submission {
                // Our earlier transaction may still be in the mempool: wait for it rather than
                // sending a second one.
                if provider
                    .get_transaction_by_hash(sub.tx_hash)
                    .await?
                    .is_some()
                    && provider
                        .get_transaction_receipt(sub.tx_hash)
                        .await?
                        .is_none()
                {
                    inner
                        .store
                        .release(&record.id, &inner.id, Duration::from_secs(2))
                        .await?;
                    continue;
                }
            }
        }
        groups
            .entry(kind)
            .or_default()
            .push(Pending { record, message });
    }
    confirm(r, &delivered_elsewhere).await?;
    let set = ValidatorSet::read(provider, deployment.verifier).await?;
    let domain = Domain {
        chain_id: dst,
        verifier: deployment.verifier,
    };
    for (kind, group) in groups {
        // A message whose earlier attempts failed is retried alone: whatever failed its batch
        // (a member the destination refuses, a validator refusing yet another root with it, see
        // the validator's MAX_BATCHES_PER_MESSAGE) cannot hold it back a second time.
        let (fresh, retried): (Vec<Pending>, Vec<Pending>) = group
            .into_iter()
            .partition(|p| p.record.attempts < RETRY_ALONE_AFTER_ATTEMPTS);
        let (batched, mut alone) = if fresh.len() >= inner.batch_min as usize {
            (fresh, Vec::new())
        } else {
            (Vec::new(), fresh)
        };
        alone.extend(retried);
        let result = if batched.is_empty() {
            Ok(())
        } else if kind == Kind::Mint {
            deliver_mint_batches(r, dst, &batched, &set, &domain, submitter).await
        } else {
            for chunk in batched.chunks(inner.batch_max as usize) {
                if let Err(e) = deliver_unlock_batch(r, dst, chunk, &set, &domain, submitter).await
                {
                    fail(r, chunk, &e).await?;
                }
            }
            Ok(())
        };
        if let Err(e) = result {
            fail(r, &batched, &e).await?;
        }
        for p in &alone {
            if let Err(e) = deliver_single(r, dst, kind, p, &set, &domain, submitter).await {
                fail_or_final(r, dst, std::slice::from_ref(p), &e).await?;
            }
        }
    }
    Ok(count)
}

/// Failed attempts after which a message is no longer batched (see `round`).
const RETRY_ALONE_AFTER_ATTEMPTS: u32 = 3;

/// Reports a transient failed attempt for each message of `group` (backoff; see
/// `BackoffPolicy`). A message whose lease we lost meanwhile is left to its holder.
async fn fail(r: &Relayer, group: &[Pending], e: &DeliverError) -> Result<(), DeliverError> {
    tracing::warn!(error = %e, messages = group.len(), "delivery attempt failed; backing off");
    metrics::counter!("ghostbridge_relayer_delivery_failures_total").increment(group.len() as u64);
    for p in group {
        match r
            .inner
            .store
            .record_failure(&p.record.id, &r.inner.id, &e.to_string(), &r.inner.backoff)
            .await
        {
            Ok(rec) if rec.status == Status::FailedPermanently => {
                metrics::counter!("ghostbridge_relayer_failed_permanently_total").increment(1);
                tracing::error!(id = %p.record.id, reason = ?rec.failure_reason, "message failed permanently; see `ghostbridge status`");
            }
            Ok(_) => {}
            // Our lease is gone, or the message already left the pending states (e.g. its own
            // final error was recorded in this round): nothing more to report for it here.
            Err(StoreError::LeaseNotHeld { .. } | StoreError::InvalidTransition { .. }) => {
                tracing::debug!(id = %p.record.id, "not ours to report any more")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reports a failed attempt: a release the destination refuses until a known time
/// ([`wait_reason`]: its release window, a rate-limit bucket) waits for it, uncounted; a final
/// error ([`final_reason`]) counts toward `max_final_attempts`; anything else is transient.
async fn fail_or_final(
    r: &Relayer,
    dst: u64,
    group: &[Pending],
    e: &DeliverError,
) -> Result<(), DeliverError> {
    if validators_not_ready(e) {
        let delay = not_ready_delay(group, runtime::now_ms(), r.inner.backoff.max);
        return defer(r, group, &e.to_string(), delay).await;
    }
    let data = e.would_revert().map(|w| &w.data[..]);
    if let Some(wait) = data.and_then(wait_reason) {
        return defer_until(r, dst, group, &wait).await;
    }
    match data.and_then(final_reason) {
        Some(reason) => fail_final(r, group, &reason).await,
        None => fail(r, group, e).await,
    }
}

/// Whether too few signatures came back only because validators are behind or away: each
/// answer missing is unreachable, "not admitted (yet)" (404, 425: the relayer can be ahead of
/// their confirmation depth), halted or failing (5xx). Such a message waits for them without
/// the attempt counting toward `max_attempts`: an hour of validator outage must not fail
/// transfers. A validator that answers with a wrong digest or signature, or refuses otherwise
/// (409, 429), still counts (and sends a batch's members alone after a few).
fn validators_not_ready(e: &DeliverError) -> bool {
    let DeliverError::Attestation(AttestationError::BelowThreshold { problems, .. }) = e else {
        return false;
    };
    problems.iter().all(|p| match p {
        AnswerError::Unreachable { .. } => true,
        AnswerError::Status { status, .. } => {
            matches!(*status, 404 | 425) || (500..600).contains(status)
        }
        AnswerError::NotInSet(_)
        | AnswerError::WrongDigest { .. }
        | AnswerError::BadSignature { .. } => false,
    })
}

/// How long a message waits for validators that are not ready: a tenth of its age (a fresh
/// one is asked again within a second, one an outage has held for an hour every few minutes),
/// between 1 s and `max`.
fn not_ready_delay(group: &[Pending], now_ms: u64, max: Duration) -> Duration {
    let oldest = group
        .iter()
        .map(|p| p.record.created_at_ms)
        .min()
        .unwrap_or(now_ms);
    Duration::from_millis(now_ms.saturating_sub(oldest) / 10)
        .clamp(Duration::from_secs(1), max.max(Duration::from_secs(1)))
}

/// A refusal the destination lifts by itself at a known time: the release window of the
/// token is spent until `windowEndsAt` (`ReleaseShareExceeded`), or its (token, source chain)
/// rate-limit bucket refills in `retryAfterSeconds` (`RateLimited`). Retrying earlier cannot
/// pass, and it is no fault of the message: the message waits for that time, and the attempt
/// is not counted toward `max_attempts` (a 24 h window must not fail transfers after the ~1 h
/// that 40 backed-off attempts last).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wait {
    /// The refusal, for the record's `last_error`.
    reason: String,
    /// The destination's local token the refusal is about.
    token: Address,
    /// The source chain of the refused bucket (`RateLimited`); `None`: every source
    /// (`ReleaseShareExceeded` is per token).
    src_chain: Option<u64>,
    /// The amount of the member it refused.
    requested: U256,
    /// What the window/bucket could still release when it refused (after the members of the
    /// same batch before the refused one took their part).
    remaining: U256,
    /// When it may pass.
    until: WaitUntil,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitUntil {
    /// A destination block timestamp (unix seconds).
    ChainTime(u64),
    /// Seconds after the refusal.
    Seconds(u64),
}

/// The [`Wait`] if revert data of a release is a refusal with a retry time. A bucket that can
/// never cover the amount (above its capacity, or no refill: `retryAfterSeconds` is
/// `type(uint256).max`) is not a wait: the attempt counts, and the message ends
/// `failed_permanently` with the reason until an operator reconfigures the bucket and
/// redelivers it.
fn wait_reason(data: &[u8]) -> Option<Wait> {
    use alloy::sol_types::SolError;
    if let Ok(e) = BridgeVault::ReleaseShareExceeded::abi_decode(data) {
        return Some(Wait {
            reason: format!(
                "ReleaseShareExceeded: token {} requested {} but its release window has {} left; \
                 waiting for the window to end at {} (not counted as an attempt)",
                e.token, e.requested, e.remaining, e.windowEndsAt
            ),
            token: e.token,
            src_chain: None,
            requested: e.requested,
            remaining: e.remaining,
            until: WaitUntil::ChainTime(e.windowEndsAt),
        });
    }
    if let Ok(e) = BridgeVault::RateLimited::abi_decode(data) {
        let secs = u64::try_from(e.retryAfterSeconds)
            .ok()
            .filter(|s| *s != u64::MAX)?;
        return Some(Wait {
            reason: format!(
                "RateLimited: token {} from chain {} requested {} but {} is available; \
                 waiting {secs}s for the bucket to refill (not counted as an attempt)",
                e.token, e.chainId, e.requested, e.available
            ),
            token: e.token,
            src_chain: Some(e.chainId),
            requested: e.requested,
            remaining: e.available,
            until: WaitUntil::Seconds(secs),
        });
    }
    None
}

/// Longest a refused message waits before it is tried again, however far its window ends:
/// an admin who raises the share or the bucket is honoured within the hour, and a destination
/// clock far off ours cannot park a message for long. The try is not counted either way.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Delay until `until`, given the destination's latest block time (`None`: unknown, retry
/// after `fallback`), plus a block of slack, at most [`MAX_WAIT`].
fn wait_delay(until: WaitUntil, chain_now: Option<u64>, fallback: Duration) -> Duration {
    const SLACK: Duration = Duration::from_secs(2);
    let wait = match (until, chain_now) {
        (WaitUntil::Seconds(s), _) => Duration::from_secs(s),
        (WaitUntil::ChainTime(t), Some(now)) => Duration::from_secs(t.saturating_sub(now)),
        (WaitUntil::ChainTime(_), None) => fallback,
    };
    wait.saturating_add(SLACK).min(MAX_WAIT)
}

/// The destination's latest block timestamp, `None` if it cannot be read now.
async fn chain_now(r: &Relayer, dst: u64) -> Option<u64> {
    match r.inner.providers[&dst]
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
    {
        Ok(Some(b)) => Some(b.header.timestamp),
        _ => None,
    }
}

/// Makes each message of `group` wait until `wait` lifts, per the destination's clock.
async fn defer_until(
    r: &Relayer,
    dst: u64,
    group: &[Pending],
    wait: &Wait,
) -> Result<(), DeliverError> {
    let delay = wait_delay(wait.until, chain_now(r, dst).await, r.inner.backoff.max);
    defer(r, group, &wait.reason, delay).await
}

/// Makes each message of `group` wait `delay` without counting the attempt (see [`Wait`]).
async fn defer(
    r: &Relayer,
    group: &[Pending],
    reason: &str,
    delay: Duration,
) -> Result<(), DeliverError> {
    tracing::info!(%reason, messages = group.len(), retry_in_s = delay.as_secs(), "the destination refuses the release until later; waiting (not counted as an attempt)");
    metrics::counter!("ghostbridge_relayer_deferred_total").increment(group.len() as u64);
    for p in group {
        match r
            .inner
            .store
            .defer(&p.record.id, &r.inner.id, reason, delay)
            .await
        {
            Ok(_) => {}
            Err(StoreError::LeaseNotHeld { .. } | StoreError::InvalidTransition { .. }) => {
                tracing::debug!(id = %p.record.id, "not ours to report any more")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A batch refused with `wait`, split by what the refused window/bucket can take: members it
/// does not concern are kept; those of its token (and source chain, for a bucket) are kept
/// greedily, in order, while they fit in what it could take before the batch, and the others
/// wait for `wait.until` (the window/bucket only shrinks until then: waiting is a delay, never
/// a failure). `local_tokens[i]` is member `i`'s token on the destination.
///
/// What it could take before the batch: `remaining` is what was left when the refused member
/// came, after the concerned members before it took theirs, so it is `remaining` plus their sum.
/// The refused member is a concerned one whose amount is `requested` and above `remaining`;
/// when several qualify (equal amounts) the last is taken: an estimate too high only costs one
/// more refusal, one too low would make members wait that could pass now. The members before
/// it are kept and it is not, so every refusal takes at least one member out: repeated
/// refusals converge, and a window opened by the reverted batch itself (not stored) cannot make
/// every member wait for a window that never starts.
fn split_for_wait<T>(
    chunk: Vec<T>,
    local_tokens: &[Address],
    wait: &Wait,
    message: impl Fn(&T) -> &Message,
) -> (Vec<T>, Vec<T>) {
    let concerned = |m: &Message, token: &Address| {
        *token == wait.token && wait.src_chain.is_none_or(|c| c == m.srcChainId)
    };
    let (mut sum, mut before) = (U256::ZERO, U256::ZERO);
    for (p, token) in chunk.iter().zip(local_tokens) {
        let m = message(p);
        if !concerned(m, token) {
            continue;
        }
        if m.amount == wait.requested && m.amount > wait.remaining {
            before = sum;
        }
        sum = sum.saturating_add(m.amount);
    }
    let mut budget = wait.remaining.saturating_add(before);
    let (mut keep, mut until_end) = (Vec::new(), Vec::new());
    for (p, token) in chunk.into_iter().zip(local_tokens) {
        let m = message(&p);
        if !concerned(m, token) {
            keep.push(p);
        } else if let Some(left) = budget.checked_sub(m.amount) {
            budget = left;
            keep.push(p);
        } else {
            until_end.push(p);
        }
    }
    (keep, until_end)
}

/// Counts one final attempt for each message of `group`; at `max_final_attempts` the store
/// moves it to `failed_permanently` with `reason`, and it is no longer claimed.
async fn fail_final(r: &Relayer, group: &[Pending], reason: &str) -> Result<(), DeliverError> {
    tracing::warn!(%reason, messages = group.len(), "the destination refuses the release: final error");
    metrics::counter!("ghostbridge_relayer_final_errors_total").increment(group.len() as u64);
    for p in group {
        match r
            .inner
            .store
            .record_final_failure(
                &p.record.id,
                &r.inner.id,
                reason,
                &r.inner.backoff,
                r.inner.max_final_attempts,
            )
            .await
        {
            Ok(rec) if rec.status == Status::FailedPermanently => {
                metrics::counter!("ghostbridge_relayer_failed_permanently_total").increment(1);
                tracing::error!(id = %p.record.id, reason = ?rec.failure_reason, "message failed permanently; fix the cause, then `ghostbridge redeliver`");
            }
            Ok(_) => {}
            Err(StoreError::LeaseNotHeld { .. } | StoreError::InvalidTransition { .. }) => {
                tracing::debug!(id = %p.record.id, "not ours to report any more")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The reason, if revert data of a release is a FINAL error: the destination refuses this
/// message for a cause that retrying cannot fix (its route, its source, or its recipient), so
/// the attempt counts toward `max_final_attempts`. `None` for everything that may pass later
/// or is not the message's fault: paused, rate limited, held, already consumed, attestation
/// and epoch errors, an empty revert or a panic.
fn final_reason(data: &[u8]) -> Option<String> {
    use alloy::sol_types::SolInterface;
    use BridgeMinter::BridgeMinterErrors as M;
    use BridgeVault::BridgeVaultErrors as V;
    if let Ok(e) = M::abi_decode(data) {
        return matches!(
            e,
            M::UnknownRoute(_)
                | M::UnknownSourceContract(_)
                | M::WrongDestinationChain(_)
                | M::UnsupportedVersion(_)
        )
        .then(|| format!("{e:?}"));
    }
    if let Ok(e) = V::abi_decode(data) {
        return match e {
            // `Address.sendValue` with a recipient that reverts without data.
            V::FailedCall(_) => {
                Some("FailedCall: the recipient refuses the native transfer".into())
            }
            V::SafeERC20FailedOperation(_)
            | V::UnknownSourceContract(_)
            | V::WrongDestinationChain(_)
            | V::UnsupportedVersion(_) => Some(format!("{e:?}")),
            _ => None,
        };
    }
    if AttestationVerifier::AttestationVerifierErrors::abi_decode(data).is_ok() {
        return None;
    }
    const PANIC: [u8; 4] = [0x4e, 0x48, 0x7b, 0x71];
    if data.len() < 4 || data[..4] == PANIC {
        return None;
    }
    // No bridge contract raises it: the vault bubbles up the revert of a recipient that
    // refuses the native transfer.
    Some(format!(
        "the recipient refuses the transfer (revert data {})",
        alloy::primitives::Bytes::copy_from_slice(data)
    ))
}

/// Whether `m` is one of the messages a final batch revert `data` names (e.g. the route of
/// `UnknownRoute`); `false` when the error names no message field.
fn named_by(data: &[u8], m: &Message) -> bool {
    use alloy::sol_types::SolInterface;
    use BridgeMinter::BridgeMinterErrors as M;
    match M::abi_decode(data) {
        Ok(M::UnknownRoute(e)) => m.srcChainId == e.originChainId && m.token == e.originToken,
        Ok(M::UnknownSourceContract(e)) => {
            m.srcChainId == e.srcChainId && m.srcContract == e.srcContract
        }
        Ok(M::WrongDestinationChain(e)) => m.dstChainId == e.dstChainId,
        Ok(M::UnsupportedVersion(e)) => m.version == e.version,
        _ => false,
    }
}

/// A whole-batch mint of `chunk` reverted with a final error: fail the members it names (or
/// the single member) and return what to try again. If the error names no member, the chunk is
/// split in halves, so a bad member is found in log2(chunk) more passes and the others are
/// delivered meanwhile. Returned members are already attested.
async fn isolate(
    r: &Relayer,
    chunk: Vec<Pending>,
    data: &[u8],
    reason: &str,
) -> Result<Vec<Vec<Pending>>, DeliverError> {
    if chunk.len() == 1 {
        fail_final(r, &chunk, reason).await?;
        return Ok(Vec::new());
    }
    let (named, mut rest): (Vec<Pending>, Vec<Pending>) =
        chunk.into_iter().partition(|p| named_by(data, &p.message));
    for p in &mut rest {
        if p.record.status == Status::Seen {
            p.record.status = Status::Attested;
        }
    }
    if named.is_empty() {
        let tail = rest.split_off(rest.len() / 2);
        tracing::info!(halves = ?(rest.len(), tail.len()), %reason, "batch refused without naming a member; splitting it");
        return Ok(vec![rest, tail]);
    }
    fail_final(r, &named, reason).await?;
    Ok(if rest.is_empty() {
        Vec::new()
    } else {
        vec![rest]
    })
}

/// A whole-batch mint of `chunk` was refused with `wait` (its token's window or bucket): the
/// members that cannot pass wait ([`split_for_wait`]), uncounted; returns the rest to send
/// again in this round (already attested). The local token of a mint is the wrapped token of
/// (source chain, origin token), read from the minter.
async fn wait_out(
    r: &Relayer,
    dst: u64,
    chunk: Vec<Pending>,
    wait: &Wait,
) -> Result<Vec<Vec<Pending>>, DeliverError> {
    let minter = BridgeMinter::new(
        r.inner.chains[&dst].deployment.minter,
        r.inner.providers[&dst].clone(),
    );
    let mut wrapped: BTreeMap<(u64, Address), Address> = BTreeMap::new();
    let mut local = Vec::with_capacity(chunk.len());
    for p in &chunk {
        let k = (p.message.srcChainId, p.message.token);
        let w = match wrapped.get(&k) {
            Some(w) => *w,
            None => {
                let w = minter.wrappedTokenOf(k.0, k.1).call().await?;
                wrapped.insert(k, w);
                w
            }
        };
        local.push(w);
    }
    let (mut keep, until_end) = split_for_wait(chunk, &local, wait, |p| &p.message);
    if until_end.is_empty() {
        // The refusal names no member (it cannot be told which token is whose): counted, as
        // any unexplained failure, so it cannot go on uncounted.
        fail(r, &keep, &DeliverError::UnmatchedWait(wait.reason.clone())).await?;
        return Ok(Vec::new());
    }
    defer_until(r, dst, &until_end, wait).await?;
    for p in &mut keep {
        if p.record.status == Status::Seen {
            p.record.status = Status::Attested;
        }
    }
    Ok(if keep.is_empty() {
        Vec::new()
    } else {
        vec![keep]
    })
}

/// Consumed marks of many `(kind, source chain, nonce)` on `dst`, read with JSON-RPC batches
/// (`chain::consumed_marks`): a backlog round reads 800 marks before sending and again after
/// the receipts, and one HTTP request per mark costs the node more than the mints themselves.
async fn consumed_many(
    r: &Relayer,
    dst: u64,
    items: Vec<(Kind, u64, u64)>,
) -> Result<Vec<bool>, DeliverError> {
    let d = &r.inner.chains[&dst].deployment;
    let marks: Vec<(Address, u64, u64)> = items
        .into_iter()
        .map(|(kind, src, nonce)| (endpoint_of(d, kind), src, nonce))
        .collect();
    Ok(ghostbridge_agent::chain::consumed_marks(&r.inner.providers[&dst], &marks).await?)
}

/// Confirms messages whose consumed mark is set (one database transaction).
async fn confirm(r: &Relayer, ids: &[B256]) -> Result<(), DeliverError> {
    if ids.is_empty() {
        return Ok(());
    }
    let missed = r.inner.store.mark_confirmed_many(ids, &r.inner.id).await?;
    if !missed.is_empty() {
        // Our lease ran out: whoever holds them now sees the consumed mark and confirms them.
        tracing::warn!(count = missed.len(), "lease lost before confirmation");
    }
    metrics::counter!("ghostbridge_relayer_messages_confirmed_total")
        .increment(ids.len().saturating_sub(missed.len()) as u64);
    Ok(())
}

async fn save_attestations(
    r: &Relayer,
    subject: AttestationSubject,
    epoch: u64,
    answers: &[ghostbridge_core::api::SignedDigest],
) -> Result<(), DeliverError> {
    for a in answers {
        r.inner
            .store
            .put_attestation(&AttestationRecord {
                subject,
                epoch,
                validator: a.signer,
                ecdsa_sig: a.ecdsa.clone(),
                mldsa_sig: a.mldsa.clone(),
            })
            .await?;
    }
    Ok(())
}

/// `seen → attested` for the group's `seen` members, in one database transaction.
async fn mark_attested(r: &Relayer, group: &[Pending]) -> Result<(), DeliverError> {
    let seen: Vec<B256> = group
        .iter()
        .filter(|p| p.record.status == Status::Seen)
        .map(|p| p.record.id)
        .collect();
    let missed = r.inner.store.mark_attested_many(&seen, &r.inner.id).await?;
    if !missed.is_empty() {
        return Err(DeliverError::LeaseLost(missed.len()));
    }
    Ok(())
}

/// After the receipts: the consumed mark decides, not the receipt alone.
async fn settle(
    r: &Relayer,
    dst: u64,
    kind: Kind,
    group: &[Pending],
    gas_used: u64,
) -> Result<(), DeliverError> {
    let mut undelivered = Vec::new();
    let mut done_ids = Vec::new();
    let marks = consumed_many(
        r,
        dst,
        group
            .iter()
            .map(|p| (kind, p.message.srcChainId, p.message.nonce))
            .collect(),
    )
    .await?;
    for (p, done) in group.iter().zip(marks) {
        if done {
            done_ids.push(p.record.id);
        } else {
            undelivered.push(p);
        }
    }
    confirm(r, &done_ids).await?;
    metrics::histogram!("ghostbridge_relayer_gas_per_message", "kind" => format!("{kind:?}"))
        .record(gas_used as f64 / group.len().max(1) as f64);
    if !undelivered.is_empty() {
        return Err(DeliverError::NotConsumed(undelivered.len()));
    }
    Ok(())
}

async fn deliver_single(
    r: &Relayer,
    dst: u64,
    kind: Kind,
    p: &Pending,
    set: &ValidatorSet,
    domain: &Domain,
    submitter: &Submitter,
) -> Result<(), DeliverError> {
    let id = p.record.id;
    let d = &r.inner.chains[&dst].deployment;
    // The digest names the releasing endpoint (docs/PROTOCOL.md), as the validators decide it.
    let digest = domain.message_digest(endpoint_of(d, kind), id, set.epoch);
    let gathered = r
        .inner
        .validators
        .attestation(set, digest, &ValidatorClients::message_path(dst, id), None)
        .await;
    if let Err(AttestationError::BelowThreshold { accepted, .. }) = &gathered {
        // Kept while the others are awaited: the transfer's status counts who signed already.
        save_attestations(r, AttestationSubject::Message(id), set.epoch, accepted).await?;
    }
    let (att, answers) = gathered?;
    save_attestations(r, AttestationSubject::Message(id), set.epoch, &answers).await?;
    mark_attested(r, std::slice::from_ref(p)).await?;
    let (to, data) = match kind {
        Kind::Mint => (
            d.minter,
            BridgeMinter::mintCall {
                message: to_minter(&p.message),
                attestation: att.to_minter(),
            }
            .abi_encode(),
        ),
        Kind::Unlock => (
            d.vault,
            BridgeVault::unlockCall {
                message: p.message.clone(),
                attestation: att.to_vault(),
            }
            .abi_encode(),
        ),
    };
    let call = Call {
        to,
        data: data.into(),
        message_ids: vec![id],
    };
    let receipts = submitter
        .send_all(
            std::slice::from_ref(&call),
            &r.inner.store,
            &r.inner.id,
            r.inner.lease,
        )
        .await?;
    for receipt in &receipts {
        if let Some(wait) = reverted_for_wait(submitter, receipt, &call).await {
            return defer_until(r, dst, std::slice::from_ref(p), &wait).await;
        }
    }
    let gas: u64 = receipts.iter().map(|x| x.gas_used).sum();
    settle(r, dst, kind, std::slice::from_ref(p), gas).await
}

/// The [`Wait`] a release mined but reverted ran into, if that is why it reverted. Estimation
/// before sending cannot see the releases that land in the same blocks (our concurrent rounds,
/// `rounds_in_flight`, or another relayer): two batches that each fit a token's release window
/// can spend it together, and the later one reverts on-chain. Its messages then wait for the
/// window like any refused release, uncounted, instead of failing an attempt.
async fn reverted_for_wait(
    submitter: &Submitter,
    receipt: &alloy::rpc::types::TransactionReceipt,
    call: &Call,
) -> Option<Wait> {
    if receipt.status() {
        return None;
    }
    let wait = wait_reason(&submitter.revert_data(call).await?)?;
    tracing::info!(tx = %receipt.transaction_hash, reason = %wait.reason, "a release reverted on-chain: a transaction in the same blocks spent what it needed");
    Some(wait)
}

/// Up to `pipeline_batches` batches of `batch_max` at once: their attestations are gathered
/// concurrently and their `mintWholeBatch` transactions go out with consecutive nonces, so several
/// land in the same block.
///
/// One member the minter refuses for good (e.g. `UnknownRoute`) reverts its whole batch, which
/// gas estimation shows before anything is sent: that chunk is taken out, its bad member(s)
/// isolated ([`isolate`]) and the rest attested and sent again in the same round, so a bad
/// message never holds the others back.
async fn deliver_mint_batches(
    r: &Relayer,
    dst: u64,
    group: &[Pending],
    set: &ValidatorSet,
    domain: &Domain,
    submitter: &Submitter,
) -> Result<(), DeliverError> {
    let mut todo: Vec<Vec<Pending>> = group
        .chunks(r.inner.batch_max as usize)
        .map(<[Pending]>::to_vec)
        .collect();
    let mut ready: Vec<(Vec<Pending>, Call)> = Vec::new();
    // Each pass delivers, or takes one reverting chunk out (failing members or halving it):
    // bounded by twice the members.
    for _ in 0..=group.len().saturating_mul(2) {
        let prepared = futures::future::join_all(
            todo.iter()
                .map(|c| prepare_mint_batch(r, dst, c, set, domain)),
        )
        .await;
        for (chunk, call) in todo.drain(..).zip(prepared) {
            match call {
                Ok(call) => ready.push((chunk, call)),
                Err(e) => fail(r, &chunk, &e).await?,
            }
        }
        if ready.is_empty() {
            return Ok(());
        }
        let calls: Vec<Call> = ready.iter().map(|(_, call)| call.clone()).collect();
        let e = match submitter
            .send_all(&calls, &r.inner.store, &r.inner.id, r.inner.lease)
            .await
        {
            Ok(receipts) => {
                for ((chunk, call), receipt) in std::mem::take(&mut ready).into_iter().zip(receipts)
                {
                    if let Some(wait) = reverted_for_wait(submitter, &receipt, &call).await {
                        todo.extend(wait_out(r, dst, chunk, &wait).await?);
                        continue;
                    }
                    tracing::info!(chain = dst, messages = chunk.len(), gas = receipt.gas_used, block = receipt.block_number, tx = %receipt.transaction_hash, "batch delivered");
                    if let Err(e) = settle(r, dst, Kind::Mint, &chunk, receipt.gas_used).await {
                        fail(r, &chunk, &e).await?;
                    }
                }
                if todo.is_empty() {
                    return Ok(());
                }
                continue;
            }
            Err(e) => DeliverError::from(e),
        };
        let Some(revert) = e.would_revert().filter(|w| w.index < ready.len()) else {
            for (chunk, _) in &ready {
                fail(r, chunk, &e).await?;
            }
            return Ok(());
        };
        let (chunk, _) = ready.remove(revert.index);
        if let Some(wait) = wait_reason(&revert.data) {
            todo = wait_out(r, dst, chunk, &wait).await?;
            continue;
        }
        match final_reason(&revert.data) {
            Some(reason) => todo = isolate(r, chunk, &revert.data, &reason).await?,
            None => fail(r, &chunk, &e).await?,
        }
    }
    let e = DeliverError::NotConverged;
    for (chunk, _) in &ready {
        fail(r, chunk, &e).await?;
    }
    for chunk in &todo {
        fail(r, chunk, &e).await?;
    }
    Ok(())
}

/// The destination contract that releases a message of `kind` (the `endpoint` of its digest).
fn endpoint_of(d: &ghostbridge_core::deployment::Deployment, kind: Kind) -> Address {
    match kind {
        Kind::Mint => d.minter,
        Kind::Unlock => d.vault,
    }
}

/// A checked batch attestation for one chunk, persisted with its members.
struct AttestedBatch {
    root: B256,
    attestation: ghostbridge_core::protocol::Attestation,
}

/// Every member of `group` is released by the same endpoint (the caller groups by kind).
async fn attest_batch(
    r: &Relayer,
    dst: u64,
    kind: Kind,
    group: &[Pending],
    set: &ValidatorSet,
    domain: &Domain,
) -> Result<AttestedBatch, DeliverError> {
    let ids: Vec<B256> = group.iter().map(|p| p.record.id).collect();
    let root = merkle_root(&ids)?;
    let digest = domain.batch_digest(
        endpoint_of(&r.inner.chains[&dst].deployment, kind),
        root,
        set.epoch,
    );
    let request = BatchRequest {
        dst_chain_id: dst,
        message_ids: ids.clone(),
    };
    let (attestation, answers) = r
        .inner
        .validators
        .attestation(set, digest, "/v1/batches", Some(&request))
        .await?;
    r.inner.store.put_batch(&root, dst, &ids).await?;
    save_attestations(r, AttestationSubject::Batch(root), set.epoch, &answers).await?;
    mark_attested(r, group).await?;
    Ok(AttestedBatch { root, attestation })
}

/// The `mintWholeBatch` call for one attested chunk: the chunk is the whole batch, so the minter
/// rebuilds the root from the messages and no proofs are sent (about 4k gas less per message
/// at 200 members, which decides how many transfers fit in a block).
async fn prepare_mint_batch(
    r: &Relayer,
    dst: u64,
    group: &[Pending],
    set: &ValidatorSet,
    domain: &Domain,
) -> Result<Call, DeliverError> {
    let AttestedBatch { attestation, .. } =
        attest_batch(r, dst, Kind::Mint, group, set, domain).await?;
    Ok(Call {
        to: r.inner.chains[&dst].deployment.minter,
        data: BridgeMinter::mintWholeBatchCall {
            messages: group.iter().map(|p| to_minter(&p.message)).collect(),
            attestation: attestation.to_minter(),
        }
        .abi_encode()
        .into(),
        message_ids: group.iter().map(|p| p.record.id).collect(),
    })
}

/// The vault has no multi-release call: cache the root once in the verifier, then one cheap
/// `unlockFromBatch` per message, pipelined with consecutive nonces.
async fn deliver_unlock_batch(
    r: &Relayer,
    dst: u64,
    group: &[Pending],
    set: &ValidatorSet,
    domain: &Domain,
    submitter: &Submitter,
) -> Result<(), DeliverError> {
    let AttestedBatch { root, attestation } =
        attest_batch(r, dst, Kind::Unlock, group, set, domain).await?;
    // Proofs only here: whole-batch mints send none.
    let proofs = merkle_proofs(&group.iter().map(|p| p.record.id).collect::<Vec<_>>())?;
    let d = &r.inner.chains[&dst].deployment;
    let verifier = AttestationVerifier::new(d.verifier, r.inner.providers[&dst].clone());
    // The view reverts (UnknownBatchRoot / StaleEpoch) until the root is cached for the vault in
    // this epoch.
    let cached = match verifier.batchRootSignatures(d.vault, root).call().await {
        Ok(n) => !n.is_zero(),
        Err(e)
            if e.as_decoded_interface_error::<AttestationVerifier::AttestationVerifierErrors>()
                .is_some() =>
        {
            false
        }
        Err(e) => return Err(e.into()),
    };
    if !cached {
        // Through the vault: the verifier caches the root for its caller, the releasing endpoint.
        let cache = Call {
            to: d.vault,
            data: BridgeVault::verifyBatchRootCall {
                root,
                attestation: attestation.to_vault(),
            }
            .abi_encode()
            .into(),
            message_ids: Vec::new(),
        };
        let receipts = submitter
            .send_all(&[cache], &r.inner.store, &r.inner.id, r.inner.lease)
            .await?;
        if !receipts.iter().all(|x| x.status()) {
            return Err(DeliverError::RootNotCached);
        }
    }
    let mut members: Vec<(Pending, Call)> = group
        .iter()
        .zip(proofs)
        .map(|(p, proof)| {
            (
                p.clone(),
                Call {
                    to: d.vault,
                    data: BridgeVault::unlockFromBatchCall {
                        message: p.message.clone(),
                        root,
                        proof,
                    }
                    .abi_encode()
                    .into(),
                    message_ids: vec![p.record.id],
                },
            )
        })
        .collect();
    // One release per member: a member the vault refuses (gas estimation names its call) is
    // taken out and reported alone, the others are sent without it. Bounded by the members.
    for _ in 0..group.len() {
        let calls: Vec<Call> = members.iter().map(|(_, call)| call.clone()).collect();
        match submitter
            .send_all(&calls, &r.inner.store, &r.inner.id, r.inner.lease)
            .await
        {
            Ok(receipts) => {
                let gas: u64 = receipts.iter().map(|x| x.gas_used).sum();
                tracing::info!(chain = dst, messages = members.len(), %root, gas, "batch delivered");
                let mut sent = Vec::with_capacity(members.len());
                for ((p, call), receipt) in members.into_iter().zip(&receipts) {
                    match reverted_for_wait(submitter, receipt, &call).await {
                        Some(wait) => defer_until(r, dst, std::slice::from_ref(&p), &wait).await?,
                        None => sent.push(p),
                    }
                }
                return settle(r, dst, Kind::Unlock, &sent, gas).await;
            }
            Err(e) => {
                let e = DeliverError::from(e);
                let Some(index) = e
                    .would_revert()
                    .map(|w| w.index)
                    .filter(|i| *i < members.len())
                else {
                    return Err(e);
                };
                let (bad, _) = members.remove(index);
                fail_or_final(r, dst, std::slice::from_ref(&bad), &e).await?;
                if members.is_empty() {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use alloy::sol_types::SolError;

    fn message(token: Address) -> Message {
        Message {
            version: 1,
            srcChainId: 31337,
            dstChainId: 31338,
            srcContract: Address::repeat_byte(0xa1),
            nonce: 7,
            token,
            amount: U256::from(1u64),
            sender: Address::repeat_byte(2),
            recipient: Address::repeat_byte(3),
        }
    }

    #[tokio::test]
    async fn a_release_reverted_on_chain_by_a_spent_window_waits_for_it() {
        use ghostbridge_agent::testing::{mock_node, receipt, reverts_with};
        let (provider, node) = mock_node();
        let wallet =
            alloy::network::EthereumWallet::from(alloy::signers::local::PrivateKeySigner::random());
        let submitter = Submitter::new(31338, provider, wallet, Default::default());
        let call = Call {
            to: Address::repeat_byte(0x09),
            data: vec![1u8, 2, 3].into(),
            message_ids: vec![B256::repeat_byte(0xcc)],
        };
        let token = Address::repeat_byte(0x77);
        let window = BridgeMinter::ReleaseShareExceeded {
            token,
            requested: U256::from(1u64),
            remaining: U256::ZERO,
            windowEndsAt: 1_700_000_030,
        }
        .abi_encode();
        // Estimated alone it passed; mined after a same-block release it reverted. Asked again,
        // the node names the spent window: the message waits for it, uncounted.
        node.push_failure(reverts_with(window.clone()));
        let wait = reverted_for_wait(&submitter, &receipt(false), &call)
            .await
            .expect("a window refusal is a wait");
        assert_eq!(wait.until, WaitUntil::ChainTime(1_700_000_030));
        assert_eq!(wait.token, token);
        assert!(node.read_q().is_empty(), "the call was replayed once");
        // A release that succeeded is not asked about.
        node.push_failure(reverts_with(window));
        assert!(reverted_for_wait(&submitter, &receipt(true), &call)
            .await
            .is_none());
        assert_eq!(node.read_q().len(), 1, "no call for a success");
        node.write_q().clear();
        // A revert for another reason is not a wait: the attempt fails as before (counted).
        let route = BridgeMinter::UnknownRoute {
            originChainId: 31337,
            originToken: token,
        }
        .abi_encode();
        node.push_failure(reverts_with(route));
        assert!(reverted_for_wait(&submitter, &receipt(false), &call)
            .await
            .is_none());
        // Nor is a call that passes now (the window ended meanwhile): retried as a failure.
        node.push_success(&21_000u64);
        assert!(reverted_for_wait(&submitter, &receipt(false), &call)
            .await
            .is_none());
    }

    /// A relayer delivering to 31338 (minter `0x42…`) over `validators`, its store in memory
    /// holding `messages`, all claimed by it; the chains are never read.
    async fn relayer_with_claimed(
        validators: ValidatorClients,
        messages: &[Message],
    ) -> (crate::Relayer, Vec<Pending>) {
        let store = ghostbridge_store::Store::open("sqlite::memory:")
            .await
            .unwrap();
        store.migrate().await.unwrap();
        for m in messages {
            store
                .insert_seen(&ghostbridge_store::NewMessage {
                    id: ghostbridge_core::protocol::message_id(m),
                    src_chain: m.srcChainId,
                    dst_chain: m.dstChainId,
                    src_contract: m.srcContract,
                    nonce: m.nonce,
                    encoded: m.abi_encode().into(),
                })
                .await
                .unwrap();
        }
        let claimed = store
            .claim_batch("r1", 31338, 8, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), messages.len());
        let pending = messages
            .iter()
            .map(|m| Pending {
                record: claimed
                    .iter()
                    .find(|r| r.id == ghostbridge_core::protocol::message_id(m))
                    .cloned()
                    .unwrap(),
                message: m.clone(),
            })
            .collect();
        let (provider, _) = ghostbridge_agent::testing::mock_node();
        let source = messages[0].srcContract;
        let r = crate::Relayer {
            inner: std::sync::Arc::new(crate::testing::inner(
                store,
                [
                    crate::testing::chain(31337, source, Address::repeat_byte(0x41)),
                    crate::testing::chain(
                        31338,
                        Address::repeat_byte(0x43),
                        Address::repeat_byte(0x42),
                    ),
                ],
                [(31338, provider)].into(),
                validators,
            )),
        };
        (r, pending)
    }

    /// Three fake validators (real TLS, real signatures) signing mints of chain 31338's minter
    /// 0x42..42 at epoch 1, and a submitter over a mock node (nothing here gets that far).
    async fn fake_validators() -> (
        Domain,
        Vec<ghostbridge_agent::testing::FakeValidator>,
        Submitter,
    ) {
        use ghostbridge_agent::testing::{FakeValidator, Signs};
        let domain = Domain {
            chain_id: 31338,
            verifier: Address::repeat_byte(0x77),
        };
        let mut fakes = Vec::new();
        for i in 1..=3u8 {
            let key = ghostbridge_core::keys::ValidatorKey::devnet(&[i; 32]).unwrap();
            let signs = Signs {
                domain,
                endpoint: Address::repeat_byte(0x42),
                epoch: 1,
            };
            fakes.push(FakeValidator::start(key, signs).await.unwrap());
        }
        let (provider, _) = ghostbridge_agent::testing::mock_node();
        let wallet =
            alloy::network::EthereumWallet::from(alloy::signers::local::PrivateKeySigner::random());
        let submitter = Submitter::new(31338, provider, wallet, Default::default());
        (domain, fakes, submitter)
    }

    /// A relayer decision over fake validators (real TLS, real signatures): validators only
    /// behind or away make a single release wait, uncounted; one refusing it (409) counts the
    /// attempt.
    #[tokio::test]
    async fn a_release_waits_uncounted_for_validators_behind_and_counts_a_refusal() {
        use ghostbridge_agent::testing::{clients, validator_set, Behaviour, FakeValidator};
        let (domain, mut fakes, submitter) = fake_validators().await;
        let refs: Vec<&FakeValidator> = fakes.iter().collect();
        let set = validator_set(&refs, 1, 2);
        let first = message(Address::repeat_byte(0x77));
        let second = Message {
            nonce: first.nonce + 1,
            ..first.clone()
        };
        let (r, pending) = relayer_with_claimed(clients(&refs).unwrap(), &[first, second]).await;
        let attempt = |p: &Pending| {
            let (r, set, submitter, p) = (&r, &set, &submitter, p.clone());
            async move {
                let e = deliver_single(r, 31338, Kind::Mint, &p, set, &domain, submitter)
                    .await
                    .expect_err("too few signatures");
                fail_or_final(r, 31338, std::slice::from_ref(&p), &e)
                    .await
                    .unwrap();
                r.inner.store.message(&p.record.id).await.unwrap().unwrap()
            }
        };

        // Behind their depth (404), halted (503), gone: the message waits, uncounted.
        fakes[0].set(Behaviour::Status(404));
        fakes[1].set(Behaviour::Status(503));
        fakes[2].stop().await;
        let before = runtime::now_ms();
        let rec = attempt(&pending[0]).await;
        assert_eq!(rec.status, Status::Seen);
        assert_eq!(
            rec.attempts, 0,
            "waiting for validators is not an attempt: {rec:?}"
        );
        assert!(
            rec.last_error
                .as_deref()
                .is_some_and(|e| e.contains("only 0 of the 2")),
            "{rec:?}"
        );
        assert!(
            rec.next_attempt_at_ms >= before + 1_000 && rec.next_attempt_at_ms < before + 5_000,
            "a fresh message is asked again within seconds: {rec:?}"
        );

        // A validator refusing the request (409) is no weather: the attempt counts.
        fakes[1].set(Behaviour::Status(409));
        let rec = attempt(&pending[1]).await;
        assert_eq!(rec.attempts, 1, "a refusal counts: {rec:?}");
    }

    /// While a release waits for the last validators, the signatures already gathered are kept:
    /// the status API counts them ("2 of 3 validators signed") instead of showing 0 until the
    /// threshold is reached.
    #[tokio::test]
    async fn a_waiting_release_keeps_the_signatures_it_has() {
        use ghostbridge_agent::testing::{clients, validator_set, Behaviour, FakeValidator};
        let (domain, fakes, submitter) = fake_validators().await;
        let refs: Vec<&FakeValidator> = fakes.iter().collect();
        let set = validator_set(&refs, 1, 3);
        let (r, pending) = relayer_with_claimed(
            clients(&refs).unwrap(),
            &[message(Address::repeat_byte(0x77))],
        )
        .await;
        let id = pending[0].record.id;
        let stored = || async {
            let mut signers: Vec<Address> = r
                .inner
                .store
                .attestations(&AttestationSubject::Message(id), 1)
                .await
                .unwrap()
                .into_iter()
                .map(|a| a.validator)
                .collect();
            signers.sort();
            signers
        };

        let attempt = || async {
            deliver_single(
                &r,
                31338,
                Kind::Mint,
                &pending[0],
                &set,
                &domain,
                &submitter,
            )
            .await
            .expect_err("below the threshold of 3")
        };

        // The third validator has not admitted the message yet (425).
        fakes[2].set(Behaviour::Status(425));
        let e = attempt().await;
        assert!(e.to_string().contains("only 2 of the 3"), "{e}");
        let mut signed = vec![fakes[0].address, fakes[1].address];
        signed.sort();
        assert_eq!(stored().await, signed);

        // None answers now (halted): what was gathered stays.
        for f in &fakes {
            f.set(Behaviour::Status(503));
        }
        let e = attempt().await;
        assert!(e.to_string().contains("only 0 of the 3"), "{e}");
        assert_eq!(stored().await, signed);
    }

    fn below_threshold(problems: Vec<AnswerError>) -> DeliverError {
        DeliverError::Attestation(AttestationError::BelowThreshold {
            got: 0,
            need: 3,
            problems,
            accepted: Vec::new(),
        })
    }

    fn status(status: u16) -> AnswerError {
        AnswerError::Status {
            url: "https://v".into(),
            status,
            error: "no".into(),
        }
    }

    #[test]
    fn validators_behind_or_away_are_waited_for_and_misbehaviour_is_counted() {
        let away = AnswerError::Unreachable {
            url: "https://v".into(),
            error: "connection refused".into(),
        };
        // Behind their depth (404, 425), halted (503), down: wait, uncounted.
        assert!(validators_not_ready(&below_threshold(vec![
            status(404),
            status(425),
            status(503),
            away,
        ])));
        // One validator refusing the request (409: a root over a delivered member; 429: too
        // many roots) or signing something else: counted, so a batch's members go alone.
        for odd in [
            status(409),
            status(429),
            AnswerError::NotInSet(Address::repeat_byte(9)),
        ] {
            assert!(!validators_not_ready(&below_threshold(vec![
                status(404),
                odd
            ])));
        }
        // Not an attestation problem at all.
        assert!(!validators_not_ready(&DeliverError::NotConverged));
    }

    #[test]
    fn a_message_waits_for_validators_a_tenth_of_its_age_within_bounds() {
        let pending = |created_at_ms: u64| Pending {
            record: MessageRecord {
                id: B256::ZERO,
                src_chain: 1,
                dst_chain: 2,
                src_contract: Address::ZERO,
                nonce: 0,
                encoded: Default::default(),
                status: Status::Seen,
                failure_reason: None,
                attempts: 1,
                final_attempts: 0,
                last_error: None,
                next_attempt_at_ms: 0,
                submission: None,
                lease: None,
                created_at_ms,
                updated_at_ms: created_at_ms,
            },
            message: message(Address::ZERO),
        };
        let max = Duration::from_secs(120);
        let now = 10_000_000;
        // Fresh: asked again within a second.
        assert_eq!(
            not_ready_delay(&[pending(now - 500)], now, max),
            Duration::from_secs(1)
        );
        // Ten minutes old: a minute.
        assert_eq!(
            not_ready_delay(&[pending(now - 600_000)], now, max),
            Duration::from_secs(60)
        );
        // An hour old: capped.
        assert_eq!(not_ready_delay(&[pending(now - 3_600_000)], now, max), max);
    }

    #[test]
    fn final_errors_are_told_from_transient_ones() {
        let orphan = Address::repeat_byte(0x0d);
        let route = BridgeMinter::UnknownRoute {
            originChainId: 31337,
            originToken: orphan,
        }
        .abi_encode();
        assert!(final_reason(&route).is_some_and(|r| r.contains("UnknownRoute")));
        assert!(final_reason(&BridgeVault::FailedCall {}.abi_encode())
            .is_some_and(|r| r.contains("refuses")));
        // A recipient's own revert, bubbled up by the vault.
        assert!(
            final_reason(&alloy::sol_types::Revert::from("no ETH, thanks").abi_encode()).is_some()
        );
        // Whatever may pass later, or is no fault of the message, never counts.
        let transient = [
            BridgeMinter::EnforcedPause {}.abi_encode(),
            BridgeMinter::AlreadyConsumed {
                srcChainId: 1,
                nonce: 2,
            }
            .abi_encode(),
            BridgeVault::RateLimited {
                token: orphan,
                chainId: 1,
                requested: U256::from(2u64),
                available: U256::from(1u64),
                retryAfterSeconds: U256::from(9u64),
            }
            .abi_encode(),
            AttestationVerifier::StaleEpoch {
                attestedEpoch: 1,
                currentEpoch: 2,
            }
            .abi_encode(),
            AttestationVerifier::InsufficientSignatures {
                valid: U256::from(2u64),
                required: U256::from(3u64),
            }
            .abi_encode(),
            alloy::sol_types::Panic::from(0x11).abi_encode(),
            Vec::new(),
        ];
        for data in transient {
            assert_eq!(
                final_reason(&data),
                None,
                "{}",
                alloy::primitives::Bytes::from(data.clone())
            );
        }
    }

    #[test]
    fn a_spent_release_window_is_waited_for_uncounted() {
        let token = Address::repeat_byte(0x77);
        let now = 1_700_000_000u64;
        let window = BridgeVault::ReleaseShareExceeded {
            token,
            requested: U256::from(50u64),
            remaining: U256::from(20u64),
            windowEndsAt: now + 86_400,
        }
        .abi_encode();
        // Neither final nor a plain transient failure: wait for the window's end.
        assert_eq!(final_reason(&window), None);
        let wait = wait_reason(&window).expect("a window refusal is a wait");
        assert_eq!(wait.until, WaitUntil::ChainTime(now + 86_400));
        assert_eq!((wait.token, wait.src_chain), (token, None));
        assert_eq!(wait.remaining, U256::from(20u64));
        assert!(wait.reason.contains("ReleaseShareExceeded"));
        // Scheduled at the window's end by the destination's clock, re-checked at least hourly.
        let fallback = Duration::from_secs(120);
        assert_eq!(wait_delay(wait.until, Some(now), fallback), MAX_WAIT);
        assert_eq!(
            wait_delay(WaitUntil::ChainTime(now + 100), Some(now), fallback),
            Duration::from_secs(102)
        );
        assert_eq!(
            wait_delay(WaitUntil::ChainTime(now - 5), Some(now), fallback),
            Duration::from_secs(2)
        );
        assert_eq!(
            wait_delay(WaitUntil::ChainTime(now + 100), None, fallback),
            Duration::from_secs(122)
        );
        // The minter raises the same error (one selector for both endpoints).
        let minted = BridgeMinter::ReleaseShareExceeded {
            token,
            requested: U256::from(50u64),
            remaining: U256::from(20u64),
            windowEndsAt: now,
        }
        .abi_encode();
        assert!(wait_reason(&minted).is_some());

        // A rate-limit bucket that refills in 9 s: wait 9 s; one that never can: not a wait.
        let limited = |retry: U256| {
            BridgeVault::RateLimited {
                token,
                chainId: 5,
                requested: U256::from(2u64),
                available: U256::from(1u64),
                retryAfterSeconds: retry,
            }
            .abi_encode()
        };
        let wait = wait_reason(&limited(U256::from(9u64))).expect("a refilling bucket is a wait");
        assert_eq!(
            (wait.until, wait.src_chain),
            (WaitUntil::Seconds(9), Some(5))
        );
        assert_eq!(
            wait_delay(wait.until, None, fallback),
            Duration::from_secs(11)
        );
        assert_eq!(wait_reason(&limited(U256::MAX)), None);
        // Anything else is no wait.
        for data in [
            BridgeMinter::EnforcedPause {}.abi_encode(),
            BridgeVault::FailedCall {}.abi_encode(),
            Vec::new(),
        ] {
            assert_eq!(wait_reason(&data), None);
        }
    }

    #[test]
    fn a_batch_refused_by_a_window_keeps_what_fits() {
        let (t, other) = (Address::repeat_byte(0x77), Address::repeat_byte(0x78));
        let m = |nonce: u64, amount: u64| Message {
            nonce,
            amount: U256::from(amount),
            ..message(t)
        };
        let nonces = |v: &[Message]| v.iter().map(|m| m.nonce).collect::<Vec<_>>();
        let wait = |requested: u64, remaining: u64| Wait {
            reason: String::new(),
            token: t,
            src_chain: None,
            requested: U256::from(requested),
            remaining: U256::from(remaining),
            until: WaitUntil::ChainTime(1),
        };
        // The window had 15 before the batch: 6 passed, then 30 was refused with 9 left.
        let chunk = vec![m(1, 6), m(2, 30), m(3, 5), m(4, 4), m(5, 1000)];
        let local = [t, t, t, t, other];
        let (keep, until_end) = split_for_wait(chunk, &local, &wait(30, 9), |m| m);
        // 6 + 5 + 4 fit in 15; 30 waits for the window's end; the other token goes at once.
        assert_eq!(nonces(&keep), vec![1, 3, 4, 5]);
        assert_eq!(nonces(&until_end), vec![2]);
        // A window the reverted batch opened itself (3 to take, not stored): five members of 1,
        // the fourth refused with 0 left; which one it was is ambiguous (equal amounts), so the
        // last is assumed: four are tried again, refused again, then three go and the window
        // opens for real; two wait for its end.
        let chunk: Vec<Message> = (1..=5).map(|n| m(n, 1)).collect();
        let (keep, until_end) = split_for_wait(chunk, &[t; 5], &wait(1, 0), |m| m);
        assert_eq!(
            (nonces(&keep), nonces(&until_end)),
            (vec![1, 2, 3, 4], vec![5])
        );
        let (keep, until_end) = split_for_wait(keep, &[t; 4], &wait(1, 0), |m| m);
        assert_eq!(
            (nonces(&keep), nonces(&until_end)),
            (vec![1, 2, 3], vec![4])
        );
        // Every refusal takes at least the refused member out, so refusals converge.
        let chunk = vec![m(1, 8), m(2, 1)];
        let (keep, until_end) = split_for_wait(chunk, &[t; 2], &wait(8, 7), |m| m);
        assert_eq!((nonces(&keep), nonces(&until_end)), (vec![2], vec![1]));
        // A bucket is per source chain too: a member from another chain is not concerned.
        let bucket = Wait {
            src_chain: Some(99),
            ..wait(30, 0)
        };
        let (keep, until_end) = split_for_wait(vec![m(1, 30)], &[t], &bucket, |m| m);
        assert_eq!((keep.len(), until_end.len()), (1, 0));
    }

    #[test]
    fn a_refused_batch_names_its_bad_members_only() {
        let orphan = Address::repeat_byte(0x0d);
        let route = BridgeMinter::UnknownRoute {
            originChainId: 31337,
            originToken: orphan,
        }
        .abi_encode();
        assert!(named_by(&route, &message(orphan)));
        assert!(!named_by(&route, &message(Address::repeat_byte(0x0e))));
        assert!(!named_by(
            &BridgeVault::FailedCall {}.abi_encode(),
            &message(orphan)
        ));
    }
}
