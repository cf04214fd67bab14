//! The daemons' TOML config: chains by id and RPC URL (with presets), the store, the validator
//! set's API endpoints and each daemon's section. Env overrides: `GHOSTBRIDGE__a__b=value` sets
//! key `a.b` (chains are addressed by id: `GHOSTBRIDGE__chains__31337__rpc_urls='["http://…"]'`).
//!
//! Bad config is refused at start: a type error names its key; every semantic problem is
//! collected and reported at once ([`ConfigErrors`]).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::deployment::Deployment;

/// Prefix of env overrides.
pub const ENV_PREFIX: &str = "GHOSTBRIDGE__";

/// One problem in the config: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key, e.g. `chains[1].rpc_urls`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// All problems found in a config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The file.
    pub path: PathBuf,
    /// Every problem found.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid config {} ({} problem(s)):",
            self.path.display(),
            self.problems.len()
        )?;
        for p in &self.problems {
            writeln!(f, "  - {}: {}", p.key, p.problem)?;
        }
        Ok(())
    }
}

/// Known networks: chain id and sensible defaults for depth, block time and log range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Preset name in the config.
    pub name: &'static str,
    /// Chain id.
    pub chain_id: u64,
    /// Confirmation depth before validators sign.
    pub confirmations: u64,
    /// Expected block time.
    pub block_time_ms: u64,
    /// Largest `eth_getLogs` block range the usual providers accept.
    pub max_block_range: u64,
}

/// Presets for the chains GhostBridge supports out of the box; `custom` needs `chain_id`.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "ethereum",
        chain_id: 1,
        confirmations: 64,
        block_time_ms: 12_000,
        max_block_range: 1_000,
    },
    Preset {
        name: "sepolia",
        chain_id: 11_155_111,
        confirmations: 64,
        block_time_ms: 12_000,
        max_block_range: 1_000,
    },
    Preset {
        name: "polygon",
        chain_id: 137,
        confirmations: 128,
        block_time_ms: 2_000,
        max_block_range: 1_000,
    },
    Preset {
        name: "amoy",
        chain_id: 80_002,
        confirmations: 128,
        block_time_ms: 2_000,
        max_block_range: 1_000,
    },
    Preset {
        name: "arbitrum-one",
        chain_id: 42_161,
        confirmations: 20,
        block_time_ms: 250,
        max_block_range: 10_000,
    },
    Preset {
        name: "arbitrum-nova",
        chain_id: 42_170,
        confirmations: 20,
        block_time_ms: 250,
        max_block_range: 10_000,
    },
    Preset {
        name: "arbitrum-sepolia",
        chain_id: 421_614,
        confirmations: 20,
        block_time_ms: 250,
        max_block_range: 10_000,
    },
];

/// Fee policy of the relayer's transactions on one chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GasPolicy {
    /// Hard cap on `maxFeePerGas`, in whole gwei (an integer, so the cap in wei is exact): a
    /// bump never goes above it.
    pub max_fee_per_gas_gwei: u64,
    /// Each resubmission raises both fees by this percentage (>= 10, the usual replacement rule).
    pub bump_percent: u64,
    /// Resubmit when not mined within this many seconds.
    pub resubmit_after_secs: u64,
    /// At most this many replacements of one transaction.
    pub max_bumps: u32,
    /// Gas estimate is multiplied by this percentage (headroom).
    pub gas_limit_margin_percent: u64,
}

impl Default for GasPolicy {
    fn default() -> Self {
        Self {
            max_fee_per_gas_gwei: 500,
            bump_percent: 15,
            resubmit_after_secs: 20,
            max_bumps: 6,
            gas_limit_margin_percent: 130,
        }
    }
}

