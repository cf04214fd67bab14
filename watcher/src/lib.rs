//! The GhostBridge watcher: an independent check of what the bridge did, every block.
//!
//! - every `Minted`/`Unlocked`, and every `TransferHeld` when it is held, must match exactly one
//!   `Locked`/`Burned` on its source chain with the same content, and no message may be
//!   released twice;
//! - per route and token, wrapped supply on the destination <= locked minus unlocked on the
//!   source vault;
//! - every released (or held) message must be vouched for by the validators: at least
//!   `threshold` of them sign its single-message attestation digest on request, each ML-DSA-65
//!   signature passing BOTH aws-lc-rs and the independent `fips204` verifier, by keys registered
//!   on chain. The watcher never reads a release's calldata, so how a release was delivered
//!   (any contract, batch, forwarder, `executeHeld`) does not matter.
//!
//! Unreachable or halted validators are "cannot verify yet", never a violation: such releases
//! are retried (backing off to 15 s), counted in `ghostbridge_watcher_unverified_releases` and reported
//! on `/health` after `unverified_alert_secs`. A violation is logged once (`alarm=true`),
//! counted in `ghostbridge_watcher_violations_total`, makes `/health` fail and, with the
//! guardian key configured, pauses every endpoint that is not paused (again after an unpause
//! if a new violation comes, or while a condition such as supply > backing lasts) and cancels a
//! bad held transfer. A pass commits its view only when it completed, so an RPC error never
//! makes a release counted twice.

pub mod decide;
mod error;
pub mod rotation;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Log;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use futures::StreamExt;
use ghostbridge_agent::attest::{ValidatorClients, ValidatorSet};
use ghostbridge_agent::daemon::{self, Daemon, DaemonError, Tasks};
use ghostbridge_agent::events::EventSource;
use ghostbridge_agent::runtime::{self, Health};
use ghostbridge_core::bindings::{
    guardian::BridgeGuardian, minter::BridgeMinter, vault::BridgeVault, wrapped_token::WrappedToken,
};
use ghostbridge_core::config::{Chain, Role};
use ghostbridge_core::protocol::{from_minter, message_id, release_endpoint, Domain};

pub use decide::{classify, weigh_error, Answer, EventKey, PqOutcome, Reporter, Violation};
use decide::{content_matches, Delta, Lookup, SourceEvent, View, RELEASE_HORIZON_BLOCKS};
pub use error::WatcherError;

/// PQ re-checks run at once.
const PQ_CONCURRENCY: usize = 16;
/// Unverified releases retried per pass at most (oldest retry first), so validators that hang
/// until the request timeout cannot make one pass last for hours.
const PENDING_RETRIES_PER_PASS: usize = 256;
/// Longest wait between two retries of one unverified release.
const PENDING_MAX_BACKOFF: Duration = Duration::from_secs(15);

/// Watcher state (in memory; rebuilt from the chains at start).
pub struct Watcher {
    chains: HashMap<u64, Chain>,
    providers: HashMap<u64, DynProvider>,
    /// Per chain: the vault's and the minter's logs (the shared event source, read to the head:
    /// a release is audited as soon as it is mined).
    sources: HashMap<u64, [EventSource; 2]>,
    validators: ValidatorClients,
    guardian: Option<PrivateKeySigner>,
    health: Health,
    unverified_alert: Duration,
    /// What the completed passes saw.
    view: View,
    /// Releases and holds whose PQ check could not complete yet, retried with backoff.
    pending: HashMap<EventKey, Pending>,
    /// Violations reported so far (count + the last few).
    reporter: Reporter,
    /// Validator-set rotation proposals (issue 11 #8).
    rotations: rotation::RotationWatch,
    /// When a failed pause was last logged, per chain (a failure repeats on every pass while a
    /// condition lasts; it is logged at most once a minute).
    pause_failure_logged: HashMap<u64, Instant>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("violations", &self.reporter.total())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// A release or hold, as its event tells it.
#[derive(Debug, Clone)]
struct Release {
    id: B256,
    at: EventKey,
    /// Vault or minter that emitted it (the attestation's endpoint).
    endpoint: Address,
    /// `None` for a hold (the event does not carry it).
    src_chain: Option<u64>,
    recipient: Address,
    /// The local token released.
    token: Address,
    amount: U256,
    minted: bool,
    held: bool,
    /// Its block.
    block: u64,
    /// Where its lock/burn was: (source chain, source contract, block), sent to the validators
    /// so a lagging one answers "not yet" rather than "no". Set once the lock/burn is found.
    source: Option<(u64, Address, u64)>,
}

impl Release {
    fn what(&self) -> &'static str {
        if self.held {
            "held transfer"
        } else {
            "release"
        }
    }
}

