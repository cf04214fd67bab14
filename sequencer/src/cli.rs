//! Start-up path of the `ghostplane-sequencer` binary: settings → engine → sequencer → RPC.

use crate::{
    engine::{Engine, EngineConfig},
    rpc,
    sequencer::{self, InMemorySink, SequencerConfig},
    tx,
};
use ghostbridge_core::config::ListenerLimits;
use std::{net::SocketAddr, sync::Arc, time::Duration};

/// Command-line settings.
#[derive(Debug, clap::Parser)]
#[command(
    name = "ghostplane-sequencer",
    about = "GhostPlane L2 sequencer with JSON-RPC"
)]
pub struct Args {
    /// JSON-RPC listen address.
    #[arg(long, env = "GP_RPC_ADDR", default_value = rpc::DEFAULT_ADDR)]
    pub rpc_addr: SocketAddr,
    /// Transactions per batch.
    #[arg(long, env = "GP_BATCH_SIZE", default_value_t = 8190)]
    pub batch_size: usize,
    /// Milliseconds after a batch's first transaction before it is sealed.
    #[arg(long, env = "GP_BATCH_TIMEOUT_MS", default_value_t = 500)]
    pub batch_timeout_ms: u64,
    /// State tree depth (capacity 2^depth accounts).
    #[arg(long, env = "GP_ACCOUNTS_DEPTH", default_value_t = 20)]
    pub accounts_depth: u32,
    /// Fund this many deterministic dev keys with 1000 GCC each.
    #[arg(long, default_value_t = 0)]
    pub dev_fund: u64,
}

/// GCC credited to each dev key: 1000 tokens of 18 decimals.
const DEV_FUNDS: u128 = 1_000_000_000_000_000_000_000;

/// Runs until Ctrl-C.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let batch_max = u32::try_from(args.batch_size)?;
    let engine = Engine::new(EngineConfig {
        accounts_depth: args.accounts_depth,
        batch_transactions_max: batch_max,
        ..EngineConfig::default()
    })?;
    let config = SequencerConfig {
        batch_size: args.batch_size,
        batch_timeout: Duration::from_millis(args.batch_timeout_ms),
        ..SequencerConfig::default()
    };
    let (handle, _task) = sequencer::spawn(engine, config, Arc::new(InMemorySink::default()));
    for i in 0..args.dev_fund {
        let who = tx::address_of(tx::test_key(i).verifying_key());
        handle.deposit(who, 0, DEV_FUNDS)?;
        tracing::info!(%who, "funded dev account");
    }
    let (addr, _server) = rpc::start(args.rpc_addr, handle, ListenerLimits::default()).await?;
    tracing::info!(%addr, "GhostPlane JSON-RPC listening");
    println!("GhostPlane JSON-RPC listening on http://{addr}");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