/// One chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// A name for logs (defaults to the preset or the chain id).
    pub name: Option<String>,
    /// One of [`PRESETS`] or `custom`.
    pub preset: Option<String>,
    /// Chain id (required for `custom`; must match the preset when both are given).
    pub chain_id: Option<u64>,
    /// RPC URLs: the first is used, the others are cross-checked before a validator signs.
    #[serde(default)]
    pub rpc_urls: Vec<String>,
    /// Confirmation depth: required without a preset, else overrides it.
    pub confirmations: Option<u64>,
    /// Block time in ms (overrides the preset; 1,000 without one).
    pub block_time_ms: Option<u64>,
    /// Max `eth_getLogs` range (overrides the preset; 1,000 without one).
    pub max_block_range: Option<u64>,
    /// Deployment JSON written by `script/Deploy.s.sol` (relative to the config file).
    pub deployment: Option<PathBuf>,
    /// Relayer fee policy.
    #[serde(default)]
    pub gas: GasPolicy,
}

/// A validator's API endpoint as the relayer and watcher reach it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ValidatorEndpoint {
    /// `https://host:port`.
    pub url: String,
    /// The validator's certificate (PEM), pinned as the only trust root.
    pub tls_cert: PathBuf,
    /// TLS server name in the certificate.
    #[serde(default = "default_server_name")]
    pub server_name: String,
}

fn default_server_name() -> String {
    "localhost".into()
}

/// This daemon's TLS client identity toward the validators (mutual TLS): the relayer and the
/// watcher present it; a validator with `client_certs` answers only the certificates it pins.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClientTls {
    /// Certificate (PEM), listed in the validators' `client_certs`.
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

/// Where the state lives.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `sqlite://path?mode=rwc` (default; a relative path is relative to the config file) or
    /// `postgres://…`.
    pub url: String,
}

/// The validator daemon.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSection {
    /// Encrypted keystore (`ghostbridge keys generate`).
    pub keystore: PathBuf,
    /// Env var holding the keystore password.
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// HTTPS API address.
    pub listen: String,
    /// TLS certificate (PEM).
    pub tls_cert: PathBuf,
    /// TLS private key (PEM).
    pub tls_key: PathBuf,
    /// `/metrics` and `/health` (plain HTTP).
    pub ops_listen: String,
    /// Poll interval.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// `[validator.api_limits]`: connection cap, timeouts and body limit of the HTTPS API; every
    /// key optional, defaults in [`ListenerLimits`] (512 connections, handshake
    /// 5 s, header 5 s, body 10 s, idle 30 s, 256 KiB bodies, 10 min per connection).
    #[serde(default)]
    pub api_limits: ListenerLimits,
    /// `[validator.ops_limits]`: the same for the ops port (same defaults).
    #[serde(default)]
    pub ops_limits: ListenerLimits,
    /// Certificates (PEM) of the relayers and watchers allowed to call the API (mutual TLS; each
    /// pinned as its own trust root). Empty: any TLS client is answered, within the API's own
    /// bounds (a delivered message signs into no new batch, at most 8 roots per message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_certs: Vec<PathBuf>,
}

fn default_password_env() -> String {
    "GHOSTBRIDGE_KEYSTORE_PASSWORD".into()
}
fn default_poll_ms() -> u64 {
    250
}

/// The relayer daemon.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelayerSection {
    /// Unique id of this instance (leases are held in its name).
    pub id: String,
    /// Env var holding the relayer's transaction key (hex).
    #[serde(default = "default_relayer_key_env")]
    pub key_env: String,
    /// `/metrics` and `/health`.
    pub ops_listen: String,
    /// Pending messages for one destination at or above this count go as one batch attestation.
    #[serde(default = "default_batch_min")]
    pub batch_min: u32,
    /// Largest batch.
    #[serde(default = "default_batch_max")]
    pub batch_max: u32,
    /// Batches in flight at once per destination (consecutive nonces, same block).
    #[serde(default = "default_pipeline_batches")]
    pub pipeline_batches: u32,
    /// Delivery rounds in flight at once per destination: while one waits for its block, the
    /// next claims, gathers attestations and broadcasts (one account, consecutive nonces).
    #[serde(default = "default_rounds_in_flight")]
    pub rounds_in_flight: u32,
    /// Poll interval.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Lease length on claimed messages.
    #[serde(default = "default_lease_secs")]
    pub lease_secs: u64,
    /// Attempts before a message is failed permanently (with its reason, visible in status).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Attempts that end in a final error (the destination contract refuses the release for a
    /// reason retrying cannot fix: unknown route, a recipient that refuses ETH) before the
    /// message is failed permanently with that reason; transient errors never count.
    /// `ghostbridge redeliver` puts it back once the cause is fixed.
    #[serde(default = "default_max_final_attempts")]
    pub max_final_attempts: u32,
}

