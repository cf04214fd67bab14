//! The GhostBridge watcher: an independent check of what the bridge did, every block.
//!
//! - every `Minted`/`Unlocked` must match exactly one `Locked`/`Burned` on its source chain with
//!   the same content, and no message may be released twice;
//! - per route and token, wrapped supply on the destination <= locked minus unlocked on the
//!   source vault;
//! - the attestation behind every release (the message, or the batch root from the calldata)
//!   must carry at least `threshold` ML-DSA-65 signatures that pass BOTH aws-lc-rs and the
//!   independent `fips204` verifier, by keys registered on chain.
//!
//! A violation is logged (`alarm=true`), counted in `ghostbridge_watcher_violations_total`, makes
//! `/health` fail and, with the guardian key configured, pauses every endpoint on every chain.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Log;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolEvent, SolInterface};
use anyhow::Context;
use ghostbridge_core::attest::{ValidatorClients, ValidatorSet};
use ghostbridge_core::bindings::{guardian::BridgeGuardian, minter::BridgeMinter, vault::BridgeVault, wrapped_token::WrappedToken};
use ghostbridge_core::chain::scan_logs;
use ghostbridge_core::config::{Chain, Config, Role};
use ghostbridge_core::protocol::{from_minter, merkle_root, message_id, Domain, Message};
use ghostbridge_core::runtime::{self, Backoff, Health};

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Short kind, the metric label.
    pub kind: &'static str,
    /// Chain where it was seen.
    pub chain_id: u64,
    /// Details.
    pub detail: String,
}

/// Watcher state (in memory; rebuilt from the chains at start).
pub struct Watcher {
    chains: HashMap<u64, Chain>,
    providers: HashMap<u64, DynProvider>,
    validators: ValidatorClients,
    guardian: Option<PrivateKeySigner>,
    health: Health,
    /// Next block to scan per chain.
    cursors: HashMap<u64, u64>,
    /// Every lock/burn seen, by id.
    sources: HashMap<B256, Message>,
    /// Every release seen.
    released: HashSet<B256>,
    /// Subjects whose PQ signatures already checked out.
    pq_checked: HashSet<B256>,
    /// Violations so far.
    pub violations: Vec<Violation>,
    paused: bool,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").field("violations", &self.violations).finish_non_exhaustive()
    }
}

struct Release {
    id: B256,
    chain_id: u64,
    src_chain: u64,
    recipient: Address,
    token: Address,
    amount: U256,
    minted: bool,
    tx: B256,
}

impl Watcher {
    /// Builds a watcher.
    pub fn new(chains: Vec<Chain>, validators: ValidatorClients, guardian: Option<PrivateKeySigner>, health: Health) -> anyhow::Result<Self> {
        let mut providers = HashMap::new();
        let mut cursors = HashMap::new();
        for c in &chains {
            providers.insert(c.chain_id, ghostbridge_core::chain::http_provider(&c.rpc_urls[0])?);
            cursors.insert(c.chain_id, c.deployment.deploy_block);
        }
        Ok(Self {
            chains: chains.into_iter().map(|c| (c.chain_id, c)).collect(),
            providers, validators, guardian, health, cursors,
            sources: HashMap::new(), released: HashSet::new(), pq_checked: HashSet::new(),
            violations: Vec::new(), paused: false,
        })
    }

    /// One pass over every chain up to its head. Returns the new violations.
    pub async fn check_once(&mut self) -> anyhow::Result<Vec<Violation>> {
        let mut found = Vec::new();
        let mut releases = Vec::new();
        let ids: Vec<u64> = self.chains.keys().copied().collect();
        let mut heads = HashMap::new();
        // Sources first on every chain, then releases: a release is checked against every lock
        // up to a head read before the release itself.
        for &id in &ids {
            heads.insert(id, self.providers[&id].get_block_number().await.context("eth_blockNumber")?);
        }
        for &id in &ids {
            let (from, to) = (self.cursors[&id], heads[&id]);
            if from > to { continue; }
            let c = &self.chains[&id];
            let p = &self.providers[&id];
            for log in scan_logs(p, c.deployment.vault, &[BridgeVault::Locked::SIGNATURE_HASH, BridgeVault::Unlocked::SIGNATURE_HASH], from, to, c.max_block_range).await? {
                if log.topic0() == Some(&BridgeVault::Locked::SIGNATURE_HASH) {
                    let m = BridgeVault::Locked::decode_log_data(log.data())?.message;
                    self.sources.insert(message_id(&m), m);
                } else {
                    let e = BridgeVault::Unlocked::decode_log_data(log.data())?;
                    releases.push(Release { id: e.messageId, chain_id: id, src_chain: e.srcChainId, recipient: e.recipient, token: e.token, amount: e.amount, minted: false, tx: tx_of(&log) });
                }
            }
            for log in scan_logs(p, c.deployment.minter, &[BridgeMinter::Burned::SIGNATURE_HASH, BridgeMinter::Minted::SIGNATURE_HASH], from, to, c.max_block_range).await? {
                if log.topic0() == Some(&BridgeMinter::Burned::SIGNATURE_HASH) {
                    let m = from_minter(&BridgeMinter::Burned::decode_log_data(log.data())?.message);
                    self.sources.insert(message_id(&m), m);
                } else {
                    let e = BridgeMinter::Minted::decode_log_data(log.data())?;
                    releases.push(Release { id: e.messageId, chain_id: id, src_chain: e.srcChainId, recipient: e.recipient, token: e.wrappedToken, amount: e.amount, minted: true, tx: tx_of(&log) });
                }
            }
        }
        for r in &releases {
            if let Some(v) = self.check_release(r).await? { found.push(v); }
        }
        for &id in &ids { self.cursors.insert(id, heads[&id] + 1); }
        found.extend(self.check_supply().await?);
        metrics::gauge!("ghostbridge_watcher_releases_checked").set(self.released.len() as f64);
        self.health.progress("releases_checked", self.released.len());
        for v in &found {
            tracing::error!(alarm = true, kind = v.kind, chain = v.chain_id, detail = %v.detail, "BRIDGE INVARIANT VIOLATED");
            metrics::counter!("ghostbridge_watcher_violations_total", "kind" => v.kind).increment(1);
            self.health.problem(&format!("violation/{}", v.kind), v.detail.clone());
        }
        if !found.is_empty() {
            self.pause_everything().await;
        }
        self.violations.extend(found.iter().cloned());
        Ok(found)
    }

