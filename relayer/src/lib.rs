//! The GhostBridge relayer.
//!
//! - a scanner per source contract records `Locked`/`Burned` events as `seen`;
//! - a deliverer per destination chain claims due messages under a lease, gathers validator
//!   attestations over TLS and checks every secp256k1 and ML-DSA-65 signature against the
//!   destination verifier's set, then sends `mint`/`unlock` (or `mintWholeBatch` / the vault's
//!   `verifyBatchRoot` + `unlockFromBatch` when `batch_min` or more are pending), and confirms by the contract's
//!   consumed mark. State: seen → attested → submitted → confirmed (or failed_permanently with
//!   its reason), in SQLite or PostgreSQL (several relayers may share one PostgreSQL).
//! - a release the destination refuses with a FINAL error (unknown route, a recipient that
//!   refuses ETH; found by gas estimation, before anything is sent) counts toward
//!   `relayer.max_final_attempts`, then the message is failed permanently with that reason and
//!   no longer claimed (`ghostbridge redeliver` puts it back once the cause is fixed). Transient
//!   errors never count. A bad member is taken out of its batch, and the others go out in the
//!   same round.
//! - a release the destination refuses until a known time (its token's release window is spent:
//!   `ReleaseShareExceeded(.., windowEndsAt)`; a rate-limit bucket refilling: `RateLimited(..,
//!   retryAfterSeconds)`) waits for that time, re-checked at least hourly, and the attempt does
//!   not count toward `max_attempts` (`deliver::wait_reason`, `Store::defer`): a 24 h window
//!   delays a transfer, never fails it.
//! - with `--api-addr`, the public status API (docs/STATUS_API.md, [`api`]): a transfer's steps
//!   by source tx hash or message id, and quotes, read from this store and the chains.

pub mod api;
mod deliver;
mod scanner;
mod submit;
#[cfg(test)]
mod testing;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::providers::DynProvider;
use ghostbridge_agent::attest::ValidatorClients;
use ghostbridge_agent::daemon::{self, Daemon, DaemonError, Tasks};
use ghostbridge_agent::runtime::{self, Health};
use ghostbridge_core::config::{Chain, Role};
use ghostbridge_store::{BackoffPolicy, Store};
use tokio_util::sync::CancellationToken;

/// Shared state of one relayer process.
#[derive(Debug, Clone)]
pub struct Relayer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: String,
    store: Store,
    chains: HashMap<u64, Chain>,
    providers: HashMap<u64, DynProvider>,
    validators: ValidatorClients,
    health: Health,
    poll: Duration,
    lease: Duration,
    batch_min: u32,
    batch_max: u32,
    pipeline_batches: u32,
    rounds_in_flight: u32,
    backoff: BackoffPolicy,
    /// Final errors (see `deliver::final_reason`) a message may meet before it is failed.
    max_final_attempts: u32,
}

/// Publishes the store's status counts as gauges (and in `/health`) every few seconds, so a
/// message that keeps failing is visible, never silently parked.
async fn publish_counts(r: Relayer, shutdown: CancellationToken) {
    loop {
        if let Ok(c) = r.inner.store.status_counts().await {
            for (name, v) in [
                ("seen", c.seen),
                ("attested", c.attested),
                ("submitted", c.submitted),
                ("confirmed", c.confirmed),
                ("failed_permanently", c.failed_permanently),
            ] {
                metrics::gauge!("ghostbridge_relayer_messages", "status" => name).set(v as f64);
            }
            metrics::gauge!("ghostbridge_relayer_messages_retrying").set(c.retrying as f64);
            let age = c
                .oldest_pending_age(runtime::now_ms())
                .map_or(0.0, |d| d.as_secs_f64());
            metrics::gauge!("ghostbridge_relayer_oldest_pending_seconds").set(age);
            r.inner.health.progress("messages", serde_json::json!({
                "seen": c.seen, "attested": c.attested, "submitted": c.submitted, "confirmed": c.confirmed,
                "failed_permanently": c.failed_permanently, "retrying": c.retrying, "oldest_pending_seconds": age,
            }));
            if c.failed_permanently > 0 {
                r.inner.health.problem("messages", format!("{} message(s) failed permanently; see `ghostbridge status`, then `ghostbridge redeliver` once the cause is fixed", c.failed_permanently));
            } else {
                // Cleared once an operator redelivered them (or none ever failed).
                r.inner.health.ok("messages");
            }
        }
        if !runtime::sleep_or_shutdown(Duration::from_secs(2), &shutdown).await {
            return;
        }
    }
}