fn default_relayer_key_env() -> String {
    "GHOSTBRIDGE_RELAYER_KEY".into()
}
fn default_batch_min() -> u32 {
    8
}
fn default_batch_max() -> u32 {
    200
}
fn default_pipeline_batches() -> u32 {
    4
}
fn default_rounds_in_flight() -> u32 {
    4
}
fn default_lease_secs() -> u64 {
    60
}
fn default_max_attempts() -> u32 {
    40
}
fn default_max_final_attempts() -> u32 {
    3
}

/// The watcher daemon.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WatcherSection {
    /// `/metrics` and `/health`.
    pub ops_listen: String,
    /// Env var with the pause-guardian key; without it the watcher only alerts.
    pub guardian_key_env: Option<String>,
    /// Poll interval.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Seconds a release may stay unverifiable (validators unreachable, RPC errors) before
    /// `/health` reports it as a problem.
    #[serde(default = "default_unverified_alert_secs")]
    pub unverified_alert_secs: u64,
}

fn default_unverified_alert_secs() -> u64 {
    60
}

/// The whole file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// State: required by the validator and the relayer (and the commands that read the
    /// relayer's store); the watcher keeps none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreSection>,
    /// Chains (at least two).
    pub chains: Vec<ChainConfig>,
    /// The validators' APIs, in signer-set order or any order (matched by address).
    #[serde(default)]
    pub validators: Vec<ValidatorEndpoint>,
    /// `[client_tls]`: the certificate and key this daemon presents to the validators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_tls: Option<ClientTls>,
    /// Validator daemon section.
    pub validator: Option<ValidatorSection>,
    /// Relayer daemon section.
    pub relayer: Option<RelayerSection>,
    /// Watcher daemon section.
    pub watcher: Option<WatcherSection>,
    /// Directory relative paths are resolved against (the config file's).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// A chain with every default resolved and its deployment loaded.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Name for logs.
    pub name: String,
    /// Chain id.
    pub chain_id: u64,
    /// RPC URLs (first = primary).
    pub rpc_urls: Vec<String>,
    /// Confirmation depth.
    pub confirmations: u64,
    /// Block time.
    pub block_time_ms: u64,
    /// Max log range.
    pub max_block_range: u64,
    /// Contract addresses.
    pub deployment: Deployment,
    /// Fee policy.
    pub gas: GasPolicy,
}

/// Which daemon sections must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `ghostbridge validator`.
    Validator,
    /// `ghostbridge relay`.
    Relayer,
    /// `ghostbridge watch`.
    Watcher,
    /// `ghostbridge status`/`transfer`: chains (and the store for `status`).
    Client,
}