/// A release whose PQ check is still open.
#[derive(Debug, Clone)]
struct Pending {
    release: Release,
    since: Instant,
    why: String,
    /// Failed checks so far, and when to try again.
    attempts: u32,
    next_retry: Instant,
}

impl Watcher {
    /// Builds a watcher. `unverified_alert`: how long a release may stay unverifiable before
    /// `/health` reports it.
    pub fn new(
        chains: Vec<Chain>,
        validators: ValidatorClients,
        guardian: Option<PrivateKeySigner>,
        health: Health,
        unverified_alert: Duration,
    ) -> Result<Self, WatcherError> {
        let mut providers = HashMap::new();
        for c in &chains {
            let p = ghostbridge_agent::chain::http_provider(&c.rpc_urls[0])?;
            providers.insert(c.chain_id, p);
        }
        Self::with_providers(
            chains,
            providers,
            validators,
            guardian,
            health,
            unverified_alert,
        )
    }

    /// [`Watcher::new`] reading each chain through `providers` (by chain id; in tests, a
    /// scripted node). Guardian transactions still go to each chain's first RPC URL.
    fn with_providers(
        chains: Vec<Chain>,
        providers: HashMap<u64, DynProvider>,
        validators: ValidatorClients,
        guardian: Option<PrivateKeySigner>,
        health: Health,
        unverified_alert: Duration,
    ) -> Result<Self, WatcherError> {
        let mut view = View::default();
        let mut sources = HashMap::new();
        let held_topic = BridgeVault::TransferHeld::SIGNATURE_HASH;
        for c in &chains {
            let p = providers.get(&c.chain_id).cloned().ok_or_else(|| {
                WatcherError::Start(format!("no RPC provider for chain {}", c.chain_id))
            })?;
            let source = |contract, topics: &[_]| {
                EventSource::new(p.clone(), contract, topics, 0, c.max_block_range)
            };
            let vault = source(
                c.deployment.vault,
                &[
                    BridgeVault::Locked::SIGNATURE_HASH,
                    BridgeVault::Unlocked::SIGNATURE_HASH,
                    held_topic,
                ],
            );
            let minter = source(
                c.deployment.minter,
                &[
                    BridgeMinter::Burned::SIGNATURE_HASH,
                    BridgeMinter::Minted::SIGNATURE_HASH,
                    held_topic,
                ],
            );
            sources.insert(c.chain_id, [vault, minter]);
            view.cursors.insert(c.chain_id, c.deployment.deploy_block);
        }
        let rotations = rotation::RotationWatch::new(&chains)?;
        Ok(Self {
            chains: chains.into_iter().map(|c| (c.chain_id, c)).collect(),
            providers,
            sources,
            validators,
            guardian,
            health,
            unverified_alert,
            view,
            pending: HashMap::new(),
            reporter: Reporter::default(),
            rotations,
            pause_failure_logged: HashMap::new(),
        })
    }

    /// Violations reported since start.
    pub fn violations_total(&self) -> u64 {
        self.reporter.total()
    }

    /// The last violations reported (bounded).
    pub fn recent_violations(&self) -> impl Iterator<Item = &Violation> {
        self.reporter.recent()
    }

    /// Releases whose signatures could not be checked yet.
    pub fn unverified(&self) -> usize {
        self.pending.len()
    }

