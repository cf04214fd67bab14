//! Delivery to one destination chain: claim due messages (leases; `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL), drop those already delivered by anyone (the contract's consumed mark), gather and
//! check attestations, send single or batched releases, confirm against the consumed mark.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolValue};
use anyhow::Context;
use ghostbridge_core::api::BatchRequest;
use ghostbridge_core::attest::{ValidatorClients, ValidatorSet};
use ghostbridge_core::bindings::{
    minter::BridgeMinter, vault::BridgeVault, verifier::AttestationVerifier,
};
use ghostbridge_core::protocol::{merkle_proofs, merkle_root, to_minter, Domain, Message};
use ghostbridge_core::runtime::{sleep_or_shutdown, Backoff};
use ghostbridge_store::{AttestationRecord, AttestationSubject, MessageRecord, Status, StoreError};
use tokio_util::sync::CancellationToken;

use crate::submit::{Call, Submitter, WouldRevert};
use crate::Relayer;

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
        let _ = w.await;
    }
}

async fn run_worker(
    r: Relayer,
    dst: u64,
    submitter: &Submitter,
    worker: u32,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
    let component = format!("deliver/{dst}/{worker}");
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let delay = match round(&r, dst, submitter).await {
            Ok(0) => {
                backoff.reset();
                r.inner.health.ok(&component);
                r.inner.poll
            }
            Ok(_) => {
                backoff.reset();
                r.inner.health.ok(&component);
                Duration::ZERO
            }
            Err(e) => {
                let d = backoff.next_delay();
                tracing::warn!(chain = dst, error = %format!("{e:#}"), retry_in_ms = d.as_millis() as u64, "delivery round failed");
                if backoff.failures() > 3 {
                    r.inner.health.problem(&component, format!("{e:#}"));
                }
                d
            }
        };
        if !sleep_or_shutdown(delay, &shutdown).await {
            return;
        }
    }
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
async fn round(r: &Relayer, dst: u64, submitter: &Submitter) -> anyhow::Result<usize> {
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
    let set = ValidatorSet::read(provider, deployment.verifier)
        .await
        .context("reading the destination validator set")?;
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
                fail_or_final(r, std::slice::from_ref(p), &e).await?;
            }
        }
    }
    Ok(count)
}

/// Failed attempts after which a message is no longer batched (see `round`).
const RETRY_ALONE_AFTER_ATTEMPTS: u32 = 3;