impl Config {
    /// The store URL, `None` without a `[store]` section (the validator and relayer roles
    /// refuse a config without one). A relative SQLite path is resolved against the config's
    /// directory, like every other path in it: a daemon started from another working directory
    /// must not open a fresh, empty store (a validator would re-admit everything, a relayer
    /// rescan from the deploy block).
    pub fn store_url(&self) -> Option<std::borrow::Cow<'_, str>> {
        let url = self.store.as_ref()?.url.as_str();
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Some(url.into());
        };
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.starts_with('/') || path.starts_with(":memory:") || path.is_empty() {
            return Some(url.into());
        }
        Some(format!("sqlite://{}", self.base_dir.join(path).display()).into())
    }

    /// Reads, applies env overrides, parses and validates for `role`.
    pub fn load(path: &Path, role: Role) -> Result<(Self, Vec<Chain>), ConfigErrors> {
        let fail = |key: &str, problem: String| ConfigErrors {
            path: path.to_owned(),
            problems: vec![ConfigProblem {
                key: key.into(),
                problem,
            }],
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail("(file)", e.to_string()))?;
        let mut value: toml::Value =
            toml::from_str(&text).map_err(|e| fail("(syntax)", e.to_string()))?;
        apply_env_overrides(&mut value, std::env::vars()).map_err(|(k, p)| fail(&k, p))?;
        let mut config: Config = serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            fail(&key, e.into_inner().to_string())
        })?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let chains = config.validate(role).map_err(|problems| ConfigErrors {
            path: path.to_owned(),
            problems,
        })?;
        Ok((config, chains))
    }

    /// The ops port (`/health`, `/metrics`) of `role`'s section and its limits; `None` for a
    /// client, or a section `load` would have refused as missing or unparsable.
    pub fn ops_listener(&self, role: Role) -> Option<(std::net::SocketAddr, ListenerLimits)> {
        let (listen, limits) = match role {
            Role::Validator => self
                .validator
                .as_ref()
                .map(|v| (&v.ops_listen, v.ops_limits))?,
            Role::Relayer => (
                &self.relayer.as_ref()?.ops_listen,
                ListenerLimits::default(),
            ),
            Role::Watcher => (
                &self.watcher.as_ref()?.ops_listen,
                ListenerLimits::default(),
            ),
            Role::Client => return None,
        };
        Some((listen.parse().ok()?, limits))
    }

    /// Resolves a path from the config against its directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.base_dir.join(p)
        }
    }

    /// Every semantic problem at once; on success the resolved chains.
    pub fn validate(&self, role: Role) -> Result<Vec<Chain>, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut bad = |key: String, problem: &str| {
            problems.push(ConfigProblem {
                key,
                problem: problem.into(),
            })
        };

        match &self.store {
            Some(store)
                if !(store.url.starts_with("sqlite:")
                    || store.url.starts_with("postgres://")
                    || store.url.starts_with("postgresql://")) =>
            {
                bad("store.url".into(), "must start with sqlite: or postgres://");
            }
            None if matches!(role, Role::Validator | Role::Relayer) => {
                bad("store".into(), "section missing (the daemon's state)");
            }
            _ => {}
        }
        if self.chains.len() < 2 {
            bad("chains".into(), "a bridge needs at least two chains");
        }
        let mut ids = BTreeSet::new();
        let mut chains = Vec::new();
        for (i, c) in self.chains.iter().enumerate() {
            let key = |k: &str| format!("chains[{i}].{k}");
            let preset = match c.preset.as_deref() {
                None | Some("custom") => None,
                Some(name) => match PRESETS.iter().find(|p| p.name == name) {
                    Some(p) => Some(*p),
                    None => {
                        let names: Vec<_> = PRESETS.iter().map(|p| p.name).collect();
                        bad(
                            key("preset"),
                            &format!(
                                "unknown preset {name:?}; known: {}, custom",
                                names.join(", ")
                            ),
                        );
                        None
                    }
                },
            };
            let chain_id = match (c.chain_id, preset) {
                (Some(id), Some(p)) if id != p.chain_id => {
                    bad(
                        key("chain_id"),
                        &format!(
                            "{id} contradicts preset {} (chain id {})",
                            p.name, p.chain_id
                        ),
                    );
                    None
                }
                (Some(0), _) => {
                    bad(key("chain_id"), "must not be 0");
                    None
                }
                (Some(id), _) => Some(id),
                (None, Some(p)) => Some(p.chain_id),
                (None, None) => {
                    bad(key("chain_id"), "missing (required without a preset)");
                    None
                }
            };
            if let Some(id) = chain_id {
                if !ids.insert(id) {
                    bad(key("chain_id"), &format!("chain {id} is listed twice"));
                }
            }
            if c.rpc_urls.is_empty() {
                bad(key("rpc_urls"), "at least one RPC URL is required");
            }
            for (j, url) in c.rpc_urls.iter().enumerate() {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bad(
                        format!("chains[{i}].rpc_urls[{j}]"),
                        &format!("{url:?} is not an http(s) URL"),
                    );
                }
            }
            // How deep a block must be before a validator signs for it is the bridge's safety
            // against reorgs: never guessed for a chain without a preset.
            let confirmations = match c.confirmations.or(preset.map(|p| p.confirmations)) {
                Some(n) => n,
                None => {
                    bad(
                        key("confirmations"),
                        "missing: a chain without a preset must state its confirmation depth \
                         (blocks a log must be buried under before it is signed)",
                    );
                    0
                }
            };
            let block_time_ms = c
                .block_time_ms
                .or(preset.map(|p| p.block_time_ms))
                .unwrap_or(1_000);
            let max_block_range = c
                .max_block_range
                .or(preset.map(|p| p.max_block_range))
                .unwrap_or(1_000);
            if block_time_ms == 0 {
                bad(key("block_time_ms"), "must be > 0");
            }
            if max_block_range == 0 {
                bad(key("max_block_range"), "must be > 0");
            }
            if c.gas.bump_percent < 10 || c.gas.bump_percent > 100 {
                bad(
                    key("gas.bump_percent"),
                    "must be between 10 and 100 (nodes refuse replacements below +10%)",
                );
            }
            if c.gas.max_fee_per_gas_gwei == 0 {
                bad(key("gas.max_fee_per_gas_gwei"), "must be >= 1");
            }
            if c.gas.gas_limit_margin_percent < 100 {
                bad(key("gas.gas_limit_margin_percent"), "must be >= 100");
            }
            let deployment = match &c.deployment {
                None => {
                    bad(
                        key("deployment"),
                        "missing: path of the deployment JSON from script/Deploy.s.sol",
                    );
                    None
                }
                Some(p) => match Deployment::read(&self.resolve(p)) {
                    Ok(d) => {
                        if let Some(id) = chain_id {
                            if d.chain_id != id {
                                bad(
                                    key("deployment"),
                                    &format!(
                                        "{} is for chain {}, not {id}",
                                        p.display(),
                                        d.chain_id
                                    ),
                                );
                            }
                        }
                        Some(d)
                    }
                    Err(e) => {
                        bad(key("deployment"), &e.to_string());
                        None
                    }
                },
            };
            if let (Some(chain_id), Some(deployment)) = (chain_id, deployment) {
                let name = c
                    .name
                    .clone()
                    .or(preset.map(|p| p.name.to_owned()))
                    .unwrap_or_else(|| chain_id.to_string());
                chains.push(Chain {
                    name,
                    chain_id,
                    rpc_urls: c.rpc_urls.clone(),
                    confirmations,
                    block_time_ms,
                    max_block_range,
                    deployment,
                    gas: c.gas.clone(),
                });
            }
        }
        for (i, v) in self.validators.iter().enumerate() {
            if !v.url.starts_with("https://") {
                bad(
                    format!("validators[{i}].url"),
                    "must be https:// (the API is TLS 1.3 only)",
                );
            }
            if !self.resolve(&v.tls_cert).is_file() {
                bad(
                    format!("validators[{i}].tls_cert"),
                    &format!("{} does not exist", v.tls_cert.display()),
                );
            }
        }
        if let Some(t) = &self.client_tls {
            for (k, p) in [("client_tls.cert", &t.cert), ("client_tls.key", &t.key)] {
                if !self.resolve(p).is_file() {
                    bad(k.into(), &format!("{} does not exist", p.display()));
                }
            }
        }
        match role {
            Role::Validator => match &self.validator {
                None => bad("validator".into(), "section missing"),
                Some(v) => {
                    for (i, p) in v.client_certs.iter().enumerate() {
                        if !self.resolve(p).is_file() {
                            bad(
                                format!("validator.client_certs[{i}]"),
                                &format!("{} does not exist", p.display()),
                            );
                        }
                    }
                    if !self.resolve(&v.keystore).is_file() {
                        bad(
                            "validator.keystore".into(),
                            &format!("{} does not exist", v.keystore.display()),
                        );
                    }
                    if !self.resolve(&v.tls_cert).is_file() {
                        bad(
                            "validator.tls_cert".into(),
                            &format!("{} does not exist", v.tls_cert.display()),
                        );
                    }
                    if !self.resolve(&v.tls_key).is_file() {
                        bad(
                            "validator.tls_key".into(),
                            &format!("{} does not exist", v.tls_key.display()),
                        );
                    }
                    if v.listen.parse::<std::net::SocketAddr>().is_err() {
                        bad(
                            "validator.listen".into(),
                            "must be host:port (an IP address)",
                        );
                    }
                    if v.ops_listen.parse::<std::net::SocketAddr>().is_err() {
                        bad(
                            "validator.ops_listen".into(),
                            "must be host:port (an IP address)",
                        );
                    }
                    for (k, p) in v.api_limits.problems() {
                        bad(format!("validator.api_limits.{k}"), p);
                    }
                    for (k, p) in v.ops_limits.problems() {
                        bad(format!("validator.ops_limits.{k}"), p);
                    }
                }
            },
            Role::Relayer => {
                match &self.relayer {
                    None => bad("relayer".into(), "section missing"),
                    Some(r) => {
                        if r.id.trim().is_empty() {
                            bad("relayer.id".into(), "must not be empty");
                        }
                        if r.batch_min < 2 {
                            bad("relayer.batch_min".into(), "must be >= 2");
                        }
                        if r.batch_max < r.batch_min {
                            bad("relayer.batch_max".into(), "must be >= batch_min");
                        }
                        if r.batch_max > 256 {
                            bad("relayer.batch_max".into(), "must be <= 256 (block gas)");
                        }
                        if r.pipeline_batches == 0 || r.pipeline_batches > 16 {
                            bad(
                                "relayer.pipeline_batches".into(),
                                "must be between 1 and 16",
                            );
                        }
                        if r.rounds_in_flight == 0 || r.rounds_in_flight > 8 {
                            bad("relayer.rounds_in_flight".into(), "must be between 1 and 8");
                        }
                        if r.lease_secs < 5 {
                            bad("relayer.lease_secs".into(), "must be >= 5");
                        }
                        if r.max_final_attempts == 0 || r.max_final_attempts > 100 {
                            bad(
                                "relayer.max_final_attempts".into(),
                                "must be between 1 and 100",
                            );
                        }
                        if r.ops_listen.parse::<std::net::SocketAddr>().is_err() {
                            bad(
                                "relayer.ops_listen".into(),
                                "must be host:port (an IP address)",
                            );
                        }
                    }
                }
                if self.validators.is_empty() {
                    bad(
                        "validators".into(),
                        "the relayer needs the validators' API endpoints",
                    );
                }
            }
            Role::Watcher => match &self.watcher {
                None => bad("watcher".into(), "section missing"),
                Some(w) => {
                    if w.ops_listen.parse::<std::net::SocketAddr>().is_err() {
                        bad(
                            "watcher.ops_listen".into(),
                            "must be host:port (an IP address)",
                        );
                    }
                    if w.unverified_alert_secs == 0 {
                        bad("watcher.unverified_alert_secs".into(), "must be >= 1");
                    }
                    if self.validators.is_empty() {
                        bad("validators".into(), "the watcher needs the validators' API endpoints to re-check every release's ML-DSA-65 signatures");
                    }
                }
            },
            Role::Client => {}
        }
        if problems.is_empty() {
            Ok(chains)
        } else {
            Err(problems)
        }
    }
}

