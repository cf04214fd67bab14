//! `ghostplane-sequencer`: starts the GhostPlane engine, the sequencer task and the JSON-RPC
//! endpoint. `--dev-fund N` credits N deterministic dev keys (`tx::test_key(0..N)`) with GCC.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use clap::Parser;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = ghostbridge_sequencer::cli::Args::parse();
    ghostbridge_sequencer::cli::run(args).await
}