pub use api::ApiOptions;

/// `ghostbridge relay --config FILE`: runs until SIGINT/SIGTERM.
pub async fn run(config_path: &std::path::Path) -> Result<(), DaemonError> {
    run_with(config_path, ApiOptions::default()).await
}

/// [`run`], also serving the status API when `api.addr` is set.
pub async fn run_with(config_path: &std::path::Path, api: ApiOptions) -> Result<(), DaemonError> {
    daemon::agent_main(config_path, Role::Relayer, |d| start(d, api)).await
}

/// The relayer's tasks: a scanner per source contract, a deliverer per destination chain, the
/// status counts, and the status API when asked for.
async fn start(d: Daemon, api: ApiOptions) -> Result<Tasks, DaemonError> {
    let Daemon {
        config,
        chains,
        store,
        health,
        shutdown,
    } = d;
    let (Some(section), Some(store)) = (config.relayer.clone(), store) else {
        // `Config::load` refuses a relayer config without them.
        return Err(DaemonError::start(
            "relayer",
            "no [relayer] or [store] section",
        ));
    };
    let signer = daemon::signer_from_env("relayer key", &section.key_env)?;
    let mut providers = HashMap::new();
    for c in &chains {
        providers.insert(
            c.chain_id,
            ghostbridge_agent::chain::http_provider(&c.rpc_urls[0])?,
        );
    }
    let validators = ValidatorClients::from_config(&config)?;
    let relayer = Relayer {
        inner: Arc::new(Inner {
            id: section.id.clone(),
            store,
            chains: chains.iter().map(|c| (c.chain_id, c.clone())).collect(),
            providers,
            validators,
            health,
            poll: Duration::from_millis(section.poll_interval_ms),
            lease: Duration::from_secs(section.lease_secs),
            batch_min: section.batch_min,
            batch_max: section.batch_max,
            pipeline_batches: section.pipeline_batches,
            rounds_in_flight: section.rounds_in_flight,
            backoff: BackoffPolicy {
                base: Duration::from_millis(500),
                max: Duration::from_secs(120),
                max_attempts: section.max_attempts,
            },
            max_final_attempts: section.max_final_attempts,
        }),
    };
    let api_addr = match api.addr {
        Some(addr) => Some(
            api::serve(
                relayer.clone(),
                addr,
                api.cors_origin.as_deref(),
                shutdown.clone(),
            )
            .await?,
        ),
        None => None,
    };
    let mut tasks = Vec::new();
    let wallet = EthereumWallet::from(signer.clone());
    for c in &chains {
        for contract in [c.deployment.vault, c.deployment.minter] {
            tasks.push((
                format!("scanner {} {contract}", c.chain_id),
                tokio::spawn(scanner::run(
                    relayer.clone(),
                    c.chain_id,
                    contract,
                    shutdown.clone(),
                )),
            ));
        }
        let submitter = submit::Submitter::new(
            c.chain_id,
            relayer.inner.providers[&c.chain_id].clone(),
            wallet.clone(),
            c.gas.clone(),
        );
        tasks.push((
            format!("deliver {}", c.chain_id),
            tokio::spawn(deliver::run(
                relayer.clone(),
                c.chain_id,
                submitter,
                shutdown.clone(),
            )),
        ));
    }
    tasks.push((
        "counts".into(),
        tokio::spawn(publish_counts(relayer.clone(), shutdown.clone())),
    ));
    tracing::info!(id = %section.id, account = %signer.address(), api = ?api_addr, cors_origin = ?api.cors_origin, "relayer ready");
    Ok(tasks)
}