/// Applies `GHOSTBRIDGE__a__b=value` overrides. Values parse as TOML (numbers, arrays, bools)
/// and fall back to strings. `chains__<id>__key` addresses the chain with that id.
pub fn apply_env_overrides(
    root: &mut toml::Value,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<(), (String, String)> {
    for (name, raw) in vars {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let parts: Vec<&str> = path.split("__").collect();
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let mut node = &mut *root;
        for (i, part) in parts.iter().enumerate() {
            let last = i.saturating_add(1) == parts.len();
            if let toml::Value::Array(items) = node {
                let id: u64 = part
                    .parse()
                    .map_err(|_| (name.clone(), format!("{part:?} is not a chain id")))?;
                let found = items.iter_mut().find(|c| {
                    c.get("chain_id").and_then(toml::Value::as_integer) == Some(id as i64)
                });
                node = found.ok_or_else(|| {
                    (
                        name.clone(),
                        format!("no chain with chain_id {id} in the file"),
                    )
                })?;
                continue;
            }
            let table = node
                .as_table_mut()
                .ok_or_else(|| (name.clone(), format!("{part} is not a table")))?;
            if last {
                table.insert((*part).to_owned(), value.clone());
                break;
            }
            node = table
                .entry((*part).to_owned())
                .or_insert_with(|| toml::Value::Table(Default::default()));
        }
    }
    Ok(())
}

/// A parsed 0x address, for config fields given as strings.
pub fn parse_address(s: &str) -> Option<Address> {
    s.parse().ok()
}

/// The limits of one listener. Every key is optional in the config (`[validator.api_limits]`,
/// `[validator.ops_limits]`, ...); a missing key takes the default shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenerLimits {
    /// Connections served at once; more are closed when accepted. Default 512.
    pub max_connections: usize,
    /// The TLS handshake must finish within this. Default 5,000 ms.
    pub tls_handshake_timeout_ms: u64,
    /// From the first byte of a request head to its end. Default 5,000 ms.
    pub header_read_timeout_ms: u64,
    /// From the end of the head to the end of the body. Default 10,000 ms.
    pub body_read_timeout_ms: u64,
    /// No request in flight and no byte of a new one for this long: closed. Default 30,000 ms.
    pub idle_timeout_ms: u64,
    /// Largest request body. Default 262,144 bytes (256 KiB).
    pub max_body_bytes: usize,
    /// A connection is wound down after this long, busy or not. Default 600,000 ms (10 min).
    pub max_connection_lifetime_ms: u64,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            tls_handshake_timeout_ms: 5_000,
            header_read_timeout_ms: 5_000,
            body_read_timeout_ms: 10_000,
            idle_timeout_ms: 30_000,
            max_body_bytes: 256 * 1024,
            max_connection_lifetime_ms: 600_000,
        }
    }
}

impl ListenerLimits {
    /// Every out-of-range key as `(key, problem)`, for the config loader (all must be >= 1).
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        let checks: [(&'static str, bool); 7] = [
            ("max_connections", self.max_connections == 0),
            (
                "tls_handshake_timeout_ms",
                self.tls_handshake_timeout_ms == 0,
            ),
            ("header_read_timeout_ms", self.header_read_timeout_ms == 0),
            ("body_read_timeout_ms", self.body_read_timeout_ms == 0),
            ("idle_timeout_ms", self.idle_timeout_ms == 0),
            ("max_body_bytes", self.max_body_bytes == 0),
            (
                "max_connection_lifetime_ms",
                self.max_connection_lifetime_ms == 0,
            ),
        ];
        for (key, zero) in checks {
            if zero {
                out.push((key, "must be >= 1"));
            }
        }
        out
    }
}
