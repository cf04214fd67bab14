//! `ghostbridge l2 ...`: GhostPlane from a user's and an operator's seat. `node` runs the
//! sequencer with its L1 side; `deposit`, `transfer`, `withdraw`, `finalize` follow each step
//! to its end with progress lines; `status` shows both sides.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use ghostbridge_core::bindings::ghost_token::GhostToken;
use ghostbridge_core::config::ListenerLimits;
use ghostbridge_l2node::bindings::portal::GhostPlanePortal;
use ghostbridge_l2node::bindings::rollup::GhostPlaneRollup;
use ghostbridge_l2node::challenger::{self, ChallengerConfig, ChallengerStatus};
use ghostbridge_l2node::client::L2Client;
use ghostbridge_l2node::node::{self, Deployment, NodeConfig};
use ghostbridge_l2node::poster::DataMode;
use ghostbridge_l2node::withdrawals;
use ghostbridge_sequencer::engine::EngineConfig;
use ghostbridge_sequencer::sequencer::SequencerConfig;
use ghostbridge_sequencer::tx::{UnsignedTx, UnsignedWithdrawal};

use crate::devnet::USER_KEY;

/// Where the L1 and the L2 are.
#[derive(Debug, Clone, Args)]
pub struct Endpoints {
    /// The GhostPlane deployment JSON (`script/DeployGhostPlane.s.sol`).
    #[arg(long, default_value = "deployments/devnet/ghostplane.json")]
    pub deployment: PathBuf,
    /// L1 JSON-RPC.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    pub l1_rpc: String,
    /// L2 JSON-RPC.
    #[arg(long, default_value = "http://127.0.0.1:8585")]
    pub l2_rpc: String,
    /// Env var with the user's private key (the same key signs on L1 and L2; default: the
    /// devnet demo account).
    #[arg(long, default_value = "GHOSTBRIDGE_USER_KEY")]
    pub key_env: String,
}

/// `ghostbridge l2 <command>`.
#[derive(Debug, Subcommand)]
pub enum L2Command {
    /// Run the GhostPlane node: sequencer, L1 batch poster, deposit follower, L2 JSON-RPC.
    /// The proposer key comes from GHOSTPLANE_SEQUENCER_KEY.
    Node {
        /// L1, L2, deployment, key.
        #[command(flatten)]
        at: Endpoints,
        /// L2 JSON-RPC listen address.
        #[arg(long, default_value = "127.0.0.1:8585")]
        rpc_addr: SocketAddr,
        /// `/health` and `/metrics` listen address.
        #[arg(long, default_value = "127.0.0.1:8586")]
        ops_addr: SocketAddr,
        /// Post batches as blobs (EIP-4844) or calldata.
        #[arg(long, default_value = "blobs", value_parser = ["blobs", "calldata"])]
        mode: String,
        /// L1 blocks below the head before a deposit is applied.
        #[arg(long, default_value_t = 1)]
        confirmations: u64,
        /// Seal a batch this long after its first transaction.
        #[arg(long, default_value_t = 500)]
        batch_timeout_ms: u64,
        /// The sequencer's durable log: every sealed batch is written here before its receipts
        /// are published, and replayed at start (created if missing). One per deployment.
        #[arg(long, default_value = "ghostplane.journal")]
        journal: PathBuf,
        /// Most ops (transactions and deposits) per batch; default: what one L1 transaction
        /// carries in the mode (blobs: 6 blobs × 1,024 = 6,144; calldata: 768). Smaller batches
        /// let several share an L1 block with `--max-in-flight`. Lowering it below a batch
        /// already in the journal makes the journal unreplayable.
        #[arg(long)]
        batch_max_ops: Option<u32>,
        /// Batch transactions sent before the oldest one is mined (1: one batch per L1 block).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
        max_in_flight: u16,
    },
    /// Watch every batch posted to the Rollup, replay it from L1 data alone with an executor
    /// independent of the engine, and prove fraud in one transaction (key from
    /// GHOSTPLANE_CHALLENGER_KEY; without it, watch and alert only).
    Challenge {
        /// L1, L2, deployment, key.
        #[command(flatten)]
        at: Endpoints,
        /// `/health` (503 once a fraud is found) and `/metrics` listen address.
        #[arg(long, default_value = "127.0.0.1:8587")]
        ops_addr: SocketAddr,
    },
    /// Deposit on L1 and wait until it is spendable on L2.
    Deposit {
        /// L1, L2, deployment, key.
        #[command(flatten)]
        at: Endpoints,
        /// `ETH`, `GCC`, `SPIRIT`, `MANA`, `GHOST` or an L2 token id.
        #[arg(long)]
        token: String,
        /// Amount in whole tokens (18 decimals).
        #[arg(long)]
        amount: String,
        /// L2 recipient (default: the sender).
        #[arg(long)]
        to: Option<Address>,
    },
    /// Send an L2 transfer and wait for its receipt.
    Transfer {
        /// L1, L2, deployment, key.
        #[command(flatten)]
        at: Endpoints,
        /// Token (as for `deposit`).
        #[arg(long)]
        token: String,
        /// Amount in whole tokens.
        #[arg(long)]
        amount: String,
        /// Recipient.
        #[arg(long)]
        to: Address,
    },
    /// Withdraw from L2 to L1: the signed withdrawal, its batch on L1, when it can be finalized.
    Withdraw {
        /// L1, L2, deployment, key.
        #[command(flatten)]
        at: Endpoints,
        /// Token (as for `deposit`).
        #[arg(long)]
        token: String,
        /// Amount in whole tokens.
        #[arg(long)]
        amount: String,
        /// L1 recipient (default: the sender).
        #[arg(long)]
        l1_recipient: Option<Address>,
        /// Also wait for the challenge window and finalize.
        #[arg(long)]
        finalize: bool,
    },
    /// Finalize withdrawal `index` of batch `batch` on L1 once its challenge window has passed.
    Finalize {
        /// L1, L2, deployment, key.
        #[command(flatten)]
        at: Endpoints,
        /// Batch number.
        #[arg(long)]
        batch: u64,
        /// Withdrawal index within the batch.
        #[arg(long)]
        index: u32,
    },
    /// Both sides: the Rollup's tip, deposits on L1 and on L2, the L2's latest batch, balances.
    Status {
        /// L1, L2, deployment, key.
        #[command(flatten)]
        at: Endpoints,
        /// Also show this account's L2 balances.
        #[arg(long)]
        address: Option<Address>,
    },
}

