//! The GhostBridge validator (attester).
//!
//! A follower task per (source chain, source contract) reads `Locked`/`Burned` events up to
//! `head - confirmations`, and accepts a message only after re-deriving it from the chain: the
//! message id is recomputed, the source contract and chain id must be the configured ones, the
//! transaction receipt must succeed and contain the very log, the block must be canonical, and
//! every secondary RPC endpoint must agree. Accepted messages go into the validator's own
//! admission journal (`Store::admit`: one message per (chain, contract, nonce), forever; it
//! never writes the relayer's `messages`), and its follower's cursor into `admission_cursors`.
//!
//! Signatures are made on request through the HTTPS API, only for admitted messages
//! (`Store::admitted`) and batches of them (journaled with `Store::put_signed_batch`), for the
//! destination verifier's current epoch, and persisted. A validator that finds the chain
//! contradicting what it accepted (a reorg deeper than its confirmation depth, or a second
//! message under an admitted nonce) halts: it stops signing, reports unhealthy and raises
//! `ghostbridge_validator_halted`.

mod api;
mod follower;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use ghostbridge_agent::chain::ChainError;
use ghostbridge_agent::daemon::{self, Daemon, DaemonError, Tasks};
use ghostbridge_agent::runtime::Health;
use ghostbridge_core::config::{Chain, Role};
use ghostbridge_core::keys::ValidatorKey;
use ghostbridge_store::Store;
use tokio_util::sync::CancellationToken;

pub use api::{router, SourceHint, NOT_YET};

/// Shared state of one validator process.
#[derive(Debug, Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    key: ValidatorKey,
    chains: HashMap<u64, Chain>,
    /// Primary + cross-check providers per chain.
    providers: HashMap<u64, Vec<DynProvider>>,
    store: Store,
    halted: RwLock<Option<String>>,
    health: Health,
}

impl Validator {
    /// Builds a validator from its parts.
    pub fn new(
        key: ValidatorKey,
        chains: Vec<Chain>,
        store: Store,
        health: Health,
    ) -> Result<Self, ChainError> {
        let mut providers = HashMap::new();
        for c in &chains {
            let ps = c
                .rpc_urls
                .iter()
                .map(|u| ghostbridge_agent::chain::http_provider(u))
                .collect::<Result<Vec<_>, _>>()?;
            providers.insert(c.chain_id, ps);
        }
        let chains = chains.into_iter().map(|c| (c.chain_id, c)).collect();
        Ok(Self {
            inner: Arc::new(Inner {
                key,
                chains,
                providers,
                store,
                halted: RwLock::new(None),
                health,
            }),
        })
    }

    /// The validator's address.
    pub fn address(&self) -> Address {
        self.inner.key.address()
    }

    /// Stops all signing for good (until an operator restarts it after investigating).
    pub fn halt(&self, reason: String) {
        tracing::error!(alarm = true, %reason, "VALIDATOR HALTED: stopped signing");
        metrics::gauge!("ghostbridge_validator_halted").set(1.0);
        self.inner
            .health
            .problem("signing", format!("halted: {reason}"));
        if let Ok(mut h) = self.inner.halted.write() {
            h.get_or_insert(reason);
        }
    }

    /// Why it halted, if it did.
    pub fn halted(&self) -> Option<String> {
        self.inner.halted.read().ok().and_then(|h| h.clone())
    }

    /// Starts one follower per (chain, vault|minter) and returns their handles.
    pub fn spawn_followers(
        &self,
        shutdown: &CancellationToken,
        poll: std::time::Duration,
    ) -> Vec<(String, tokio::task::JoinHandle<()>)> {
        let mut handles = Vec::new();
        for chain in self.inner.chains.values() {
            for source in [follower::Source::Vault, follower::Source::Minter] {
                let v = self.clone();
                let s = shutdown.clone();
                let chain_id = chain.chain_id;
                handles.push((
                    format!("follower {chain_id} {source:?}"),
                    tokio::spawn(async move { follower::run(v, chain_id, source, poll, s).await }),
                ));
            }
        }
        handles
    }
}

/// Serves the validator's HTTPS API on `listener` (TLS 1.3, X25519MLKEM768 only) within
/// `limits` (connection cap, handshake/header/body/idle timeouts, body limit) until `shutdown`.
pub async fn serve_api(
    listener: tokio::net::TcpListener,
    validator: Validator,
    tls: Arc<rustls::ServerConfig>,
    limits: ghostbridge_core::config::ListenerLimits,
    shutdown: CancellationToken,
) {
    ghostbridge_agent::listener::serve(
        "validator_api",
        listener,
        api::router(validator),
        Some(tls),
        limits,
        shutdown,
    )
    .await;
}

/// `ghostbridge validator --config FILE`: runs until SIGINT/SIGTERM.
pub async fn run(config_path: &std::path::Path) -> Result<(), DaemonError> {
    daemon::agent_main(config_path, Role::Validator, start).await
}

/// The validator's tasks: a follower per (chain, source contract) and the HTTPS API.
async fn start(d: Daemon) -> Result<Tasks, DaemonError> {
    let Daemon {
        config,
        chains,
        store,
        health,
        shutdown,
    } = d;
    let (Some(section), Some(store)) = (config.validator.clone(), store) else {
        // `Config::load` refuses a validator config without them.
        return Err(DaemonError::start(
            "validator",
            "no [validator] or [store] section",
        ));
    };
    let password = daemon::secret_from_env("keystore password", &section.password_env)?;
    let key =
        ghostbridge_core::keystore::load(&config.resolve(&section.keystore), password.as_bytes())
            .map_err(|e| DaemonError::start("validator keystore", e))?;
    let validator = Validator::new(key, chains, store, health)?;
    // Mutual TLS when the config pins relayer and watcher certificates.
    let clients: Vec<_> = section
        .client_certs
        .iter()
        .map(|p| config.resolve(p))
        .collect();
    let tls = ghostbridge_agent::tls::server_config_pinning_clients(
        &config.resolve(&section.tls_cert),
        &config.resolve(&section.tls_key),
        &clients,
    )?;
    let addr: std::net::SocketAddr = section
        .listen
        .parse()
        .map_err(|e| DaemonError::start("validator.listen", e))?;
    let listen_error = |source| ghostbridge_agent::runtime::ListenError { addr, source };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(listen_error)?;
    let api = listener.local_addr().map_err(listen_error)?;
    tracing::info!(address = %validator.address(), %api, pinned_clients = clients.len(), "validator ready");
    let mut tasks = validator.spawn_followers(
        &shutdown,
        std::time::Duration::from_millis(section.poll_interval_ms),
    );
    tasks.push((
        "api".into(),
        tokio::spawn(serve_api(
            listener,
            validator.clone(),
            tls,
            section.api_limits,
            shutdown.clone(),
        )),
    ));
    Ok(tasks)
}