/// Reports a transient failed attempt for each message of `group` (backoff; see
/// `BackoffPolicy`). A message whose lease we lost meanwhile is left to its holder.
async fn fail(r: &Relayer, group: &[Pending], e: &anyhow::Error) -> anyhow::Result<()> {
    tracing::warn!(error = %format!("{e:#}"), messages = group.len(), "delivery attempt failed; backing off");
    metrics::counter!("ghostbridge_relayer_delivery_failures_total").increment(group.len() as u64);
    for p in group {
        match r
            .inner
            .store
            .record_failure(
                &p.record.id,
                &r.inner.id,
                &format!("{e:#}"),
                &r.inner.backoff,
            )
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

/// Reports a failed attempt: a release the destination refuses with a final error
/// ([`final_reason`]) counts toward `max_final_attempts`; anything else is transient.
async fn fail_or_final(r: &Relayer, group: &[Pending], e: &anyhow::Error) -> anyhow::Result<()> {
    match e
        .downcast_ref::<WouldRevert>()
        .and_then(|w| final_reason(&w.data))
    {
        Some(reason) => fail_final(r, group, &reason).await,
        None => fail(r, group, e).await,
    }
}

/// Counts one final attempt for each message of `group`; at `max_final_attempts` the store
/// moves it to `failed_permanently` with `reason`, and it is no longer claimed.
async fn fail_final(r: &Relayer, group: &[Pending], reason: &str) -> anyhow::Result<()> {
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
) -> anyhow::Result<Vec<Vec<Pending>>> {
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

/// Consumed marks of many `(kind, source chain, nonce)` on `dst`, read with JSON-RPC batches
/// (`chain::consumed_marks`): a backlog round reads 800 marks before sending and again after
/// the receipts, and one HTTP request per mark costs the node more than the mints themselves.
async fn consumed_many(
    r: &Relayer,
    dst: u64,
    items: Vec<(Kind, u64, u64)>,
) -> anyhow::Result<Vec<bool>> {
    let d = &r.inner.chains[&dst].deployment;
    let marks: Vec<(Address, u64, u64)> = items
        .into_iter()
        .map(|(kind, src, nonce)| (endpoint_of(d, kind), src, nonce))
        .collect();
    ghostbridge_core::chain::consumed_marks(&r.inner.providers[&dst], &marks).await
}

/// Confirms messages whose consumed mark is set (one database transaction).
async fn confirm(r: &Relayer, ids: &[B256]) -> anyhow::Result<()> {
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
) -> anyhow::Result<()> {
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
async fn mark_attested(r: &Relayer, group: &[Pending]) -> anyhow::Result<()> {
    let seen: Vec<B256> = group
        .iter()
        .filter(|p| p.record.status == Status::Seen)
        .map(|p| p.record.id)
        .collect();
    let missed = r.inner.store.mark_attested_many(&seen, &r.inner.id).await?;
    anyhow::ensure!(
        missed.is_empty(),
        "lease lost on {} message(s) before attestation was recorded",
        missed.len()
    );
    Ok(())
}

/// After the receipts: the consumed mark decides, not the receipt alone.
async fn settle(
    r: &Relayer,
    dst: u64,
    kind: Kind,
    group: &[Pending],
    gas_used: u64,
) -> anyhow::Result<()> {
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
        anyhow::bail!(
            "{} message(s) not consumed after their transaction was mined",
            undelivered.len()
        );
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
) -> anyhow::Result<()> {
    let id = p.record.id;
    let d = &r.inner.chains[&dst].deployment;
    // The digest names the releasing endpoint (docs/PROTOCOL.md), as the validators decide it.
    let digest = domain.message_digest(endpoint_of(d, kind), id, set.epoch);
    let (att, answers) = r
        .inner
        .validators
        .attestation(set, digest, &ValidatorClients::message_path(dst, id), None)
        .await?;
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
    let receipts = submitter
        .send_all(
            &[Call {
                to,
                data: data.into(),
                message_ids: vec![id],
            }],
            &r.inner.store,
            &r.inner.id,
            r.inner.lease,
        )
        .await?;
    let gas: u64 = receipts.iter().map(|x| x.gas_used).sum();
    settle(r, dst, kind, std::slice::from_ref(p), gas).await
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
) -> anyhow::Result<()> {
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
                for ((chunk, _), receipt) in ready.into_iter().zip(receipts) {
                    tracing::info!(chain = dst, messages = chunk.len(), gas = receipt.gas_used, block = receipt.block_number, tx = %receipt.transaction_hash, "batch delivered");
                    if let Err(e) = settle(r, dst, Kind::Mint, &chunk, receipt.gas_used).await {
                        fail(r, &chunk, &e).await?;
                    }
                }
                return Ok(());
            }
            Err(e) => e,
        };
        let Some(revert) = e
            .downcast_ref::<WouldRevert>()
            .filter(|w| w.index < ready.len())
        else {
            for (chunk, _) in &ready {
                fail(r, chunk, &e).await?;
            }
            return Ok(());
        };
        let (chunk, _) = ready.remove(revert.index);
        match final_reason(&revert.data) {
            Some(reason) => todo = isolate(r, chunk, &revert.data, &reason).await?,
            None => fail(r, &chunk, &e).await?,
        }
    }
    let e = anyhow::anyhow!("batch isolation did not converge");
    for (chunk, _) in &ready {
        fail(r, chunk, &e).await?;
    }
    for chunk in &todo {
        fail(r, chunk, &e).await?;
    }
    Ok(())
}

/// The destination contract that releases a message of `kind` (the `endpoint` of its digest).
fn endpoint_of(d: &ghostbridge_core::chain::Deployment, kind: Kind) -> Address {
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
) -> anyhow::Result<AttestedBatch> {
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
) -> anyhow::Result<Call> {
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
) -> anyhow::Result<()> {
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
        anyhow::ensure!(
            receipts.iter().all(|x| x.status()),
            "verifyBatchRoot reverted"
        );
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
                let sent: Vec<Pending> = members.into_iter().map(|(p, _)| p).collect();
                return settle(r, dst, Kind::Unlock, &sent, gas).await;
            }
            Err(e) => {
                let Some(index) = e
                    .downcast_ref::<WouldRevert>()
                    .map(|w| w.index)
                    .filter(|i| *i < members.len())
                else {
                    return Err(e);
                };
                let (bad, _) = members.remove(index);
                fail_or_final(r, std::slice::from_ref(&bad), &e).await?;
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
    use super::*;
    use alloy::primitives::U256;
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
