//! `ghostbridge`: one binary for the whole off-chain half of GhostBridge.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::{Parser, Subcommand};
use ghostbridge_cli::devnet::{Devnet, DevnetOptions, USER_KEY};
use ghostbridge_cli::transfer::{self, End};
use ghostbridge_core::config::{Config, Role};

#[derive(Parser)]
#[command(
    name = "ghostbridge",
    version,
    about = "GhostBridge: validators, relayer, watcher and tools"
)]
struct Cli {
    /// Log as JSON lines.
    #[arg(long, global = true, env = "GHOSTBRIDGE_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Two local anvil chains with everything deployed, 4 validators, a relayer and a watcher,
    /// and GhostPlane (the L2) settling on chain A with its node.
    Devnet {
        /// Working directory for configs, keys, databases and logs.
        #[arg(long, default_value = "deployments/devnet")]
        dir: PathBuf,
        /// First port (anvil A; B is +1, validators +10.., relayer ops +20, watcher ops +21).
        #[arg(long, default_value_t = 8545)]
        port_base: u16,
        /// Seconds per block (0 = a block per transaction).
        #[arg(long, default_value_t = 1)]
        block_time: u64,
        /// Exit once everything is up (for scripts), instead of running until Ctrl-C.
        #[arg(long)]
        exit_when_ready: bool,
        /// Send one ERC20 transfer each way and one native lock through the bridge, then on
        /// GhostPlane deposit → L2 transfer → withdraw → finalize, then keep running.
        #[arg(long)]
        demo: bool,
    },
    /// Run a validator.
    Validator {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run a relayer.
    Relay {
        #[arg(long)]
        config: PathBuf,
        /// Serve the public status API (GET /v1/transfers/{hash}, GET /v1/quote;
        /// docs/STATUS_API.md) on this address, e.g. 127.0.0.1:8568.
        #[arg(long)]
        api_addr: Option<std::net::SocketAddr>,
        /// The one page origin (scheme://host[:port]) allowed to call the status API from a
        /// browser (CORS); others get no CORS header.
        #[arg(long, requires = "api_addr")]
        api_cors_origin: Option<String>,
    },
    /// Run a watcher.
    Watch {
        #[arg(long)]
        config: PathBuf,
    },
    /// Lock or burn, then follow the message to delivery.
    Transfer {
        /// Any daemon config listing both chains.
        #[arg(long)]
        config: PathBuf,
        /// Source chain id.
        #[arg(long)]
        from: u64,
        /// Destination chain id.
        #[arg(long)]
        to: u64,
        /// `ETH`, a token symbol (`GCC`), a wrapped symbol (`wGCC`, burns) or an address.
        #[arg(long)]
        token: String,
        /// Amount in whole tokens (18 decimals), e.g. 1.5.
        #[arg(long)]
        amount: String,
        /// Recipient (default: the sender).
        #[arg(long)]
        recipient: Option<Address>,
        /// Env var with the sender's private key (default: the devnet demo account).
        #[arg(long, default_value = "GHOSTBRIDGE_USER_KEY")]
        key_env: String,
        /// Give up following after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// A message's state by message id or transaction hash; without one, counts by state and
    /// every message that failed permanently.
    Status {
        #[arg(long)]
        config: PathBuf,
        /// Message id or delivery transaction hash.
        hash: Option<B256>,
    },
    /// Operator: deliver again a message that failed permanently (e.g. after creating the
    /// missing route). It becomes `seen` with its attempt counters cleared; a running relayer
    /// picks it up at once. Safe to repeat: the destination releases a message once.
    Redeliver {
        /// The relayer config (its `[store]`).
        #[arg(long)]
        config: PathBuf,
        /// Message id (see `ghostbridge status`).
        id: B256,
    },
    /// Benchmark: N transfers through a fresh devnet; prints throughput, latency, gas, RSS and
    /// the relayer's cold start over a database of past messages.
    Load {
        /// Transfers to push.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Transfers locked while the relayer is stopped, then drained (delivery throughput).
        #[arg(long, default_value_t = 10000)]
        backlog: usize,
        /// Seconds of sustained load with RSS sampled every 30 s (0 = skip).
        #[arg(long, default_value_t = 0)]
        sustain_secs: u64,
        /// Past messages in the cold-start database.
        #[arg(long, default_value_t = 1_000_000)]
        past_messages: u64,
        /// First port.
        #[arg(long, default_value_t = 28545)]
        port_base: u16,
    },
    /// GhostPlane, the L2: run its node, deposit, transfer, withdraw, finalize, status.
    L2 {
        #[command(subcommand)]
        command: ghostbridge_cli::l2::L2Command,
    },
    /// Key management.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// New secp256k1 + ML-DSA-65 keys in an encrypted keystore (password from
    /// GHOSTBRIDGE_KEYSTORE_PASSWORD), a TLS certificate beside it.
    Generate {
        /// Keystore file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_amount(s: &str) -> anyhow::Result<U256> {
    Ok(alloy::primitives::utils::parse_units(s, 18)
        .with_context(|| format!("bad amount {s:?}"))?
        .into())
}

fn ends(config: &Path, from: u64, to: u64) -> anyhow::Result<(End, End)> {
    let (_, chains) = Config::load(config, Role::Client)?;
    let end = |id: u64| -> anyhow::Result<End> {
        let c = chains
            .iter()
            .find(|c| c.chain_id == id)
            .with_context(|| format!("chain {id} is not in {}", config.display()))?;
        Ok(End {
            chain_id: id,
            rpc: c.rpc_urls[0].clone(),
            deployment: c.deployment.clone(),
        })
    };
    Ok((end(from)?, end(to)?))
}

async fn demo(devnet: &Devnet) -> anyhow::Result<()> {
    let key: PrivateKeySigner = USER_KEY.parse()?;
    let [a, b] = &devnet.chains;
    let a = End {
        chain_id: a.chain_id,
        rpc: a.rpc.clone(),
        deployment: a.deployment.clone(),
    };
    let b = End {
        chain_id: b.chain_id,
        rpc: b.rpc.clone(),
        deployment: b.deployment.clone(),
    };
    for (from, to, token, amount) in [
        (&a, &b, "GCC", "25"),
        (&a, &b, "ETH", "1"),
        (&b, &a, "wGCC", "10"),
    ] {
        let leg = transfer::resolve_leg(from, to, token).await?;
        let sent =
            transfer::send(from, to, leg, parse_amount(amount)?, key.address(), &key).await?;
        println!(
            "demo: {amount} {token} {} -> {} message {}",
            from.chain_id, to.chain_id, sent.id
        );
        let took = transfer::follow(from, to, &sent, Duration::from_secs(120), true).await?;
        println!("demo: delivered in {:.1}s", took.as_secs_f64());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    ghostbridge_agent::runtime::init_tracing(cli.log_json);
    match cli.command {
        Command::Devnet {
            dir,
            port_base,
            block_time,
            exit_when_ready,
            demo: run_demo,
        } => {
            let root = std::env::var("GHOSTBRIDGE_ROOT")
                .map(PathBuf::from)
                .unwrap_or(std::env::current_dir()?);
            let mut opts = DevnetOptions::new(root, dir);
            opts.port_base = port_base;
            opts.block_time = block_time;
            opts.ghostplane = true;
            let devnet = Devnet::start(opts).await?;
            devnet.print_endpoints();
            if run_demo {
                demo(&devnet).await?;
                ghostbridge_cli::l2::demo(&ghostbridge_cli::l2::Endpoints {
                    deployment: devnet.ghostplane_deployment(),
                    l1_rpc: devnet.chains[0].rpc.clone(),
                    l2_rpc: devnet.l2_rpc(),
                    key_env: "GHOSTBRIDGE_USER_KEY".into(),
                })
                .await?;
            }
            if !exit_when_ready {
                println!("running; Ctrl-C stops everything");
                tokio::signal::ctrl_c().await?;
            }
            devnet.stop().await;
        }
        Command::Load {
            count,
            backlog,
            sustain_secs,
            past_messages,
            port_base,
        } => {
            let root = std::env::var("GHOSTBRIDGE_ROOT")
                .map(PathBuf::from)
                .unwrap_or(std::env::current_dir()?);
            let mut opts = DevnetOptions::new(root.clone(), root.join("deployments/load"));
            opts.port_base = port_base;
            ghostbridge_cli::load::run(opts, count, backlog, sustain_secs, past_messages).await?;
        }
        Command::L2 { command } => ghostbridge_cli::l2::run(command).await?,
        Command::Validator { config } => ghostbridge_validator::run(&config).await?,
        Command::Relay {
            config,
            api_addr,
            api_cors_origin,
        } => {
            ghostbridge_relayer::run_with(
                &config,
                ghostbridge_relayer::ApiOptions {
                    addr: api_addr,
                    cors_origin: api_cors_origin,
                },
            )
            .await?
        }
        Command::Watch { config } => ghostbridge_watcher::run(&config).await?,
        Command::Transfer {
            config,
            from,
            to,
            token,
            amount,
            recipient,
            key_env,
            timeout,
        } => {
            let (from, to) = ends(&config, from, to)?;
            let key: PrivateKeySigner = std::env::var(&key_env)
                .unwrap_or_else(|_| USER_KEY.into())
                .trim()
                .parse()
                .with_context(|| format!("{key_env} is not a private key"))?;
            let leg = transfer::resolve_leg(&from, &to, &token).await?;
            let sent = transfer::send(
                &from,
                &to,
                leg,
                parse_amount(&amount)?,
                recipient.unwrap_or(key.address()),
                &key,
            )
            .await?;
            println!(
                "message {} (nonce {}) sent in tx {}",
                sent.id, sent.nonce, sent.receipt.transaction_hash
            );
            let took =
                transfer::follow(&from, &to, &sent, Duration::from_secs(timeout), true).await?;
            println!("delivered after {:.1}s", took.as_secs_f64());
        }
        Command::Status { config, hash } => {
            let (config, _) = Config::load(&config, Role::Client)?;
            let url = store_url(&config)?;
            let store = ghostbridge_store::Store::open(&url).await?;
            match hash {
                Some(h) => {
                    let records = store.lookup(&h).await?;
                    if records.is_empty() {
                        anyhow::bail!("no message or transaction {h} in {url}");
                    }
                    for r in records {
                        println!("message {}\n  route      {} -> {} contract {} nonce {}\n  status     {}\n  attempts   {} (final errors {})", r.id, r.src_chain, r.dst_chain, r.src_contract, r.nonce, r.status, r.attempts, r.final_attempts);
                        if let Some(e) = &r.last_error {
                            println!("  last error {e}");
                        }
                        if let Some(f) = &r.failure_reason {
                            println!("  FAILED     {f}\n  then       ghostbridge redeliver --config FILE {}", r.id);
                        }
                        if let Some(s) = &r.submission {
                            println!(
                                "  tx         {} (account nonce {})",
                                s.tx_hash, s.account_nonce
                            );
                        }
                    }
                }
                None => {
                    let c = store.status_counts().await?;
                    println!("seen {}  attested {}  submitted {}  confirmed {}  failed_permanently {}  retrying {}", c.seen, c.attested, c.submitted, c.confirmed, c.failed_permanently, c.retrying);
                    const SHOWN: u32 = 100;
                    let failed = store.failed_messages(SHOWN).await?;
                    for r in &failed {
                        println!("failed_permanently {}  {} -> {} contract {} nonce {}  final errors {}: {}", r.id, r.src_chain, r.dst_chain, r.src_contract, r.nonce, r.final_attempts, r.failure_reason.as_deref().unwrap_or(""));
                    }
                    if c.failed_permanently > u64::from(SHOWN) {
                        println!(
                            "(the {SHOWN} most recent of {} shown)",
                            c.failed_permanently
                        );
                    }
                    if !failed.is_empty() {
                        println!(
                            "fix the cause, then: ghostbridge redeliver --config FILE <message id>"
                        );
                    }
                }
            }
        }
        Command::Redeliver { config, id } => {
            let (config, _) = Config::load(&config, Role::Client)?;
            let url = store_url(&config)?;
            let store = ghostbridge_store::Store::open(&url).await?;
            let r = store
                .redeliver(&id)
                .await
                .with_context(|| format!("redelivering {id}"))?;
            println!(
                "message {} ({} -> {} nonce {}) is {} again; the relayer delivers it next",
                r.id, r.src_chain, r.dst_chain, r.nonce, r.status
            );
            store.close().await;
        }
        Command::Keys {
            command: KeysCommand::Generate { out },
        } => {
            let password = std::env::var("GHOSTBRIDGE_KEYSTORE_PASSWORD")
                .context("set GHOSTBRIDGE_KEYSTORE_PASSWORD")?;
            anyhow::ensure!(
                password.len() >= 8,
                "the keystore password must have at least 8 characters"
            );
            let key = ghostbridge_core::keys::ValidatorKey::generate()?;
            let file = ghostbridge_core::keystore::encrypt(&key, password.as_bytes())?;
            ghostbridge_core::keystore::write(&out, &file)?;
            let (cert, tls_key) = ghostbridge_agent::tls::self_signed(&["localhost".into()])?;
            std::fs::write(out.with_extension("cert.pem"), cert)?;
            std::fs::write(out.with_extension("key.pem"), tls_key)?;
            println!(
                "address      {}\npq_key_hash  {}\nkeystore     {}",
                key.address(),
                key.pq_key_hash(),
                out.display()
            );
        }
    }
    Ok(())
}

/// The relayer's store a command reads (`status`, `redeliver`).
fn store_url(config: &Config) -> anyhow::Result<String> {
    config
        .store_url()
        .map(std::borrow::Cow::into_owned)
        .context("this command reads the relayer's store: the config needs [store] url")
}
