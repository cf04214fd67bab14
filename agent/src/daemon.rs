//! One start-up and one life for the bridge daemons (validator, relayer, watcher), after
//! Hyperlane's `agent_main` without its god objects: [`agent_main`] loads and checks the config
//! for the role, opens and migrates the store when the role keeps state, serves `/health` and
//! `/metrics`, asks the daemon for its tasks, supervises them until SIGINT/SIGTERM (a panicking
//! task stops the process with its name), and closes the store. A daemon only says what it runs.

use std::future::Future;
use std::path::Path;

use ghostbridge_core::config::{Chain, Config, ConfigErrors, Role};
use ghostbridge_store::{Store, StoreError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::chain::ChainError;
use crate::runtime::{self, Health, ListenError, TaskFailed};
use crate::tls::TlsError;

/// What a daemon is given to start its tasks.
#[derive(Debug)]
pub struct Daemon {
    /// The checked config.
    pub config: Config,
    /// Its chains, resolved (presets applied, deployments read).
    pub chains: Vec<Chain>,
    /// The store, opened and migrated, for roles that keep state (validator, relayer).
    pub store: Option<Store>,
    /// Shared with `/health`.
    pub health: Health,
    /// Cancelled on SIGINT/SIGTERM or when a task fails.
    pub shutdown: CancellationToken,
}

/// A daemon's long-running tasks, by name (the name is logged if one panics).
pub type Tasks = Vec<(String, JoinHandle<()>)>;

/// Why a daemon could not start, or stopped with an error. None of these is retried: the
/// operator fixes the cause (config, secret, port, certificate, store) and starts it again.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config file is unreadable or invalid (every problem is listed).
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// A secret the config names in an environment variable is not set.
    #[error("{what}: set the environment variable {env}")]
    MissingSecret {
        /// What the secret is for, e.g. `relayer key`.
        what: &'static str,
        /// The variable the config names.
        env: String,
    },
    /// A secret that does not parse.
    #[error("{env} does not hold a valid {what}")]
    BadSecret {
        /// What it should be, e.g. `private key`.
        what: &'static str,
        /// The variable.
        env: String,
    },
    /// The store cannot be opened or migrated.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A port cannot be bound.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// A certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A chain cannot be reached while starting (e.g. an RPC URL that does not parse).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Something only this daemon needs at start-up (e.g. the validator's keystore).
    #[error("{what}: {error}")]
    Start {
        /// What was being set up.
        what: &'static str,
        /// Why it failed.
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A task panicked or was cancelled: the daemon stopped.
    #[error(transparent)]
    Stopped(#[from] TaskFailed),
}

impl DaemonError {
    /// A [`DaemonError::Start`] for `what`.
    pub fn start(
        what: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Start {
            what,
            error: error.into(),
        }
    }
}

/// The value of the environment variable `env`, which holds a secret the config points at.
pub fn secret_from_env(what: &'static str, env: &str) -> Result<String, DaemonError> {
    std::env::var(env).map_err(|_| DaemonError::MissingSecret {
        what,
        env: env.to_owned(),
    })
}

/// The private key (hex) in the environment variable `env`, for `what` (e.g. `relayer key`).
pub fn signer_from_env(
    what: &'static str,
    env: &str,
) -> Result<alloy::signers::local::PrivateKeySigner, DaemonError> {
    secret_from_env(what, env)?
        .trim()
        .parse()
        .map_err(|_| DaemonError::BadSecret {
            what: "private key",
            env: env.to_owned(),
        })
}

/// Runs the daemon of `role` from the config at `config_path` until SIGINT/SIGTERM or until a
/// task fails; `start` turns the prepared [`Daemon`] into its tasks.
pub async fn agent_main<F, Fut>(config_path: &Path, role: Role, start: F) -> Result<(), DaemonError>
where
    F: FnOnce(Daemon) -> Fut,
    Fut: Future<Output = Result<Tasks, DaemonError>>,
{
    let started = std::time::Instant::now();
    let (config, chains) = Config::load(config_path, role)?;
    // `load` refuses a validator or relayer config without `[store]`.
    let store = match config.store_url() {
        Some(url) if matches!(role, Role::Validator | Role::Relayer) => {
            let store = Store::open(&url).await?;
            store.migrate().await?;
            Some(store)
        }
        _ => None,
    };
    let health = Health::default();
    let shutdown = runtime::shutdown_on_signals();
    let ops = match config.ops_listener(role) {
        Some((addr, limits)) => {
            Some(runtime::serve_ops_with(addr, health.clone(), limits, shutdown.clone()).await?)
        }
        None => None,
    };
    let daemon = Daemon {
        config,
        chains,
        store: store.clone(),
        health,
        shutdown: shutdown.clone(),
    };
    let tasks = match start(daemon).await {
        Ok(tasks) => tasks,
        Err(e) => {
            shutdown.cancel();
            if let Some(store) = &store {
                store.close().await;
            }
            return Err(e);
        }
    };
    let cold_start = started.elapsed();
    let name = match role {
        Role::Validator => "validator",
        Role::Relayer => "relayer",
        Role::Watcher => "watcher",
        Role::Client => "client",
    };
    metrics::gauge!(format!("ghostbridge_{name}_cold_start_seconds")).set(cold_start.as_secs_f64());
    tracing::info!(role = name, ops = ?ops, tasks = tasks.len(), cold_start_ms = cold_start.as_millis() as u64, "started");
    let outcome = runtime::supervise(tasks, &shutdown).await;
    if let Some(store) = &store {
        store.close().await;
    }
    tracing::info!(role = name, "stopped");
    Ok(outcome?)
}