    /// One pass over every chain up to its head. Returns the violations reported by this pass
    /// (each violation is reported once). On an RPC error nothing of the pass is kept (the next
    /// pass re-scans the same blocks), but violations it already found are still acted on.
    pub async fn check_once(&mut self) -> Result<Vec<Violation>, WatcherError> {
        let mut found = Vec::new();
        let result = self.pass(&mut found).await;
        let (proposed, rotation_error) = self.rotations.scan(&self.chains, &self.providers).await;
        // Persistent conditions not seen again cleared only if every check ran.
        let complete = result.is_ok() && rotation_error.is_none();
        found.extend(proposed);
        if let Some(e) = rotation_error {
            tracing::warn!(error = %e, retryable = e.is_retryable(), "rotation scan failed; retried next pass");
        }
        let result = result.map(|(delta, pending)| {
            self.view.commit(delta);
            self.view.prune(RELEASE_HORIZON_BLOCKS);
            self.pending = pending;
            self.report_progress();
        });
        let new = self.reporter.record(found, complete);
        for v in &new {
            tracing::error!(alarm = true, kind = v.kind, chain = v.chain_id, detail = %v.detail, "BRIDGE INVARIANT VIOLATED");
            metrics::counter!("ghostbridge_watcher_violations_total", "kind" => v.kind)
                .increment(1);
            self.health
                .problem(&format!("violation/{}", v.kind), v.detail.clone());
        }
        for v in &new {
            if let Some((chain, endpoint, id)) = v.cancel {
                self.cancel_held(chain, endpoint, id).await;
            }
            if v.kind == rotation::KIND {
                self.cancel_rotation(v.chain_id).await;
            }
        }
        if !new.is_empty() || self.reporter.condition_holds() {
            self.ensure_paused(!new.is_empty()).await;
        }
        result.map(|()| new)
    }

    fn report_progress(&self) {
        metrics::gauge!("ghostbridge_watcher_releases_checked")
            .set(self.view.releases_total as f64);
        metrics::gauge!("ghostbridge_watcher_releases_remembered")
            .set(self.view.released.len() as f64);
        metrics::gauge!("ghostbridge_watcher_unverified_releases").set(self.pending.len() as f64);
        metrics::gauge!("ghostbridge_watcher_open_sources").set(self.view.sources.len() as f64);
        self.health
            .progress("releases_checked", self.view.releases_total);
        self.health
            .progress("unverified_releases", self.pending.len());
        self.health
            .progress("violations_total", self.reporter.total());
        let overdue: Vec<&Pending> = self
            .pending
            .values()
            .filter(|p| p.since.elapsed() >= self.unverified_alert)
            .collect();
        match overdue.iter().min_by_key(|p| p.since) {
            Some(oldest) => self.health.problem("unverified_releases", format!(
                "{} release(s) unverified for more than {}s (cannot verify yet, not a violation); oldest {} {} in {}: {}",
                overdue.len(), self.unverified_alert.as_secs(), oldest.release.what(), oldest.release.id, oldest.release.at.label(), oldest.why)),
            None => self.health.ok("unverified_releases"),
        }
    }