const TOKENS: [&str; 4] = ["GCC", "SPIRIT", "MANA", "GHOST"];
/// The L2 id the devnet maps native ETH to.
const DEVNET_ETH_ID: u32 = 4;

fn token_id(token: &str) -> anyhow::Result<u32> {
    if token.eq_ignore_ascii_case("ETH") {
        return Ok(DEVNET_ETH_ID);
    }
    if let Some(i) = TOKENS.iter().position(|t| t.eq_ignore_ascii_case(token)) {
        return Ok(i as u32);
    }
    let id: u32 = token.parse().with_context(|| {
        format!("unknown token {token:?} (ETH, GCC, SPIRIT, MANA, GHOST or 0..7)")
    })?;
    anyhow::ensure!(id < 8, "token id {id} is not below 8");
    Ok(id)
}

fn amount_wei(s: &str) -> anyhow::Result<u128> {
    let v: U256 = alloy::primitives::utils::parse_units(s, 18)
        .with_context(|| format!("bad amount {s:?}"))?
        .into();
    u128::try_from(v).with_context(|| format!("amount {s} too large"))
}

fn fmt_wei(v: u128) -> String {
    alloy::primitives::utils::format_units(U256::from(v), 18).unwrap_or_else(|_| v.to_string())
}

fn user_key(at: &Endpoints) -> anyhow::Result<PrivateKeySigner> {
    std::env::var(&at.key_env)
        .unwrap_or_else(|_| USER_KEY.into())
        .trim()
        .parse()
        .with_context(|| format!("{} is not a private key", at.key_env))
}

fn l1(at: &Endpoints, key: &PrivateKeySigner) -> anyhow::Result<DynProvider> {
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_http(at.l1_rpc.parse().context("--l1-rpc")?)
        .erased())
}

