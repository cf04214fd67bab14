//! GhostPlane settled on L1 (issue 10's L1 benchmark figures): a real anvil (1 s blocks, its
//! default hardfork's blob limits), the GhostPlane contracts by their forge script, and the node
//! (sequencer, blob poster, deposit follower) in this process, driven with signed transfers.
//!
//! `./script/l2-settle-bench.sh` (release build, 3 runs, medians) or
//! `cargo run --release -p ghostbridge-cli --example l2_settle_bench -- [options]`.
//!
//! Phases, each printing `name: value unit` figures on stdout (progress on stderr):
//! 1. deposit → spendable: portal deposits one at a time; from the L1 receipt to the L2 balance.
//! 2. transaction → committed on L1 at a moderate load: from submitting a transfer to the first
//!    sight of the L1 block holding the batch that applied it.
//! 3. settled throughput: transfers offered above the DA bound for `--seconds`; the ops the
//!    Rollup's `BatchSubmitted` events carry over that span of L1 blocks, per second of L1 time,
//!    against the bound (blobs per block × 1,024 ops per blob / block time).
#![allow(clippy::arithmetic_side_effects, clippy::cast_precision_loss)]

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use anyhow::{bail, ensure, Context};
use clap::Parser;
use ghostbridge_cli::devnet::{self, DEPLOYER_KEY, USER_KEY};
use ghostbridge_core::config::ListenerLimits;
use ghostbridge_l2node::bindings::portal::GhostPlanePortal;
use ghostbridge_l2node::bindings::rollup::GhostPlaneRollup;
use ghostbridge_l2node::node::{self, Deployment, NodeConfig};
use ghostbridge_l2node::poster::DataMode;
use ghostbridge_sequencer::engine::EngineConfig;
use ghostbridge_sequencer::sequencer::{Receipt, SequencerConfig, SequencerHandle, SubmitError};
use ghostbridge_sequencer::settlement::{abi, RECORDS_PER_BLOB};
use ghostbridge_sequencer::tx::{address_of, test_key, UnsignedTx};
use k256::ecdsa::SigningKey;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

alloy::sol! {
    #[sol(rpc)]
    interface Erc20 {
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
    }
}

const ETHER: u128 = 1_000_000_000_000_000_000;
const GAS_LIMIT: u64 = 21_000;
const GAS_PRICE: u64 = 50_000_000_000;

#[derive(Debug, Parser)]
struct Args {
    /// anvil's port.
    #[arg(long, default_value_t = 29_990)]
    port: u16,
    /// Ops per batch (3 blobs: three batches fill a 9-blob block).
    #[arg(long, default_value_t = 3 * RECORDS_PER_BLOB as u32)]
    batch_max_ops: u32,
    /// Batch transactions the poster keeps in flight.
    #[arg(long, default_value_t = 3)]
    max_in_flight: usize,
    /// The sequencer's batch timeout.
    #[arg(long, default_value_t = 500)]
    batch_timeout_ms: u64,
    /// L2 senders (funded by one portal deposit each).
    #[arg(long, default_value_t = 256)]
    senders: usize,
    /// Portal deposits timed one at a time.
    #[arg(long, default_value_t = 5)]
    deposits: usize,
    /// Offered transfers/s of the latency phase, and its length.
    #[arg(long, default_value_t = 500)]
    latency_rate: u64,
    #[arg(long, default_value_t = 60)]
    latency_seconds: u64,
    /// Offered transfers/s of the throughput phase (above the DA bound), and its length.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    #[arg(long, default_value_t = 300)]
    seconds: u64,
}

fn figure(name: &str, value: f64, unit: &str, decimals: usize) {
    println!("{name}: {value:.decimals$} {unit}");
}

fn wallet(url: &str, key: &str) -> anyhow::Result<DynProvider> {
    let signer: PrivateKeySigner = key.parse()?;
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url.parse()?)
        .erased())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Transfer `i` of a round-major schedule: sender `i % n`, nonce `i / n`, to the next sender.
fn presign(keys: &[(SigningKey, Address)], from: usize, count: usize) -> Vec<Vec<u8>> {
    let n = keys.len();
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = count.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let lo = from + t * chunk;
                    let hi = (from + (t + 1) * chunk).min(from + count);
                    (lo..hi)
                        .map(|i| {
                            let sender = i % n;
                            UnsignedTx {
                                to: keys[(sender + 1) % n].1,
                                value: 1,
                                token: 0,
                                gas_limit: GAS_LIMIT,
                                gas_price: GAS_PRICE,
                                nonce: (i / n) as u64,
                                data: vec![],
                            }
                            .sign(&keys[sender].0)
                            .expect("sign")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("signer thread"))
            .collect()
    })
}