    async fn check_release(&mut self, r: &Release) -> anyhow::Result<Option<Violation>> {
        let v = |kind, detail: String| Ok(Some(Violation { kind, chain_id: r.chain_id, detail }));
        if !self.released.insert(r.id) {
            return v("double_release", format!("message {} released twice (tx {})", r.id, r.tx));
        }
        let Some(m) = self.sources.get(&r.id).cloned() else {
            return v("unbacked_release", format!("tx {} released message {} that no lock/burn on any chain emitted", r.tx, r.id));
        };
        let token_ok = if r.minted {
            let minter = BridgeMinter::new(self.chains[&r.chain_id].deployment.minter, self.providers[&r.chain_id].clone());
            minter.wrappedTokenOf(m.srcChainId, m.token).call().await? == r.token
        } else {
            r.token == m.token
        };
        if m.dstChainId != r.chain_id || m.srcChainId != r.src_chain || m.recipient != r.recipient || m.amount != r.amount || !token_ok {
            return v("mismatched_release", format!("tx {} released {} with content different from its lock/burn", r.tx, r.id));
        }
        if let Err(e) = self.check_pq(r).await {
            return v("pq_signatures", format!("release {} in tx {}: {e:#}", r.id, r.tx));
        }
        Ok(None)
    }

    /// The attestation behind a release must carry >= threshold ML-DSA-65 signatures passing both
    /// verifiers. The subject (message id or batch root) is read from the release calldata.
    async fn check_pq(&mut self, r: &Release) -> anyhow::Result<()> {
        let p = &self.providers[&r.chain_id];
        let tx = p.get_transaction_by_hash(r.tx).await?.context("release transaction not found")?;
        let input = alloy::consensus::Transaction::input(tx.inner.inner()).clone();
        let subject = if r.minted {
            match BridgeMinter::BridgeMinterCalls::abi_decode(&input) {
                Ok(BridgeMinter::BridgeMinterCalls::mint(_)) => Subject::Message(r.id),
                Ok(BridgeMinter::BridgeMinterCalls::mintBatch(c)) => Subject::Batch(c.root),
                Ok(BridgeMinter::BridgeMinterCalls::mintFromBatch(c)) => Subject::Batch(c.root),
                // The root is not in the calldata: rebuild it from the members, as the minter did.
                Ok(BridgeMinter::BridgeMinterCalls::mintWholeBatch(c)) => {
                    let ids: Vec<_> = c.messages.iter().map(|m| message_id(&from_minter(m))).collect();
                    Subject::Batch(merkle_root(&ids)?)
                }
                _ => anyhow::bail!("release not made by a direct mint/mintBatch/mintWholeBatch/mintFromBatch call; cannot find its attestation"),
            }
        } else {
            match BridgeVault::BridgeVaultCalls::abi_decode(&input) {
                Ok(BridgeVault::BridgeVaultCalls::unlock(_)) => Subject::Message(r.id),
                Ok(BridgeVault::BridgeVaultCalls::unlockFromBatch(c)) => Subject::Batch(c.root),
                _ => anyhow::bail!("release not made by a direct unlock/unlockFromBatch call; cannot find its attestation"),
            }
        };
        let key = match subject { Subject::Message(h) | Subject::Batch(h) => h };
        if self.pq_checked.contains(&key) { return Ok(()); }
        let d = &self.chains[&r.chain_id].deployment;
        let set = ValidatorSet::read(p, d.verifier).await?;
        let domain = Domain { chain_id: r.chain_id, verifier: d.verifier };
        let (digest, path) = match subject {
            Subject::Message(id) => (domain.message_digest(id, set.epoch), ValidatorClients::message_path(r.chain_id, id)),
            Subject::Batch(root) => (domain.batch_digest(root, set.epoch), ValidatorClients::batch_path(r.chain_id, root)),
        };
        let mut valid = HashSet::new();
        let mut problems = Vec::new();
        for answer in self.validators.ask(&path, None).await {
            match answer {
                Ok(a) => match self.validators.check(&set, digest, &a, true).await {
                    Ok(s) => { valid.insert(s.signer_index); }
                    Err(e) => problems.push(e.to_string()),
                },
                Err(e) => problems.push(e.to_string()),
            }
        }
        anyhow::ensure!(valid.len() as u64 >= set.threshold, "only {} of {} required ML-DSA-65 signatures verify: {}", valid.len(), set.threshold, problems.join("; "));
        self.pq_checked.insert(key);
        Ok(())
    }