    /// Everything of one pass, computed without touching `self`.
    async fn pass(
        &self,
        found: &mut Vec<Violation>,
    ) -> Result<(Delta, HashMap<EventKey, Pending>), WatcherError> {
        let mut delta = Delta::default();
        let mut releases = Vec::new();
        let ids: Vec<u64> = self.chains.keys().copied().collect();
        let mut heads = HashMap::new();
        // Sources first on every chain, then releases: a release is checked against every lock
        // up to a head read before the release itself.
        for &id in &ids {
            heads.insert(
                id,
                self.providers[&id]
                    .get_block_number()
                    .await
                    .map_err(|e| WatcherError::rpc("eth_blockNumber", e))?,
            );
        }
        let held_topic = BridgeVault::TransferHeld::SIGNATURE_HASH;
        for &id in &ids {
            let (from, to) = (self.view.cursors[&id], heads[&id]);
            delta
                .cursors
                .insert(id, to.max(from.saturating_sub(1)).saturating_add(1));
            if from > to {
                continue;
            }
            let [vault_logs, minter_logs] = &self.sources[&id];
            let (vault, minter) = (vault_logs.contract(), minter_logs.contract());
            for log in vault_logs.logs(from, to).await? {
                if log.topic0() == Some(&BridgeVault::Locked::SIGNATURE_HASH) {
                    let m = BridgeVault::Locked::decode_log_data(log.data())
                        .map_err(|e| WatcherError::decode("Locked log", e))?
                        .message;
                    self.keep_source(&mut delta, m, &log);
                } else if log.topic0() == Some(&held_topic) {
                    let e = BridgeVault::TransferHeld::decode_log_data(log.data())
                        .map_err(|e| WatcherError::decode("TransferHeld log", e))?;
                    releases.push(Release {
                        id: e.messageId,
                        at: key_of(id, &log),
                        block: log.block_number.unwrap_or_default(),
                        source: None,
                        endpoint: vault,
                        src_chain: None,
                        recipient: e.recipient,
                        token: e.token,
                        amount: e.amount,
                        minted: false,
                        held: true,
                    });
                } else {
                    let e = BridgeVault::Unlocked::decode_log_data(log.data())
                        .map_err(|e| WatcherError::decode("Unlocked log", e))?;
                    releases.push(Release {
                        id: e.messageId,
                        at: key_of(id, &log),
                        block: log.block_number.unwrap_or_default(),
                        source: None,
                        endpoint: vault,
                        src_chain: Some(e.srcChainId),
                        recipient: e.recipient,
                        token: e.token,
                        amount: e.amount,
                        minted: false,
                        held: false,
                    });
                }
            }
            for log in minter_logs.logs(from, to).await? {
                if log.topic0() == Some(&BridgeMinter::Burned::SIGNATURE_HASH) {
                    let m = from_minter(
                        &BridgeMinter::Burned::decode_log_data(log.data())
                            .map_err(|e| WatcherError::decode("Burned log", e))?
                            .message,
                    );
                    self.keep_source(&mut delta, m, &log);
                } else if log.topic0() == Some(&held_topic) {
                    let e = BridgeMinter::TransferHeld::decode_log_data(log.data())
                        .map_err(|e| WatcherError::decode("TransferHeld log", e))?;
                    releases.push(Release {
                        id: e.messageId,
                        at: key_of(id, &log),
                        block: log.block_number.unwrap_or_default(),
                        source: None,
                        endpoint: minter,
                        src_chain: None,
                        recipient: e.recipient,
                        token: e.token,
                        amount: e.amount,
                        minted: true,
                        held: true,
                    });
                } else {
                    let e = BridgeMinter::Minted::decode_log_data(log.data())
                        .map_err(|e| WatcherError::decode("Minted log", e))?;
                    releases.push(Release {
                        id: e.messageId,
                        at: key_of(id, &log),
                        block: log.block_number.unwrap_or_default(),
                        source: None,
                        endpoint: minter,
                        src_chain: Some(e.srcChainId),
                        recipient: e.recipient,
                        token: e.wrappedToken,
                        amount: e.amount,
                        minted: true,
                        held: false,
                    });
                }
            }
        }
        // Identity and content of every new release; those that pass go to the PQ check with
        // the ones still open from earlier passes.
        let now = Instant::now();
        let (mut to_verify, mut carried): (Vec<Pending>, Vec<Pending>) = self
            .pending
            .values()
            .cloned()
            .partition(|p| p.next_retry <= now);
        to_verify.sort_by_key(|p| p.next_retry);
        if to_verify.len() > PENDING_RETRIES_PER_PASS {
            carried.extend(to_verify.split_off(PENDING_RETRIES_PER_PASS));
        }
        let mut wrapped_of: HashMap<(u64, u64, Address), Address> = HashMap::new();
        for r in releases {
            let lookup = if r.held {
                self.view.hold(&mut delta, r.id, r.at)
            } else {
                self.view.release(&mut delta, r.id, r.at, r.block)
            };
            let v = |kind, detail: String| violation(kind, &r, detail);
            let (m, source) = match lookup {
                Lookup::Seen => continue,
                Lookup::Twice(prev) => {
                    found.push(v(
                        "double_release",
                        format!(
                            "message {} released twice: {} and again {} in {}",
                            r.id,
                            prev.label(),
                            r.what(),
                            r.at.label()
                        ),
                    ));
                    continue;
                }
                Lookup::Unbacked => {
                    found.push(v(
                        "unbacked_release",
                        format!(
                            "{} in {} of message {} that no lock/burn on any chain emitted",
                            r.what(),
                            r.at.label(),
                            r.id
                        ),
                    ));
                    continue;
                }
                Lookup::Source(SourceEvent { message, block }) => {
                    let at = (message.srcChainId, message.srcContract, block);
                    (message, Some(at))
                }
            };
            let expected = if r.minted {
                let k = (r.at.chain_id, m.srcChainId, m.token);
                match wrapped_of.get(&k) {
                    Some(w) => *w,
                    None => {
                        let minter =
                            BridgeMinter::new(r.endpoint, self.providers[&r.at.chain_id].clone());
                        let w = minter
                            .wrappedTokenOf(m.srcChainId, m.token)
                            .call()
                            .await
                            .map_err(|e| WatcherError::rpc("wrappedTokenOf", e))?;
                        wrapped_of.insert(k, w);
                        w
                    }
                }
            } else {
                m.token
            };
            // The one endpoint that may release it (what the validators' digest names).
            let endpoint_ok = self.chains.get(&m.srcChainId).and_then(|src| {
                release_endpoint(
                    m.srcContract,
                    &src.deployment,
                    &self.chains[&r.at.chain_id].deployment,
                )
            }) == Some(r.endpoint);
            if !endpoint_ok
                || !content_matches(
                    &m,
                    r.at.chain_id,
                    r.src_chain,
                    r.recipient,
                    r.minted,
                    r.token,
                    expected,
                    r.amount,
                )
            {
                found.push(v(
                    "mismatched_release",
                    format!(
                        "{} in {} of message {} with content different from its lock/burn",
                        r.what(),
                        r.at.label(),
                        r.id
                    ),
                ));
                continue;
            }
            to_verify.push(Pending {
                release: Release { source, ..r },
                since: now,
                why: String::new(),
                attempts: 0,
                next_retry: now,
            });
        }
        // The validator sets, once per chain and pass.
        let mut sets = HashMap::new();
        for p in &to_verify {
            let chain = p.release.at.chain_id;
            if let std::collections::hash_map::Entry::Vacant(e) = sets.entry(chain) {
                e.insert(
                    ValidatorSet::read(
                        &self.providers[&chain],
                        self.chains[&chain].deployment.verifier,
                    )
                    .await?,
                );
            }
        }
        let verdicts: Vec<(Pending, PqOutcome)> = futures::stream::iter(to_verify)
            .map(|p| {
                let set = &sets[&p.release.at.chain_id];
                async move {
                    let o = self.check_pq(&p.release, set).await;
                    (p, o)
                }
            })
            .buffer_unordered(PQ_CONCURRENCY)
            .collect()
            .await;
        let pending = settle(&self.pending, carried, verdicts, found);
        found.extend(self.check_supply().await?);
        Ok((delta, pending))
    }