/// Submits `raws` at `rate` per second (in 10 ms steps); returns the submit time of every
/// `sample`-th transaction with its hash.
fn offer(
    handle: &SequencerHandle,
    raws: Vec<Vec<u8>>,
    rate: u64,
    sample: usize,
) -> anyhow::Result<Vec<(B256, Instant)>> {
    let start = Instant::now();
    let mut samples = Vec::new();
    for (i, raw) in raws.into_iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        let now = Instant::now();
        if due > now + Duration::from_millis(10) {
            std::thread::sleep(due - now);
        }
        let at = Instant::now();
        let hash = loop {
            match handle.submit_raw(raw.clone()) {
                Ok(h) => break h,
                Err(SubmitError::QueueFull { .. }) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => bail!("transfer {i} refused: {e}"),
            }
        };
        if i % sample == 0 {
            samples.push((hash, at));
        }
    }
    Ok(samples)
}

/// When this process first saw each L1 block (polled every 20 ms).
fn watch_blocks(l1: DynProvider) -> Arc<Mutex<BTreeMap<u64, Instant>>> {
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            if let Ok(n) = l1.get_block_number().await {
                s.lock()
                    .expect("block map")
                    .entry(n)
                    .or_insert_with(Instant::now);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    seen
}

/// Batch number → (L1 block, op count) of every `BatchSubmitted` in `from..=to`.
async fn submitted(
    l1: &DynProvider,
    rollup: Address,
    from: u64,
    to: u64,
) -> anyhow::Result<BTreeMap<u64, (u64, u64)>> {
    let mut out = BTreeMap::new();
    let rollup = GhostPlaneRollup::new(rollup, l1);
    let mut lo = from;
    while lo <= to {
        let hi = to.min(lo + 999);
        for (e, log) in rollup
            .BatchSubmitted_filter()
            .from_block(lo)
            .to_block(hi)
            .query()
            .await?
        {
            // The event has no op count: the header in the transaction's calldata does.
            let tx = l1
                .get_transaction_by_hash(log.transaction_hash.context("log tx")?)
                .await?
                .context("batch transaction")?;
            let call = abi::IGhostPlaneRollup::submitBatchCall::abi_decode(
                alloy::consensus::Transaction::input(&tx),
            )?;
            out.insert(
                e.number,
                (
                    log.block_number.context("log block")?,
                    u64::from(call.header.opCount),
                ),
            );
        }
        lo = hi + 1;
    }
    Ok(out)
}

async fn timestamp(l1: &DynProvider, block: u64) -> anyhow::Result<u64> {
    Ok(l1
        .get_block_by_number(block.into())
        .await?
        .context("block")?
        .header
        .timestamp)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if std::env::var_os("RUST_LOG").is_some() {
        ghostbridge_agent::runtime::init_tracing(false);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("repo root")?
        .to_path_buf();
    let dir = root
        .join("deployments")
        .join(format!("l2-settle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&args, &root, &dir).await;
    if result.is_ok() {
        std::fs::remove_dir_all(&dir)?;
    } else {
        eprintln!("# kept {} for its logs", dir.display());
    }
    result
}

async fn run(args: &Args, root: &std::path::Path, dir: &std::path::Path) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{}", args.port);
    let _anvil = devnet::start_anvil(root, args.port, 31_337, 1, &dir.join("anvil.log")).await?;
    let out = dir.join("ghostplane.json");
    devnet::forge_script(
        root,
        "script/DeployGhostPlane.s.sol:DeployGhostPlane",
        &url,
        &[
            ("DEPLOY_OUT", out.display().to_string()),
            ("GHOSTPLANE_TOKEN_4", Address::ZERO.to_string()),
            ("GHOSTPLANE_CHALLENGE_WINDOW", "3600".into()),
        ],
    )
    .await?;
    let d = Deployment::load(&out)?;
    let deployer = wallet(&url, DEPLOYER_KEY)?;
    let user = wallet(&url, USER_KEY)?;
    let user_address = USER_KEY.parse::<PrivateKeySigner>()?.address();
    let ok = |r: alloy::rpc::types::TransactionReceipt| -> anyhow::Result<()> {
        ensure!(r.status(), "L1 transaction {} reverted", r.transaction_hash);
        Ok(())
    };
    ok(GhostPlaneRollup::new(d.rollup, &deployer)
        .bond()
        .value(U256::from(ETHER))
        .send()
        .await?
        .get_receipt()
        .await?)?;
    let gcc = d.tokens[0];
    ok(Erc20::new(gcc, &deployer)
        .mint(user_address, U256::from(100_000_000 * ETHER))
        .send()
        .await?
        .get_receipt()
        .await?)?;
    ok(Erc20::new(gcc, &user)
        .approve(d.portal, U256::MAX)
        .send()
        .await?
        .get_receipt()
        .await?)?;

    let blob_max = deployer
        .raw_request::<_, serde_json::Value>("eth_config".into(), ())
        .await?["current"]["blobSchedule"]["max"]
        .as_u64()
        .context("eth_config: blobSchedule.max")?;
    let node = node::start(NodeConfig {
        l1_rpc: url.clone(),
        deployment: d.clone(),
        proposer: DEPLOYER_KEY.parse()?,
        mode: DataMode::Blobs,
        confirmations: 1,
        rpc_addr: "127.0.0.1:0".parse()?,
        rpc_limits: ListenerLimits::default(),
        engine: EngineConfig {
            batch_transactions_max: args.batch_max_ops,
            ..EngineConfig::default()
        },
        sequencer: SequencerConfig {
            batch_size: args.batch_max_ops as usize,
            batch_timeout: Duration::from_millis(args.batch_timeout_ms),
            ..SequencerConfig::default()
        },
        journal: dir.join("l2node.journal"),
        max_in_flight: args.max_in_flight,
    })
    .await?;
    let handle = node.handle.clone();
    let seen = watch_blocks(deployer.clone());
    let portal = GhostPlanePortal::new(d.portal, &user);

    // Senders: one portal deposit each (sent together, the nonce filler numbering them).
    let t = Instant::now();
    let keys: Vec<(SigningKey, Address)> = (0..args.senders as u64)
        .map(|i| {
            let k = test_key(i);
            let a = address_of(k.verifying_key());
            (k, a)
        })
        .collect();
    let latency_n = (args.latency_rate * args.latency_seconds) as usize;
    let load_n = (args.rate * args.seconds) as usize;
    let per_sender = (latency_n + load_n).div_ceil(args.senders) as u128 + 1;
    let funding = per_sender * u128::from(GAS_LIMIT) * u128::from(GAS_PRICE) * 2;
    let mut pending = Vec::new();
    for (_, a) in &keys {
        pending.push(portal.deposit(gcc, U256::from(funding), *a).send().await?);
    }
    for p in pending {
        ok(p.get_receipt().await?)?;
    }
    let funded = handle.deposit_cursor();
    let presigned = tokio::task::spawn_blocking({
        let keys = keys.clone();
        move || presign(&keys, 0, latency_n + load_n)
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while handle.deposit_cursor() < args.senders as u64 {
        ensure!(Instant::now() < deadline, "sender deposits not applied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "# {} senders funded on L2 in {:.1} s ({funded} applied before the last receipt)",
        args.senders,
        t.elapsed().as_secs_f64()
    );

    // 1. deposit → spendable.
    let mut deposit_s = Vec::new();
    for i in 0..args.deposits {
        let who = Address::with_last_byte(0xd0 + i as u8);
        let tx = *portal
            .deposit(gcc, U256::from(ETHER), who)
            .send()
            .await?
            .tx_hash();
        // Polled every 10 ms: the deposit counts from when its receipt is first readable.
        let sent = Instant::now();
        let r = loop {
            if let Some(r) = deployer.get_transaction_receipt(tx).await? {
                break r;
            }
            ensure!(
                sent.elapsed() < Duration::from_secs(30),
                "deposit not mined"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let mined = Instant::now();
        ok(r)?;
        while handle
            .account(who)?
            .is_none_or(|a| a.balances.first().copied().unwrap_or(0) == 0)
        {
            ensure!(
                mined.elapsed() < Duration::from_secs(30),
                "deposit not applied"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        deposit_s.push(mined.elapsed().as_secs_f64());
    }
    deposit_s.sort_by(f64::total_cmp);
    eprintln!("# deposit → spendable (s): {deposit_s:?}");

    let t = Instant::now();
    let mut raws = presigned.await?;
    eprintln!(
        "# pre-signed {} transfers ({:.1} s after funding)",
        raws.len(),
        t.elapsed().as_secs_f64()
    );
    let load = raws.split_off(latency_n);

    // 2. transaction → committed on L1, at a moderate load.
    let h = handle.clone();
    let rate = args.latency_rate;
    let samples = tokio::task::spawn_blocking(move || offer(&h, raws, rate, 50)).await??;
    let l1_tip_wait = Instant::now() + Duration::from_secs(60);
    let last_batch = loop {
        let hash = samples.last().context("samples")?.0;
        if let Some(Receipt::Applied { batch_number, .. }) = handle.receipt(&hash) {
            break batch_number;
        }
        ensure!(Instant::now() < l1_tip_wait, "latency phase not applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let rollup = GhostPlaneRollup::new(d.rollup, &deployer);
    while rollup.tip().call().await? < last_batch {
        ensure!(Instant::now() < l1_tip_wait, "latency phase not on L1");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut sample_batches = Vec::new();
    for (hash, at) in &samples {
        let Some(Receipt::Applied { batch_number, .. }) = handle.receipt(hash) else {
            bail!("sample {hash} not applied");
        };
        sample_batches.push((batch_number, *at));
    }
    // The events up to the head; read again (a few times) if a batch is not among them yet.
    let mut batches = BTreeMap::new();
    for attempt in 0.. {
        let head = deployer.get_block_number().await?;
        batches = submitted(&deployer, d.rollup, d.deploy_block, head).await?;
        let missing: Vec<u64> = sample_batches
            .iter()
            .map(|(b, _)| *b)
            .filter(|b| !batches.contains_key(b))
            .collect();
        if missing.is_empty() {
            break;
        }
        ensure!(
            attempt < 10,
            "batches {missing:?} have no BatchSubmitted up to block {head} (tip {}, {} events)",
            rollup.tip().call().await?,
            batches.len()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut commit_s = Vec::new();
    {
        let seen = seen.lock().expect("block map");
        for (batch_number, at) in &sample_batches {
            let (block, _) = batches.get(batch_number).context("batch not on L1")?;
            let Some(first_seen) = seen.get(block) else {
                bail!("block {block} never seen");
            };
            commit_s.push(first_seen.duration_since(*at).as_secs_f64());
        }
    }
    commit_s.sort_by(f64::total_cmp);

    // 3. settled throughput above the DA bound.
    let b0 = deployer.get_block_number().await?;
    let h = handle.clone();
    let rate = args.rate;
    let offered = tokio::spawn(async move {
        tokio::task::spawn_blocking(move || offer(&h, load, rate, usize::MAX)).await
    });
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let b1 = deployer.get_block_number().await?;
    // Count only what landed while the load ran: the blocks after b0 up to b1.
    let landed = submitted(&deployer, d.rollup, b0 + 1, b1).await?;
    let ops: u64 = landed.values().map(|(_, n)| n).sum();
    let seconds = (timestamp(&deployer, b1).await? - timestamp(&deployer, b0).await?) as f64;
    let blocks = (b1 - b0) as f64;
    let block_time = seconds / blocks;
    let mut blobs_per_block = 0u64;
    for b in (b0 + 1)..=b1 {
        let block = deployer
            .get_block_by_number(b.into())
            .await?
            .context("block")?;
        blobs_per_block += block.header.blob_gas_used.unwrap_or(0) / (1 << 17);
    }
    offered.abort();
    let settled = ops as f64 / seconds;
    let bound = blob_max as f64 * RECORDS_PER_BLOB as f64 / block_time;
    eprintln!(
        "# {ops} ops in {} batches over {blocks} L1 blocks ({seconds} s); {:.2} blobs/block of {blob_max}; poster failures {}",
        landed.len(),
        blobs_per_block as f64 / blocks,
        node.poster.failed_attempts()
    );

    figure(
        "deposit_to_spendable_p50",
        percentile(&deposit_s, 0.5),
        "s",
        2,
    );
    figure("tx_to_l1_commit_p50", percentile(&commit_s, 0.5), "s", 2);
    figure("tx_to_l1_commit_p99", percentile(&commit_s, 0.99), "s", 2);
    figure("settled_tps", settled, "tx/s", 0);
    figure("da_bound_tps", bound, "tx/s", 0);
    figure("settled_over_bound", settled / bound, "x", 3);
    figure(
        "blobs_per_block",
        blobs_per_block as f64 / blocks,
        "blobs",
        2,
    );
    Ok(())
}
