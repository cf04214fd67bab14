//! `ghostbridge load`: pushes N transfers through a fresh devnet and prints throughput, lock→mint
//! latency, gas per delivered transfer (single and batched), peak RSS of each daemon, and the
//! relayer's cold start over a database holding 1,000,000 past messages.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use ghostbridge_agent::chain::scan_logs;
use ghostbridge_core::bindings::minter::BridgeMinter;

use crate::devnet::{Devnet, DevnetOptions, USER_KEY};
use crate::transfer::{self, End, Sent};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len().saturating_sub(1))]
}

/// Waits until every one of `sent` has a `Minted` event on `b` at or after block `from`. Reads
/// only new blocks' logs each poll: checking 10,000 consumed marks one call at a time would add
/// seconds to the very time it measures.
async fn wait_minted(b: &End, from: u64, sent: &[Sent]) -> anyhow::Result<()> {
    let pb = ghostbridge_agent::chain::http_provider(&b.rpc)?;
    let start = Instant::now();
    let mut pending: std::collections::HashSet<B256> = sent.iter().map(|s| s.id).collect();
    let mut next = from;
    while !pending.is_empty() {
        let head = pb.get_block_number().await?;
        if head >= next {
            for l in scan_logs(
                &pb,
                b.deployment.minter,
                &[BridgeMinter::Minted::SIGNATURE_HASH],
                next,
                head,
                1000,
            )
            .await?
            {
                pending.remove(&BridgeMinter::Minted::decode_log_data(l.data())?.messageId);
            }
            next = head.saturating_add(1);
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(600),
            "{} transfers not delivered in 10 minutes",
            pending.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

fn current_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// What one set of transfers cost on the destination.
struct Measured {
    /// Lock block time → mint block time, seconds, sorted.
    latency: Vec<f64>,
    gas_per_transfer: f64,
    /// Transfers minted per destination block, in block order.
    per_block: Vec<usize>,
}

/// Release latency, gas per message and transfers per mint block of `sent`.
async fn measure(a: &End, b: &End, sent: &[Sent]) -> anyhow::Result<Measured> {
    let pa = ghostbridge_agent::chain::http_provider(&a.rpc)?;
    let pb = ghostbridge_agent::chain::http_provider(&b.rpc)?;
    let head = pb.get_block_number().await?;
    let logs = scan_logs(
        &pb,
        b.deployment.minter,
        &[BridgeMinter::Minted::SIGNATURE_HASH],
        b.deployment.deploy_block,
        head,
        1000,
    )
    .await?;
    let mut mint_at = std::collections::HashMap::new();
    let mut txs = std::collections::HashSet::new();
    let mut block_time = std::collections::HashMap::new();
    for l in &logs {
        let id = BridgeMinter::Minted::decode_log_data(l.data())?.messageId;
        let n = l.block_number.unwrap_or_default();
        mint_at.insert(id, n);
        txs.insert((id, l.transaction_hash.unwrap_or_default()));
    }
    let wanted: std::collections::HashSet<B256> = sent.iter().map(|s| s.id).collect();
    let tx_set: std::collections::HashSet<B256> = txs
        .iter()
        .filter(|(id, _)| wanted.contains(id))
        .map(|(_, t)| *t)
        .collect();
    let mut gas = 0u64;
    for t in &tx_set {
        gas = gas.saturating_add(
            pb.get_transaction_receipt(*t)
                .await?
                .map_or(0, |r| r.gas_used),
        );
    }
    let mut lat = Vec::new();
    for s in sent {
        let lock_block = s.receipt.block_number.unwrap_or_default();
        let Some(mint_block) = mint_at.get(&s.id) else {
            continue;
        };
        let lt = match block_time.get(&(0, lock_block)) {
            Some(t) => *t,
            None => {
                let t = pa
                    .get_block_by_number(lock_block.into())
                    .await?
                    .map_or(0, |b| b.header.timestamp);
                block_time.insert((0, lock_block), t);
                t
            }
        };
        let mt = match block_time.get(&(1, *mint_block)) {
            Some(t) => *t,
            None => {
                let t = pb
                    .get_block_by_number((*mint_block).into())
                    .await?
                    .map_or(0, |b| b.header.timestamp);
                block_time.insert((1, *mint_block), t);
                t
            }
        };
        lat.push(mt.saturating_sub(lt) as f64);
    }
    lat.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
    let mut blocks = std::collections::BTreeMap::<u64, usize>::new();
    for s in sent {
        if let Some(n) = mint_at.get(&s.id) {
            let count = blocks.entry(*n).or_default();
            *count = count.saturating_add(1);
        }
    }
    Ok(Measured {
        latency: lat,
        gas_per_transfer: gas as f64 / sent.len().max(1) as f64,
        per_block: blocks.into_values().collect(),
    })
}

/// Runs the benchmark.
pub async fn run(
    mut opts: DevnetOptions,
    count: usize,
    backlog: usize,
    sustain_secs: u64,
    past_messages: u64,
) -> anyhow::Result<()> {
    opts.verbose = true;
    let mut devnet = Devnet::start(opts.clone()).await?;
    let e = |i: usize| End {
        chain_id: devnet.chains[i].chain_id,
        rpc: devnet.chains[i].rpc.clone(),
        deployment: devnet.chains[i].deployment.clone(),
    };
    let (a, b) = (e(0), e(1));
    let key: PrivateKeySigner = USER_KEY.parse()?;
    let gcc = a.deployment.tokens["GCC"];
    let one = U256::from(10u64).pow(U256::from(18u64));

    eprintln!("==> single transfers (5, one at a time)");
    let mut singles = Vec::new();
    for _ in 0..5 {
        let s = transfer::send(
            &a,
            &b,
            transfer::Leg::Lock(gcc),
            one,
            Address::repeat_byte(0xa1),
            &key,
        )
        .await?;
        transfer::follow(&a, &b, &s, Duration::from_secs(60), false).await?;
        singles.push(s);
    }
    let Measured {
        latency: single_lat,
        gas_per_transfer: single_gas,
        ..
    } = measure(&a, &b, &singles).await?;

    eprintln!("==> load: {count} transfers sent back to back");
    let start = Instant::now();
    let sent = transfer::send_many_locks(&a, &b, gcc, one, Address::repeat_byte(0xa2), &key, count)
        .await?;
    let locks_done = start.elapsed();
    let pb = ghostbridge_agent::chain::http_provider(&b.rpc)?;
    let minter = BridgeMinter::new(b.deployment.minter, pb.clone());
    let max_nonce = sent.iter().map(|s| s.nonce).max().unwrap_or(0);
    let min_nonce = sent.iter().map(|s| s.nonce).min().unwrap_or(0);
    loop {
        let mut all = true;
        for n in (min_nonce..=max_nonce)
            .rev()
            .step_by((max_nonce.saturating_sub(min_nonce) / 20).max(1) as usize)
        {
            if !minter.isConsumed(a.chain_id, n).call().await? {
                all = false;
                break;
            }
        }
        if all && minter.isConsumed(a.chain_id, min_nonce).call().await? {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(600),
            "load not delivered in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivered = start.elapsed();
    let Measured {
        latency: lat,
        gas_per_transfer: batch_gas,
        ..
    } = measure(&a, &b, &sent).await?;

    eprintln!("==> delivery throughput: {backlog} transfers locked while the relayer is stopped, then drained");
    devnet.terminate("relayer").await?;
    let queued =
        transfer::send_many_locks(&a, &b, gcc, one, Address::repeat_byte(0xa3), &key, backlog)
            .await?;
    let last_block = queued
        .iter()
        .filter_map(|s| s.receipt.block_number)
        .max()
        .unwrap_or(0);
    let pa = ghostbridge_agent::chain::http_provider(&a.rpc)?;
    // Let the validators admit the backlog first: this phase measures delivery alone.
    while pa.get_block_number().await?
        < last_block
            .saturating_add(opts.confirmations)
            .saturating_add(2)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let from = pb.get_block_number().await?;
    let drain_start = Instant::now();
    devnet.spawn_daemon(
        "relayer",
        "relay",
        &[("GHOSTBRIDGE_RELAYER_KEY", crate::devnet::RELAYER_KEY.into())],
    )?;
    wait_minted(&b, from, &queued).await?;
    let drained = drain_start.elapsed();
    let Measured {
        gas_per_transfer: drain_gas,
        per_block: drain_blocks,
        ..
    } = measure(&a, &b, &queued).await?;
    // Full blocks only: the first and last mint blocks of the drain are partly empty.
    let mut full: Vec<f64> = drain_blocks
        .iter()
        .skip(1)
        .take(drain_blocks.len().saturating_sub(2))
        .map(|n| *n as f64)
        .collect();
    full.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));

    let mut rss_samples: Vec<(String, Vec<f64>)> = Vec::new();
    if sustain_secs > 0 {
        eprintln!("==> sustained load for {sustain_secs} s (50 transfers every 2 s), sampling RSS every 30 s");
        // RSS samples at 0 s, 30 s, 60 s, ... after the start.
        let started = Instant::now();
        let mut samples_taken = 0u32;
        while started.elapsed() < Duration::from_secs(sustain_secs) {
            if started.elapsed() >= Duration::from_secs(30).saturating_mul(samples_taken) {
                for (n, p) in devnet.pids() {
                    let r = current_rss_mb(p).unwrap_or(f64::NAN);
                    match rss_samples.iter_mut().find(|(m, _)| *m == n) {
                        Some((_, v)) => v.push(r),
                        None => rss_samples.push((n, vec![r])),
                    }
                }
                samples_taken = samples_taken.saturating_add(1);
            }
            transfer::send_many_locks(&a, &b, gcc, one, Address::repeat_byte(0xa4), &key, 50)
                .await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    let rss: Vec<(String, f64)> = devnet
        .pids()
        .into_iter()
        .filter_map(|(n, p)| peak_rss_mb(p).map(|r| (n, r)))
        .collect();

    eprintln!("==> relayer cold start over {past_messages} past messages");
    let cold = cold_start(&mut devnet, past_messages).await?;

    println!("\n## GhostBridge load ({count} ERC20 transfers, 1 s blocks, 1 confirmation, 3-of-4 validators)");
    println!("| figure | value |\n|---|---|");
    println!(
        "| locks sent and mined | {:.1} s |",
        locks_done.as_secs_f64()
    );
    println!(
        "| all {count} delivered after the first lock | {:.1} s |",
        delivered.as_secs_f64()
    );
    println!(
        "| delivered throughput (end to end) | {:.0} transfers/s |",
        count as f64 / delivered.as_secs_f64()
    );
    println!(
        "| lock→mint latency, single transfers p50 / p99 | {:.0} s / {:.0} s |",
        percentile(&single_lat, 0.5),
        percentile(&single_lat, 0.99)
    );
    println!(
        "| lock→mint latency under load p50 / p99 | {:.0} s / {:.0} s |",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    println!("| delivery throughput, backlog of {backlog} drained (relayer start → last mint) | {:.0} transfers/s ({:.1} s) |", backlog as f64 / drained.as_secs_f64(), drained.as_secs_f64());
    println!(
        "| backlog: destination blocks carrying its mints | {} ({}) |",
        drain_blocks.len(),
        drain_blocks
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("| backlog: transfers per block between the first and last mint block, median ({} s blocks) | {:.0} |", opts.block_time, percentile(&full, 0.5));
    println!("| gas per delivered transfer, backlog | {drain_gas:.0} |");
    println!("| gas per delivered transfer, single mint | {single_gas:.0} |");
    println!("| gas per delivered transfer, batched | {batch_gas:.0} |");
    for (n, r) in &rss {
        println!("| peak RSS {n} | {r:.0} MB |");
    }
    for (n, v) in &rss_samples {
        println!(
            "| RSS {n} over the sustained load (every 30 s) | {} MB |",
            v.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(" → ")
        );
    }
    println!(
        "| relayer cold start, {past_messages} past messages | {:.2} s |",
        cold.as_secs_f64()
    );
    devnet.stop().await;
    Ok(())
}

/// Fills a fresh SQLite store with `n` confirmed messages, starts a second relayer on it and
/// times spawn → `/health` answering.
async fn cold_start(devnet: &mut Devnet, n: u64) -> anyhow::Result<Duration> {
    let db = devnet.opts.dir.join("cold.db");
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", db.display()));
    }
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let store = ghostbridge_store::Store::open(&url).await?;
    store.migrate().await?;
    let chunk = 10_000u64;
    let mut nonce = 1_000_000u64;
    for _ in 0..n.div_ceil(chunk) {
        let rows: Vec<_> = (0..chunk)
            .map(|_| {
                nonce = nonce.saturating_add(1);
                ghostbridge_store::NewMessage {
                    id: alloy::primitives::keccak256(nonce.to_be_bytes()),
                    src_chain: 1,
                    dst_chain: 2,
                    src_contract: alloy::primitives::Address::ZERO,
                    nonce,
                    encoded: vec![0u8; 288].into(),
                }
            })
            .collect();
        store.insert_seen_batch(&rows).await?;
    }
    if let ghostbridge_store::Store::Sqlite(pool) = &store {
        sqlx_confirm_all(pool).await?;
    }
    store.close().await;
    devnet.edit_config("relayer-2", |c| {
        c.store = Some(ghostbridge_core::config::StoreSection {
            url: url.to_string(),
        })
    })?;
    let start = Instant::now();
    devnet.spawn_daemon(
        "relayer-2",
        "relay",
        &[(
            "GHOSTBRIDGE_RELAYER_KEY",
            crate::devnet::RELAYER2_KEY.into(),
        )],
    )?;
    let url = format!("http://{}/health", devnet.ops_addr("relayer-2"));
    while reqwest::get(&url).await.is_err() {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(120),
            "relayer did not start within 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(start.elapsed())
}

async fn sqlx_confirm_all(pool: &sqlx::SqlitePool) -> anyhow::Result<()> {
    sqlx::query("UPDATE messages SET status = 'confirmed'")
        .execute(pool)
        .await?;
    Ok(())
}