    async fn check_supply(&self) -> anyhow::Result<Vec<Violation>> {
        let mut out = Vec::new();
        for (src_id, src) in &self.chains {
            let vault = BridgeVault::new(src.deployment.vault, self.providers[src_id].clone());
            let mut tokens: Vec<Address> = src.deployment.tokens.values().copied().filter(|a| !a.is_zero()).collect();
            tokens.push(Address::ZERO);
            for (dst_id, dst) in &self.chains {
                if dst_id == src_id { continue; }
                let minter = BridgeMinter::new(dst.deployment.minter, self.providers[dst_id].clone());
                for t in &tokens {
                    let wrapped = minter.wrappedTokenOf(*src_id, *t).call().await?;
                    if wrapped.is_zero() { continue; }
                    let supply = WrappedToken::new(wrapped, self.providers[dst_id].clone()).totalSupply().call().await?;
                    let locked = vault.lockedTotal(*t).call().await?;
                    let unlocked = vault.unlockedTotal(*t).call().await?;
                    let backing = locked.saturating_sub(unlocked);
                    if supply > backing {
                        out.push(Violation { kind: "supply_exceeds_backing", chain_id: *dst_id, detail: format!("wrapped {wrapped} of token {t} from chain {src_id}: supply {supply} > locked {backing}") });
                    }
                }
            }
        }
        Ok(out)
    }

    async fn pause_everything(&mut self) {
        if self.paused { return; }
        let Some(key) = self.guardian.clone() else {
            tracing::error!(alarm = true, "no guardian key configured: alerting only, contracts NOT paused");
            return;
        };
        let wallet = EthereumWallet::from(key);
        for (id, c) in &self.chains {
            let result = async {
                let url: reqwest::Url = c.rpc_urls[0].parse()?;
                let p = ProviderBuilder::new().wallet(wallet.clone()).connect_http(url);
                let receipt = BridgeGuardian::new(c.deployment.guardian, p).pauseAll().send().await?.get_receipt().await?;
                anyhow::ensure!(receipt.status(), "pauseAll reverted");
                anyhow::Ok(receipt.transaction_hash)
            }.await;
            match result {
                Ok(tx) => { tracing::error!(alarm = true, chain = id, %tx, "bridge PAUSED by the watcher"); metrics::counter!("ghostbridge_watcher_pauses_total").increment(1); }
                Err(e) => tracing::error!(alarm = true, chain = id, error = %format!("{e:#}"), "pausing FAILED"),
            }
        }
        self.paused = true;
    }
}

enum Subject { Message(B256), Batch(B256) }

fn tx_of(log: &Log) -> B256 {
    log.transaction_hash.unwrap_or_default()
}

/// `ghostbridge watch --config FILE`: runs until SIGINT/SIGTERM.
pub async fn run(config_path: &std::path::Path) -> anyhow::Result<()> {
    let (config, chains) = Config::load(config_path, Role::Watcher)?;
    let section = config.watcher.clone().context("watcher section")?;
    let guardian = match &section.guardian_key_env {
        Some(env) => Some(std::env::var(env).with_context(|| format!("guardian key: set {env}"))?.trim().parse::<PrivateKeySigner>().with_context(|| format!("{env} is not a private key"))?),
        None => None,
    };
    let health = Health::default();
    let shutdown = runtime::shutdown_on_signals();
    let validators = ValidatorClients::new(&config.validators, &config.base_dir)?;
    let mut watcher = Watcher::new(chains, validators, guardian, health.clone())?;
    let ops = runtime::serve_ops(section.ops_listen.parse()?, health.clone(), shutdown.clone()).await?;
    tracing::info!(%ops, pause_enabled = watcher.guardian.is_some(), "watcher started");
    let poll = Duration::from_millis(section.poll_interval_ms);
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
    loop {
        let delay = match watcher.check_once().await {
            Ok(_) => { backoff.reset(); health.ok("rpc"); poll }
            Err(e) => {
                let d = backoff.next_delay();
                tracing::warn!(error = %format!("{e:#}"), "watcher pass failed, retrying");
                if backoff.failures() > 3 { health.problem("rpc", format!("{e:#}")); }
                d
            }
        };
        if !runtime::sleep_or_shutdown(delay, &shutdown).await { break; }
    }
    tracing::info!("watcher stopped");
    Ok(())
}