    /// [`check_pq`] of `r` against its chain's verifier domain.
    async fn check_pq(&self, r: &Release, set: &ValidatorSet) -> PqOutcome {
        let chain = r.at.chain_id;
        let domain = Domain {
            chain_id: chain,
            verifier: self.chains[&chain].deployment.verifier,
        };
        check_pq(&self.validators, domain, r, set).await
    }

    /// Records a lock/burn in `delta`, unless it goes to a chain this watcher does not watch
    /// (nothing it watches may release it: see `View::sources`).
    fn keep_source(&self, delta: &mut Delta, m: ghostbridge_core::protocol::Message, log: &Log) {
        if !self.chains.contains_key(&m.dstChainId) {
            return;
        }
        delta.sources.insert(
            message_id(&m),
            SourceEvent {
                message: m,
                block: log.block_number.unwrap_or_default(),
            },
        );
    }

    async fn check_supply(&self) -> Result<Vec<Violation>, WatcherError> {
        let mut out = Vec::new();
        for (src_id, src) in &self.chains {
            let vault = BridgeVault::new(src.deployment.vault, self.providers[src_id].clone());
            let mut tokens: Vec<Address> = src
                .deployment
                .tokens
                .values()
                .copied()
                .filter(|a| !a.is_zero())
                .collect();
            tokens.push(Address::ZERO);
            for (dst_id, dst) in &self.chains {
                if dst_id == src_id {
                    continue;
                }
                let minter =
                    BridgeMinter::new(dst.deployment.minter, self.providers[dst_id].clone());
                for t in &tokens {
                    let wrapped = minter
                        .wrappedTokenOf(*src_id, *t)
                        .call()
                        .await
                        .map_err(|e| WatcherError::rpc("wrappedTokenOf", e))?;
                    if wrapped.is_zero() {
                        continue;
                    }
                    let supply = WrappedToken::new(wrapped, self.providers[dst_id].clone())
                        .totalSupply()
                        .call()
                        .await
                        .map_err(|e| WatcherError::rpc("totalSupply", e))?;
                    let locked = vault
                        .lockedTotal(*t)
                        .call()
                        .await
                        .map_err(|e| WatcherError::rpc("lockedTotal", e))?;
                    let unlocked = vault
                        .unlockedTotal(*t)
                        .call()
                        .await
                        .map_err(|e| WatcherError::rpc("unlockedTotal", e))?;
                    let backing = locked.saturating_sub(unlocked);
                    if supply > backing {
                        out.push(Violation {
                            kind: "supply_exceeds_backing", chain_id: *dst_id,
                            detail: format!("wrapped {wrapped} of token {t} from chain {src_id}: supply {supply} > locked {backing}"),
                            key: format!("supply_exceeds_backing/{dst_id}/{wrapped}"), persistent: true, cancel: None,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    fn wallet_provider(&self, chain: u64) -> Result<Option<impl Provider>, WatcherError> {
        let Some(key) = self.guardian.clone() else {
            return Ok(None);
        };
        let url = &self.chains[&chain].rpc_urls[0];
        let url: reqwest::Url = url.parse().map_err(|e| {
            WatcherError::Chain(ghostbridge_agent::chain::ChainError::BadUrl {
                url: url.clone(),
                reason: format!("{e}"),
            })
        })?;
        Ok(Some(
            ProviderBuilder::new()
                .wallet(EthereumWallet::from(key))
                .connect_http(url),
        ))
    }

    /// Cancels a bad held transfer (the guardian key holds `GUARDIAN_ROLE` on the endpoints).
    async fn cancel_held(&self, chain: u64, endpoint: Address, id: B256) {
        let result = async {
            let Some(p) = self.wallet_provider(chain)? else {
                return Ok(None);
            };
            let receipt = BridgeVault::new(endpoint, p)
                .cancelHeld(id)
                .send()
                .await
                .map_err(|e| WatcherError::rpc("cancelHeld", e))?
                .get_receipt()
                .await
                .map_err(|e| WatcherError::rpc("cancelHeld receipt", e))?;
            if !receipt.status() {
                return Err(WatcherError::Reverted {
                    what: "cancelHeld",
                    hint: "is the transfer still held, and does the guardian key hold GUARDIAN_ROLE on the endpoint?".into(),
                });
            }
            Ok(Some(receipt.transaction_hash))
        }
        .await;
        match result {
            Ok(Some(tx)) => {
                tracing::error!(alarm = true, chain, %endpoint, %id, %tx, "held transfer CANCELLED by the watcher")
            }
            Ok(None) => {
                tracing::error!(alarm = true, chain, %id, "no guardian key configured: held transfer NOT cancelled")
            }
            Err(e) => {
                tracing::error!(alarm = true, chain, %id, error = %e, "cancelling the held transfer FAILED")
            }
        }
    }

    /// Cancels the pending rotation on `chain`'s verifier (the guardian key holds GUARDIAN_ROLE there).
    async fn cancel_rotation(&self, chain: u64) {
        let verifier = self.chains[&chain].deployment.verifier;
        let result = async {
            let Some(p) = self.wallet_provider(chain)? else {
                return Ok(None);
            };
            rotation::cancel(p, verifier).await.map(Some)
        }
        .await;
        match result {
            Ok(Some(tx)) => {
                tracing::error!(alarm = true, chain, %verifier, %tx, "validator-set rotation CANCELLED by the watcher")
            }
            Ok(None) => tracing::error!(
                alarm = true,
                chain,
                "no guardian key configured: rotation NOT cancelled"
            ),
            Err(e) => {
                tracing::error!(alarm = true, chain, error = %e, "cancelling the rotation FAILED")
            }
        }
    }

    /// Pauses every endpoint that is not paused (after an unpause too). `alert`: log when no
    /// guardian key is configured.
    async fn ensure_paused(&mut self, alert: bool) {
        if self.guardian.is_none() {
            if alert {
                tracing::error!(
                    alarm = true,
                    "no guardian key configured: alerting only, contracts NOT paused"
                );
            }
            return;
        }
        for (id, c) in &self.chains {
            let p = &self.providers[id];
            let vault = BridgeVault::new(c.deployment.vault, p.clone())
                .paused()
                .call()
                .await;
            let minter = BridgeMinter::new(c.deployment.minter, p.clone())
                .paused()
                .call()
                .await;
            if matches!((&vault, &minter), (Ok(true), Ok(true))) {
                continue;
            }
            let result = async {
                let p = self.wallet_provider(*id)?.ok_or(WatcherError::NoGuardianKey)?;
                let receipt = BridgeGuardian::new(c.deployment.guardian, p)
                    .pauseAll()
                    .send()
                    .await
                    .map_err(|e| WatcherError::rpc("pauseAll", e))?
                    .get_receipt()
                    .await
                    .map_err(|e| WatcherError::rpc("pauseAll receipt", e))?;
                if !receipt.status() {
                    return Err(WatcherError::Reverted {
                        what: "pauseAll",
                        hint: format!("BridgeGuardian.pauseAll cannot pause when one endpoint already is: vault paused {vault:?}, minter paused {minter:?}"),
                    });
                }
                Ok(receipt.transaction_hash)
            }
            .await;
            match result {
                Ok(tx) => {
                    tracing::error!(alarm = true, chain = id, %tx, "bridge PAUSED by the watcher");
                    metrics::counter!("ghostbridge_watcher_pauses_total").increment(1);
                    self.pause_failure_logged.remove(id);
                }
                Err(e) => {
                    metrics::counter!("ghostbridge_watcher_pause_failures_total").increment(1);
                    let last = self.pause_failure_logged.get(id);
                    if alert || last.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                        tracing::error!(alarm = true, chain = id, error = %e, "pausing FAILED");
                        self.pause_failure_logged.insert(*id, Instant::now());
                    }
                }
            }
        }
    }
}

/// Asks every validator to sign this message's single-message attestation and weighs the
/// answers: a quorum that signs it proves it was admitted, however it was delivered.
async fn check_pq(
    validators: &ValidatorClients,
    domain: Domain,
    r: &Release,
    set: &ValidatorSet,
) -> PqOutcome {
    let chain = r.at.chain_id;
    let digest = domain.message_digest(r.endpoint, r.id, set.epoch);
    let mut path = ValidatorClients::message_path(chain, r.id);
    if let Some((src_chain, src_contract, block)) = r.source {
        path.push_str(&format!(
            "?src_chain={src_chain}&src_contract={src_contract}&src_block={block}"
        ));
    }
    let mut answers = Vec::new();
    for answer in validators.ask(&path, None).await {
        answers.push(match answer {
            // Signed under another epoch (a rotation between our read and theirs): ask again.
            Ok(a) if a.epoch != set.epoch => Answer::Unavailable(format!(
                "{} answered for epoch {}, the set read is {}",
                a.signer, a.epoch, set.epoch
            )),
            Ok(a) => match validators.check(set, digest, &a, true).await {
                Ok(s) => Answer::Valid(s.signer_index.into()),
                Err(e) => weigh_error(&e),
            },
            Err(e) => weigh_error(&e),
        });
    }
    for a in &answers {
        let kind = match a {
            Answer::Valid(_) => "valid",
            Answer::Refused(_) => "refused",
            Answer::Unavailable(_) => "unavailable",
            Answer::NotYet(_) => "not_yet",
        };
        metrics::counter!("ghostbridge_watcher_validator_answers_total", "answer" => kind)
            .increment(1);
    }
    classify(&answers, set.signers.len(), set.threshold)
}

/// Applies the PQ verdicts of a pass: a refuted release is a violation (in `found`), one that
/// cannot be verified yet stays pending with a longer backoff (never a violation), a verified one
/// is done. `previous`: what was pending before the pass; `carried`: pending releases not
/// retried in this pass. Returns what is pending after it.
fn settle(
    previous: &HashMap<EventKey, Pending>,
    carried: Vec<Pending>,
    verdicts: Vec<(Pending, PqOutcome)>,
    found: &mut Vec<Violation>,
) -> HashMap<EventKey, Pending> {
    let mut pending: HashMap<EventKey, Pending> =
        carried.into_iter().map(|p| (p.release.at, p)).collect();
    for (mut p, outcome) in verdicts {
        let was_pending = previous.contains_key(&p.release.at);
        match outcome {
            PqOutcome::Verified => {
                if was_pending {
                    tracing::info!(id = %p.release.id, at = %p.release.at.label(), "{} verified after all", p.release.what());
                }
            }
            PqOutcome::Refuted(why) => found.push(violation(
                "pq_signatures",
                &p.release,
                format!(
                    "{} in {} of message {}: {why}",
                    p.release.what(),
                    p.release.at.label(),
                    p.release.id
                ),
            )),
            PqOutcome::CannotVerifyYet(why) => {
                if !was_pending {
                    tracing::warn!(id = %p.release.id, at = %p.release.at.label(), why = %why, "cannot verify a {} yet; retrying", p.release.what());
                }
                p.why = why;
                p.attempts = p.attempts.saturating_add(1);
                let wait =
                    Duration::from_millis(250u64 << p.attempts.min(6)).min(PENDING_MAX_BACKOFF);
                p.next_retry = Instant::now()
                    .checked_add(wait)
                    .unwrap_or_else(Instant::now);
                pending.insert(p.release.at, p);
            }
        }
    }
    pending
}

fn violation(kind: &'static str, r: &Release, detail: String) -> Violation {
    Violation {
        kind,
        chain_id: r.at.chain_id,
        detail,
        key: format!("{kind}/{}/{}", r.id, r.at.label()),
        persistent: false,
        cancel: r.held.then_some((r.at.chain_id, r.endpoint, r.id)),
    }
}

fn key_of(chain_id: u64, log: &Log) -> EventKey {
    EventKey {
        chain_id,
        tx: log.transaction_hash.unwrap_or_default(),
        log_index: log.log_index.unwrap_or_default(),
    }
}

/// `ghostbridge watch --config FILE`: runs until SIGINT/SIGTERM. Fails only at start-up
/// (config, guardian key, validator clients, ops listener); a failing pass is retried.
pub async fn run(config_path: &std::path::Path) -> Result<(), DaemonError> {
    daemon::agent_main(config_path, Role::Watcher, start).await
}

/// The watcher's one task: a pass over every chain per poll interval, for the process's life.
async fn start(d: Daemon) -> Result<Tasks, DaemonError> {
    let Daemon {
        config,
        chains,
        health,
        shutdown,
        ..
    } = d;
    let Some(section) = config.watcher.clone() else {
        // `Config::load` refuses a watcher config without it.
        return Err(DaemonError::start("watcher", "no [watcher] section"));
    };
    let guardian = section
        .guardian_key_env
        .as_deref()
        .map(|env| daemon::signer_from_env("guardian key", env))
        .transpose()?;
    let validators = ValidatorClients::from_config(&config)?;
    let watcher = Watcher::new(
        chains,
        validators,
        guardian,
        health.clone(),
        Duration::from_secs(section.unverified_alert_secs),
    )
    .map_err(|e| DaemonError::start("watcher", e))?;
    tracing::info!(pause_enabled = watcher.guardian.is_some(), "watcher ready");
    let spec = runtime::RoundLoop {
        component: "rpc".into(),
        poll: Duration::from_millis(section.poll_interval_ms),
        errors_metric: "ghostbridge_watcher_pass_errors_total",
    };
    let passes = tokio::spawn(async move {
        let watcher = &tokio::sync::Mutex::new(watcher);
        runtime::run_rounds(spec, &health, &shutdown, move || async move {
            watcher.lock().await.check_once().await?;
            Ok::<_, WatcherError>(runtime::Round::Idle)
        })
        .await;
    });
    Ok(vec![("passes".into(), passes)])
}

#[cfg(test)]
mod pq_tests;

#[cfg(test)]
mod tests {
    use ghostbridge_core::config::{Config, Role};

    /// A watcher without `[[validators]]` could verify nothing: refused at load, key named.
    #[test]
    fn a_watcher_config_without_validators_is_refused() {
        let dir =
            std::env::temp_dir().join(format!("ghostbridge-watcher-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("watcher.toml");
        std::fs::write(&path, "[store]\nurl = \"sqlite://w.db?mode=rwc\"\n\n[[chains]]\npreset = \"custom\"\nchain_id = 31337\nrpc_urls = [\"http://127.0.0.1:8545\"]\nconfirmations = 1\ndeployment = \"a.json\"\n\n[[chains]]\npreset = \"custom\"\nchain_id = 31338\nrpc_urls = [\"http://127.0.0.1:8546\"]\nconfirmations = 1\ndeployment = \"b.json\"\n\n[watcher]\nops_listen = \"127.0.0.1:9999\"\nunverified_alert_secs = 0\n").expect("write");
        let problems = match Config::load(&path, Role::Watcher) {
            Ok(_) => panic!("a watcher config without validators must be refused"),
            Err(e) => e.problems,
        };
        let _ = std::fs::remove_dir_all(&dir);
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"validators"), "{problems:?}");
        assert!(
            keys.contains(&"watcher.unverified_alert_secs"),
            "{problems:?}"
        );
    }
}