async fn wait<F, Fut>(what: &str, timeout: Duration, mut done: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let start = Instant::now();
    loop {
        if done().await? {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs one `ghostbridge l2` command.
pub async fn run(cmd: L2Command) -> anyhow::Result<()> {
    match cmd {
        L2Command::Node {
            at,
            rpc_addr,
            ops_addr,
            mode,
            confirmations,
            batch_timeout_ms,
            journal,
            batch_max_ops,
            max_in_flight,
        } => {
            let proposer: PrivateKeySigner = std::env::var("GHOSTPLANE_SEQUENCER_KEY")
                .context("set GHOSTPLANE_SEQUENCER_KEY (the bonded sequencer's key)")?
                .trim()
                .parse()
                .context("GHOSTPLANE_SEQUENCER_KEY is not a private key")?;
            #[cfg(feature = "test-lies")]
            if let Some((kind, batch)) = ghostbridge_l2node::lie::from_env() {
                tracing::warn!(?kind, batch, "TEST BUILD: this node will post a lie (GHOSTPLANE_TEST_LIE); its bond will be slashed");
            }
            let mode = if mode == "calldata" {
                DataMode::Calldata
            } else {
                DataMode::Blobs
            };
            let ops_max = batch_max_ops.unwrap_or(u32::try_from(mode.max_ops())?);
            let node = node::start(NodeConfig {
                l1_rpc: at.l1_rpc.clone(),
                deployment: Deployment::load(&at.deployment)?,
                proposer,
                mode,
                confirmations,
                rpc_addr,
                rpc_limits: ListenerLimits::default(),
                engine: EngineConfig {
                    batch_transactions_max: ops_max,
                    ..EngineConfig::default()
                },
                sequencer: SequencerConfig {
                    batch_size: ops_max as usize,
                    batch_timeout: Duration::from_millis(batch_timeout_ms),
                    ..SequencerConfig::default()
                },
                journal,
                max_in_flight: max_in_flight.into(),
            })
            .await?;
            let health = ghostbridge_agent::runtime::Health::default();
            let shutdown = ghostbridge_agent::runtime::shutdown_on_signals();
            let ops =
                ghostbridge_agent::runtime::serve_ops(ops_addr, health.clone(), shutdown.clone())
                    .await?;
            println!(
                "GhostPlane node: L2 JSON-RPC http://{}  ops http://{ops}/health",
                node.rpc_addr
            );
            loop {
                match node.stopped_task() {
                    None => {}
                    Some("sequencer") => anyhow::bail!(
                        "the sequencer stopped (its journal could not be written; see the log): restart the node to replay the journal"
                    ),
                    Some(task) => anyhow::bail!(
                        "the node's {task} task stopped (see the log): restart the node; it replays its journal and re-reads L1"
                    ),
                }
                health.progress("batches_posted", node.poster.posted());
                health.progress("posting_failures", node.poster.failed_attempts());
                health.progress("deposits_applied", node.deposits.applied());
                health.progress("l1_deposits_scanned_to", node.deposits.scanned_to());
                health.progress(
                    "l2_latest_batch",
                    node.handle.latest_batch().map_or(0, |h| h.batch_number),
                );
                if !ghostbridge_agent::runtime::sleep_or_shutdown(Duration::from_secs(1), &shutdown)
                    .await
                {
                    break;
                }
            }
        }
        L2Command::Challenge { at, ops_addr } => {
            let d = Deployment::load(&at.deployment)?;
            let url: reqwest::Url = at.l1_rpc.parse().context("--l1-rpc")?;
            let provider = ProviderBuilder::new().connect_http(url.clone()).erased();
            let prover = match std::env::var("GHOSTPLANE_CHALLENGER_KEY") {
                Ok(k) => {
                    let key: PrivateKeySigner = k
                        .trim()
                        .parse()
                        .context("GHOSTPLANE_CHALLENGER_KEY is not a private key")?;
                    Some(
                        ProviderBuilder::new()
                            .wallet(EthereumWallet::from(key))
                            .connect_http(url)
                            .erased(),
                    )
                }
                Err(_) => None,
            };
            // The genesis parameters come from the Rollup itself, not from a local engine config.
            let rollup = GhostPlaneRollup::new(d.rollup, &provider);
            let config = ChallengerConfig {
                rollup: d.rollup,
                portal: d.portal,
                from_block: d.deploy_block,
                poll: Duration::from_millis(500),
                depth: u32::try_from(rollup.accountsDepth().call().await?)?,
                base_fee: u128::try_from(rollup.baseFee().call().await?)?,
                fee_collector: rollup.feeCollector().call().await?,
            };
            let status = Arc::new(ChallengerStatus::default());
            let watch_only = prover.is_none();
            let health = ghostbridge_agent::runtime::Health::default();
            let shutdown = ghostbridge_agent::runtime::shutdown_on_signals();
            let ops =
                ghostbridge_agent::runtime::serve_ops(ops_addr, health.clone(), shutdown.clone())
                    .await?;
            // Supervised: a panic in the challenger stops the process (non-zero exit) instead of
            // leaving `/health` green over a challenger that checks nothing any more.
            let stop = shutdown.clone();
            let challenger = tokio::spawn({
                let status = status.clone();
                async move {
                    tokio::select! {
                        () = challenger::run(provider, prover, config, status) => {}
                        () = stop.cancelled() => {}
                    }
                }
            });
            let publish = tokio::spawn(publish_challenger_health(status, health, shutdown.clone()));
            println!(
                "GhostPlane challenger{}: ops http://{ops}/health",
                if watch_only { " (watch only)" } else { "" }
            );
            ghostbridge_agent::runtime::supervise(
                vec![
                    ("challenger".into(), challenger),
                    ("health".into(), publish),
                ],
                &shutdown,
            )
            .await?;
        }
        L2Command::Deposit {
            at,
            token,
            amount,
            to,
        } => {
            let key = user_key(&at)?;
            let d = Deployment::load(&at.deployment)?;
            deposit(&at, &d, &key, token_id(&token)?, amount_wei(&amount)?, to).await?;
        }
        L2Command::Transfer {
            at,
            token,
            amount,
            to,
        } => {
            let key = user_key(&at)?;
            let d = Deployment::load(&at.deployment)?;
            transfer(&at, &d, &key, token_id(&token)?, amount_wei(&amount)?, to).await?;
        }
        L2Command::Withdraw {
            at,
            token,
            amount,
            l1_recipient,
            finalize: and_finalize,
        } => {
            let key = user_key(&at)?;
            let d = Deployment::load(&at.deployment)?;
            let (batch, index) = withdraw(
                &at,
                &d,
                &key,
                token_id(&token)?,
                amount_wei(&amount)?,
                l1_recipient,
            )
            .await?;
            if and_finalize {
                finalize(&at, &d, &key, batch, index).await?;
            } else {
                println!(
                    "then: ghostbridge l2 finalize --batch {batch} --index {index} (after the challenge window)"
                );
            }
        }
        L2Command::Finalize { at, batch, index } => {
            let key = user_key(&at)?;
            let d = Deployment::load(&at.deployment)?;
            finalize(&at, &d, &key, batch, index).await?;
        }
        L2Command::Status { at, address } => {
            let key = user_key(&at)?;
            let d = Deployment::load(&at.deployment)?;
            let p = l1(&at, &key)?;
            let rollup = GhostPlaneRollup::new(d.rollup, &p);
            let portal = GhostPlanePortal::new(d.portal, &p);
            let l2 = L2Client::new(&at.l2_rpc);
            println!(
                "L1 {}: rollup {} tip {}  portal {} deposits {}",
                at.l1_rpc,
                d.rollup,
                rollup.tip().call().await?,
                d.portal,
                portal.depositCount().call().await?
            );
            println!(
                "L2 {}: latest batch {}  deposits applied {}",
                at.l2_rpc,
                l2.latest_batch().await?,
                l2.deposit_cursor().await?
            );
            if let Some(a) = address {
                for (i, name) in TOKENS
                    .iter()
                    .chain(["ETH", "id5", "id6", "id7"].iter())
                    .enumerate()
                {
                    let b = l2.balance(a, i as u32).await?;
                    if b != 0 {
                        println!("  {a} {name}: {}", fmt_wei(b));
                    }
                }
                println!("  {a} nonce {}", l2.nonce(a).await?);
            }
        }
    }
    Ok(())
}

/// Deposits `amount` of L2 token `id` for `to` (default: the sender) and waits until the L2
/// credits it.
pub async fn deposit(
    at: &Endpoints,
    d: &Deployment,
    key: &PrivateKeySigner,
    id: u32,
    amount: u128,
    to: Option<Address>,
) -> anyhow::Result<()> {
    let p = l1(at, key)?;
    let to = to.unwrap_or(key.address());
    let l2 = L2Client::new(&at.l2_rpc);
    let before = l2.balance(to, id).await?;
    let portal = GhostPlanePortal::new(d.portal, &p);
    let token = portal.tokenAddress(U256::from(id)).call().await?;
    let receipt = if id == DEVNET_ETH_ID && token.is_zero() {
        portal
            .depositETH(to)
            .value(U256::from(amount))
            .send()
            .await
            .context("depositETH")?
            .get_receipt()
            .await?
    } else {
        GhostToken::new(token, &p)
            .approve(d.portal, U256::from(amount))
            .send()
            .await
            .context("approve")?
            .get_receipt()
            .await?;
        portal
            .deposit(token, U256::from(amount), to)
            .send()
            .await
            .context("deposit")?
            .get_receipt()
            .await?
    };
    anyhow::ensure!(receipt.status(), "the deposit reverted");
    println!(
        "deposit: {} of token {id} for {to} on L1 in block {}, tx {}",
        fmt_wei(amount),
        receipt.block_number.unwrap_or_default(),
        receipt.transaction_hash
    );
    let took = wait("the deposit on L2", Duration::from_secs(120), || {
        let l2 = l2.clone();
        async move { Ok(l2.balance(to, id).await? >= before.saturating_add(amount)) }
    })
    .await?;
    println!(
        "deposit: spendable on L2 after {:.1}s (balance {})",
        took.as_secs_f64(),
        fmt_wei(l2.balance(to, id).await?)
    );
    Ok(())
}

/// Sends an L2 transfer and waits for its receipt; returns its batch.
pub async fn transfer(
    at: &Endpoints,
    d: &Deployment,
    key: &PrivateKeySigner,
    id: u32,
    amount: u128,
    to: Address,
) -> anyhow::Result<u64> {
    let p = l1(at, key)?;
    let base_fee: u128 = GhostPlaneRollup::new(d.rollup, &p)
        .baseFee()
        .call()
        .await?
        .try_into()?;
    let l2 = L2Client::new(&at.l2_rpc);
    let signing = k256::ecdsa::SigningKey::from_slice(key.to_bytes().as_slice())?;
    let gas_limit = 21_000u64;
    let raw = UnsignedTx {
        to,
        value: amount,
        token: id,
        gas_limit,
        gas_price: u64::try_from(base_fee.div_ceil(u128::from(gas_limit)))?,
        nonce: l2.nonce(key.address()).await?,
        data: Vec::new(),
    }
    .sign(&signing)?;
    let hash = l2.send_transaction(&raw).await?;
    let start = Instant::now();
    let batch = l2.wait_receipt(hash, Duration::from_secs(60)).await?;
    println!(
        "transfer: {} of token {id} to {to}: applied in L2 batch {batch} after {:.2}s (tx {hash})",
        fmt_wei(amount),
        start.elapsed().as_secs_f64()
    );
    Ok(batch)
}

/// Sends a signed L2 withdrawal, waits for its batch on L1; returns (batch, index).
pub async fn withdraw(
    at: &Endpoints,
    d: &Deployment,
    key: &PrivateKeySigner,
    id: u32,
    amount: u128,
    l1_recipient: Option<Address>,
) -> anyhow::Result<(u64, u32)> {
    let p = l1(at, key)?;
    let l2 = L2Client::new(&at.l2_rpc);
    let signing = k256::ecdsa::SigningKey::from_slice(key.to_bytes().as_slice())?;
    let l1_recipient = l1_recipient.unwrap_or(key.address());
    let raw = UnsignedWithdrawal {
        l1_recipient,
        token: id,
        amount,
        nonce: l2.nonce(key.address()).await?,
    }
    .sign(&signing)?;
    let hash = l2.send_withdrawal(&raw).await?;
    let batch = l2.wait_receipt(hash, Duration::from_secs(60)).await?;
    let proof = l2
        .find_withdrawal(batch, key.address(), l1_recipient, id, amount)
        .await?
        .context("the applied withdrawal is not in its batch's leaves")?;
    let index = proof.withdrawal.index;
    println!(
        "withdraw: {} of token {id} to {l1_recipient} on L1: L2 batch {batch}, leaf {index} (tx {hash})",
        fmt_wei(amount)
    );
    let start = Instant::now();
    let on_l1 = loop {
        if let Some(b) = withdrawals::batch_on_l1(&p, d.rollup, batch, d.deploy_block).await? {
            break b;
        }
        if start.elapsed() > Duration::from_secs(120) {
            bail!(
                "batch {batch} not on L1 after 120 s: is the node posting? (ghostbridge l2 status)"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let took = start.elapsed();
    println!(
        "withdraw: batch {batch} on L1 after {:.1}s; final at L1 time {} (window ends in {}s)",
        took.as_secs_f64(),
        on_l1.final_at,
        on_l1.final_at.saturating_sub(on_l1.submitted_at)
    );
    Ok((batch, index))
}

/// Waits for the challenge window of `batch` and finalizes withdrawal `index` on L1.
pub async fn finalize(
    at: &Endpoints,
    d: &Deployment,
    key: &PrivateKeySigner,
    batch: u64,
    index: u32,
) -> anyhow::Result<()> {
    let p = l1(at, key)?;
    let l2 = L2Client::new(&at.l2_rpc);
    let proof = l2
        .withdrawal_proof(batch, index)
        .await?
        .with_context(|| format!("the L2 has no withdrawal {index} in batch {batch}"))?;
    let on_l1 = withdrawals::batch_on_l1(&p, d.rollup, batch, d.deploy_block)
        .await?
        .with_context(|| format!("batch {batch} is not on L1 yet"))?;
    anyhow::ensure!(
        on_l1.withdrawals_root == proof.withdrawals_root,
        "the L2's withdrawals root for batch {batch} differs from the one on L1: do not trust this L2 node"
    );
    let took = wait("the challenge window", Duration::from_secs(3600), || {
        let p = p.clone();
        async move {
            let head = p
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await?
                .context("no head block")?;
            Ok(head.header.timestamp >= on_l1.final_at)
        }
    })
    .await?;
    let receipt = withdrawals::finalize(&p, d.portal, &proof, &on_l1).await?;
    println!(
        "finalize: waited {:.1}s for the window; {} of token {} paid to {} on L1 (tx {})",
        took.as_secs_f64(),
        fmt_wei(proof.withdrawal.amount),
        proof.withdrawal.token,
        proof.withdrawal.l1Recipient,
        receipt.transaction_hash
    );
    Ok(())
}

/// The devnet demo's L2 leg: deposit ETH and GCC, an L2 transfer, a withdrawal finalized on L1.
pub async fn demo(at: &Endpoints) -> anyhow::Result<()> {
    let key: PrivateKeySigner = USER_KEY.parse()?;
    let d = Deployment::load(&at.deployment)?;
    deposit(at, &d, &key, DEVNET_ETH_ID, amount_wei("1")?, None).await?;
    deposit(at, &d, &key, 0, amount_wei("100")?, None).await?;
    transfer(
        at,
        &d,
        &key,
        0,
        amount_wei("25")?,
        Address::repeat_byte(0xb0),
    )
    .await?;
    let (batch, index) = withdraw(at, &d, &key, DEVNET_ETH_ID, amount_wei("0.5")?, None).await?;
    finalize(at, &d, &key, batch, index).await
}

/// The challenger's progress and any fraud found, in `/health`, every second until shutdown.
async fn publish_challenger_health(
    status: Arc<ChallengerStatus>,
    health: ghostbridge_agent::runtime::Health,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        health.progress("batches_checked", status.checked());
        health.progress("fraud_proofs_landed", status.proven());
        match status.not_yet() {
            Some(why) => health.progress("cannot_check_yet", why),
            None => health.progress("cannot_check_yet", ""),
        }
        let frauds = status.frauds();
        if frauds.is_empty() {
            health.ok("fraud");
        } else {
            health.problem("fraud", format!("{frauds:?}"));
        }
        if !ghostbridge_agent::runtime::sleep_or_shutdown(Duration::from_secs(1), &shutdown).await {
            return;
        }
    }
}
