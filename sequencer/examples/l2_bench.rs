//! Benchmarks of the GhostPlane sequencer through its public API (real engine, real signatures,
//! real JSON-RPC over loopback HTTP):
//! `cargo run --release -p ghostbridge-sequencer --example l2_bench -- [--only PHASE] [options]`
//! (`script/l2-bench.sh` runs every phase 3 times, each in its own process, and prints medians).
//!
//! Phases (`--only tps|latency|restart|rss`, all by default):
//! - `tps`: pre-signed transfers from many senders through `gp_sendRawTransaction` JSON-RPC batches
//!   (several keep-alive clients), then the same transfers through `SequencerHandle::submit_raw`
//!   on a fresh sequencer; a transfer counts once its batch is sealed (receipt applied).
//! - `latency`: single transfers at a fixed rate over the RPC, journal on (a receipt is durable),
//!   submit → receipt `applied` as seen by polling `gp_getReceipt`.
//! - `restart`: a journal of N past transfers, then the time a new engine plus `spawn_journaled`
//!   take to rebuild the state (the latest header must be the one before).
//! - `rss`: VmRSS with 1,000,000 funded accounts, sampled every second under a trickle of transfers.
//!
//! Stdout holds only figures, one per line, `name: value unit`; progress goes to stderr.
//! Sealed batches go to a sink that only counts them: `InMemorySink` keeps every batch (raw
//! transactions and records), which would measure the harness's memory and not the sequencer's.
// A benchmark driver: a failed step aborts loudly, and its counters stay far from overflow.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    missing_docs,
    unreachable_pub
)]

fn main() -> anyhow::Result<()> {
    bench::main()
}

mod bench {
    use alloy_primitives::{keccak256, Address, B256};
    use anyhow::{bail, ensure, Context};
    use clap::{Parser, ValueEnum};
    use ghostbridge_core::config::ListenerLimits;
    use ghostbridge_sequencer::{
        engine::{Engine, EngineConfig},
        rpc,
        sequencer::{
            spawn, spawn_journaled, Receipt, SealedBatch, SequencerConfig, SequencerHandle,
            SettlementSink, SinkError, SubmitError,
        },
        tx::{address_of, test_key, UnsignedTx},
    };
    use k256::ecdsa::SigningKey;
    use rayon::prelude::*;
    use serde_json::Value;
    use std::{
        fmt::Write as _,
        net::SocketAddr,
        path::PathBuf,
        sync::{
            atomic::{AtomicBool, AtomicU64, Ordering},
            Arc,
        },
        time::{Duration, Instant},
    };
    use tokio::{
        io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
        net::TcpStream,
    };

    /// `EngineConfig::default().base_fee`; `GAS_LIMIT * GAS_PRICE` must reach it.
    const FEE: u128 = 1_000_000_000_000_000;
    const GAS_LIMIT: u64 = 21_000;
    const GAS_PRICE: u64 = 50_000_000_000;
    /// Deposits per sealed funding batch: below the engine's 8,190 ops per batch.
    const FUND_CHUNK: usize = 8_000;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
    enum Phase {
        Tps,
        Latency,
        Restart,
        Rss,
    }

    #[derive(Debug, Parser)]
    #[command(about = "GhostPlane sequencer benchmarks (figures on stdout as `name: value unit`)")]
    struct Args {
        /// Run one phase only (the script runs each in its own process, so RSS starts clean).
        #[arg(long, value_enum)]
        only: Option<Phase>,
        /// Transfers of the TPS phase.
        #[arg(long, default_value_t = 200_000)]
        tps_transactions: usize,
        /// Funded senders of the TPS phase (each sends consecutive nonces).
        #[arg(long, default_value_t = 4_000)]
        tps_senders: usize,
        /// Concurrent RPC clients (each owns a disjoint set of senders).
        #[arg(long, default_value_t = 4)]
        rpc_clients: usize,
        /// Transactions per JSON-RPC batch request (at most `rpc::BATCH_MAX`).
        #[arg(long, default_value_t = 1_000)]
        rpc_batch: usize,
        /// Batch timeout of the TPS, restart and RSS phases.
        #[arg(long, default_value_t = 200)]
        batch_timeout_ms: u64,
        /// Transfers of the latency phase.
        #[arg(long, default_value_t = 500)]
        latency_transactions: usize,
        /// Transfers per second of the latency phase.
        #[arg(long, default_value_t = 100)]
        latency_rate: u64,
        /// Batch timeout of the latency phase.
        #[arg(long, default_value_t = 20)]
        latency_batch_timeout_ms: u64,
        /// Past transfers in the journal of the restart phase.
        #[arg(long, default_value_t = 1_000_000)]
        restart_transactions: usize,
        /// Senders of the restart phase.
        #[arg(long, default_value_t = 10_000)]
        restart_senders: usize,
        /// Funded accounts of the RSS phase.
        #[arg(long, default_value_t = 1_000_000)]
        rss_accounts: usize,
        /// How long RSS is sampled (once a second) under the trickle.
        #[arg(long, default_value_t = 60)]
        rss_seconds: u64,
        /// Transfers per second of the RSS phase's trickle.
        #[arg(long, default_value_t = 200)]
        rss_trickle_rate: u64,
        /// Directory for the journals (default: the system temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    }

    pub fn main() -> anyhow::Result<()> {
        let args = Args::parse();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        eprintln!(
            "# l2_bench: {} cores, rayon {} threads",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            rayon::current_num_threads()
        );
        // RSS first: a phase run after another would inherit its heap.
        let phases = [Phase::Rss, Phase::Tps, Phase::Latency, Phase::Restart];
        for phase in phases {
            if args.only.is_some_and(|only| only != phase) {
                continue;
            }
            eprintln!("# phase {phase:?}");
            runtime.block_on(async {
                match phase {
                    Phase::Tps => tps(&args).await,
                    Phase::Latency => latency(&args).await,
                    Phase::Restart => restart(&args).await,
                    Phase::Rss => rss(&args).await,
                }
            })?;
        }
        Ok(())
    }

    fn figure(name: &str, value: f64, unit: &str, decimals: usize) {
        println!("{name}: {value:.decimals$} {unit}");
    }

    /// Sink that keeps counts and the last header only (bounded memory, no clones).
    #[derive(Default)]
    struct CountingSink {
        batches: AtomicU64,
        transactions: AtomicU64,
    }

    impl CountingSink {
        fn transactions(&self) -> u64 {
            self.transactions.load(Ordering::Acquire)
        }
    }

    impl SettlementSink for CountingSink {
        fn settle(&self, batch: SealedBatch) -> Result<(), SinkError> {
            self.batches.fetch_add(1, Ordering::Relaxed);
            self.transactions
                .fetch_add(u64::from(batch.header.transaction_count), Ordering::Release);
            Ok(())
        }
    }

    fn engine() -> Engine {
        Engine::new(EngineConfig::default()).expect("engine")
    }

    fn config(timeout_ms: u64) -> SequencerConfig {
        SequencerConfig {
            batch_timeout: Duration::from_millis(timeout_ms),
            ..SequencerConfig::default()
        }
    }

    fn keys(n: usize) -> Vec<(SigningKey, Address)> {
        (0..n as u64)
            .into_par_iter()
            .map(|i| {
                let key = test_key(i);
                let address = address_of(key.verifying_key());
                (key, address)
            })
            .collect()
    }

    fn sign(key: &SigningKey, to: Address, nonce: u64) -> Vec<u8> {
        UnsignedTx {
            to,
            value: 1,
            token: 0,
            gas_limit: GAS_LIMIT,
            gas_price: GAS_PRICE,
            nonce,
            data: vec![],
        }
        .sign(key)
        .expect("sign")
    }

    /// Transfer `i` of a round-major schedule: sender `i % senders`, nonce `i / senders`, to the
    /// next sender (so the ledger holds only the senders).
    fn presign(keys: &[(SigningKey, Address)], n: usize) -> Vec<Vec<u8>> {
        let senders = keys.len();
        (0..n)
            .into_par_iter()
            .map(|i| {
                let s = i % senders;
                sign(&keys[s].0, keys[(s + 1) % senders].1, (i / senders) as u64)
            })
            .collect()
    }

    /// Funds `accounts` with GCC. `SequencerHandle::deposit` never wakes the batching task and
    /// the open batch holds at most 8,190 ops, so this uses `deposit_l1` at the deposit cursor
    /// (the same dev deposit, plus the wake-up) and waits for each chunk's seal.
    fn fund(handle: &SequencerHandle, accounts: &[Address], amount: u128) -> anyhow::Result<()> {
        for chunk in accounts.chunks(FUND_CHUNK) {
            for account in chunk {
                handle.deposit_l1(handle.deposit_cursor(), Address::ZERO, *account, 0, amount)?;
            }
            let target = handle.deposit_cursor();
            let deadline = Instant::now() + Duration::from_secs(60);
            while handle.latest_batch().map_or(0, |h| h.deposit_cursor) < target {
                ensure!(Instant::now() < deadline, "deposits not sealed after 60 s");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Ok(())
    }

    /// Queues every raw transaction in order, waiting while the queue is full.
    fn submit_all(handle: &SequencerHandle, raws: Vec<Vec<u8>>) -> anyhow::Result<u64> {
        let mut full = 0u64;
        for raw in raws {
            loop {
                match handle.submit_raw(raw.clone()) {
                    Ok(_) => break,
                    Err(SubmitError::QueueFull { .. }) => {
                        full += 1;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => bail!("submit refused: {e}"),
                }
            }
        }
        Ok(full)
    }

    /// Waits until the sink counted `target` applied transactions; fails after 60 s without
    /// progress (a rejected transaction never reaches the sink).
    async fn wait_applied(sink: &CountingSink, target: u64) -> anyhow::Result<()> {
        let mut last = sink.transactions();
        let mut stalled = Instant::now();
        while last < target {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let now = sink.transactions();
            if now != last {
                last = now;
                stalled = Instant::now();
            }
            ensure!(
                stalled.elapsed() < Duration::from_secs(60),
                "stalled at {last}/{target} applied transactions"
            );
        }
        Ok(())
    }

    /// A minimal HTTP/1.1 keep-alive JSON client (the listener answers with Content-Length).
    struct Client {
        addr: SocketAddr,
        conn: BufReader<TcpStream>,
        line: String,
    }

    impl Client {
        async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(Self {
                addr,
                conn: BufReader::new(stream),
                line: String::new(),
            })
        }

        async fn post(&mut self, body: &str) -> anyhow::Result<String> {
            let mut request = format!(
                "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                self.addr,
                body.len()
            )
            .into_bytes();
            request.extend_from_slice(body.as_bytes());
            self.conn.get_mut().write_all(&request).await?;
            self.line.clear();
            self.conn.read_line(&mut self.line).await?;
            ensure!(
                self.line.starts_with("HTTP/1.1 200"),
                "HTTP status {:?}",
                self.line
            );
            let mut len = None;
            loop {
                self.line.clear();
                self.conn.read_line(&mut self.line).await?;
                let header = self.line.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((k, v)) = header.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = Some(v.trim().parse::<usize>()?);
                    }
                }
            }
            let mut body = vec![0; len.context("response without Content-Length")?];
            self.conn.read_exact(&mut body).await?;
            Ok(String::from_utf8(body)?)
        }
    }

    /// A JSON-RPC batch of one call per item, each with its index as id.
    fn rpc_batch(method: &str, items: &[usize], param: impl Fn(usize) -> String) -> String {
        let mut body = String::with_capacity(items.len() * 360);
        body.push('[');
        for (k, &i) in items.iter().enumerate() {
            if k > 0 {
                body.push(',');
            }
            write!(
                body,
                r#"{{"jsonrpc":"2.0","id":{i},"method":"{method}","params":["{}"]}}"#,
                param(i)
            )
            .expect("write to String");
        }
        body.push(']');
        body
    }

    fn raw_hex(raw: &[u8]) -> String {
        format!("0x{}", hex::encode(raw))
    }

    /// Sends `requests` in order over one connection; items refused as retryable (queue full)
    /// are sent again before the next request, so each sender's nonces arrive in order.
    async fn rpc_client(
        addr: SocketAddr,
        raws: Arc<Vec<Vec<u8>>>,
        requests: Vec<(Vec<usize>, String)>,
    ) -> anyhow::Result<u64> {
        let mut client = Client::connect(addr).await?;
        let mut retried = 0u64;
        for (items, mut body) in requests {
            // Backs off while the queue is full: resending at once only burns the cores the
            // sequencer needs to drain it.
            let mut backoff = Duration::from_millis(10);
            loop {
                let answer = client.post(&body).await?;
                // Fast path: nothing refused (the client must not eat the cores it measures).
                if !answer.contains("\"error\"") {
                    break;
                }
                let answers: Value = serde_json::from_str(&answer)?;
                let answers = answers
                    .as_array()
                    .with_context(|| format!("batch refused: {answer}"))?;
                let mut again = Vec::new();
                for a in answers {
                    if let Some(e) = a.get("error") {
                        ensure!(
                            e["data"]["retryable"] == Value::Bool(true),
                            "transaction {} refused: {e}",
                            a["id"]
                        );
                        again.push(a["id"].as_u64().context("id")? as usize);
                    }
                }
                ensure!(again.len() <= items.len(), "more answers than requests");
                retried += again.len() as u64;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(160));
                body = rpc_batch("gp_sendRawTransaction", &again, |i| raw_hex(&raws[i]));
            }
        }
        Ok(retried)
    }

    async fn tps(args: &Args) -> anyhow::Result<()> {
        let n = args.tps_transactions;
        let senders = args.tps_senders;
        let clients = args.rpc_clients;
        ensure!(
            senders >= clients && args.rpc_batch >= 1 && args.rpc_batch <= rpc::BATCH_MAX,
            "need senders >= clients and 1 <= rpc-batch <= {}",
            rpc::BATCH_MAX
        );
        let t = Instant::now();
        let keys = keys(senders);
        let raws = Arc::new(presign(&keys, n));
        let addresses: Vec<Address> = keys.iter().map(|k| k.1).collect();
        let hashes: Vec<B256> = raws.par_iter().map(keccak256).collect();
        eprintln!(
            "# pre-signed {n} transfers in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let nonces = n.div_ceil(senders) as u128;
        let funding = (nonces + 1) * 2 * FEE;

        // RPC path. Each client owns the senders `s % clients == c`; a request holds one round
        // (one nonce) of some of them, so no request holds two transactions of a sender.
        let sink = Arc::new(CountingSink::default());
        let (handle, task) = spawn(engine(), config(args.batch_timeout_ms), sink.clone());
        let h = handle.clone();
        tokio::task::spawn_blocking(move || fund(&h, &addresses, funding)).await??;
        let limits = ListenerLimits {
            // 1,000 transactions are ~350 KB of JSON, past the 256 KiB default.
            max_body_bytes: 4 << 20,
            ..ListenerLimits::default()
        };
        let (addr, server) = rpc::start("127.0.0.1:0".parse()?, handle.clone(), limits).await?;
        let mut plans: Vec<Vec<(Vec<usize>, String)>> = vec![Vec::new(); clients];
        for (c, plan) in plans.iter_mut().enumerate() {
            for round in 0..n.div_ceil(senders) {
                let items: Vec<usize> = (c..senders)
                    .step_by(clients)
                    .map(|s| round * senders + s)
                    .filter(|&i| i < n)
                    .collect();
                for chunk in items.chunks(args.rpc_batch) {
                    let body = rpc_batch("gp_sendRawTransaction", chunk, |i| raw_hex(&raws[i]));
                    plan.push((chunk.to_vec(), body));
                }
            }
        }
        let start = Instant::now();
        let tasks: Vec<_> = plans
            .into_iter()
            .map(|plan| tokio::spawn(rpc_client(addr, raws.clone(), plan)))
            .collect();
        let mut retried = 0;
        for t in tasks {
            retried += t.await??;
        }
        let sent = start.elapsed();
        wait_applied(&sink, n as u64).await?;
        let rpc_elapsed = start.elapsed();
        let rpc_tps = n as f64 / rpc_elapsed.as_secs_f64();
        eprintln!(
            "# rpc: all sent after {:.2} s ({retried} queue-full retries), all applied after {:.2} s, {} batches",
            sent.as_secs_f64(),
            rpc_elapsed.as_secs_f64(),
            sink.batches.load(Ordering::Relaxed)
        );
        // Every receipt must read `applied` over the RPC too (not timed).
        let mut client = Client::connect(addr).await?;
        let all: Vec<usize> = (0..n).collect();
        let mut applied = 0;
        for chunk in all.chunks(rpc::BATCH_MAX) {
            let answer = client
                .post(&rpc_batch("gp_getReceipt", chunk, |i| {
                    hashes[i].to_string()
                }))
                .await?;
            applied += answer.matches(r#""status":"applied""#).count();
        }
        ensure!(
            applied == n,
            "{applied} of {n} receipts applied over the RPC"
        );
        // Connection tasks hold handle clones until their client leaves; then the task can end.
        drop(client);
        server.abort();
        drop(handle);
        task.await?;

        // Engine path: the same transactions on a fresh sequencer, in-process.
        let sink = Arc::new(CountingSink::default());
        let (handle, task) = spawn(engine(), config(args.batch_timeout_ms), sink.clone());
        let h = handle.clone();
        let addresses: Vec<Address> = keys.iter().map(|k| k.1).collect();
        tokio::task::spawn_blocking(move || fund(&h, &addresses, funding)).await??;
        let copies: Vec<Vec<u8>> = (*raws).clone();
        let start = Instant::now();
        let h = handle.clone();
        let full = tokio::task::spawn_blocking(move || submit_all(&h, copies)).await??;
        wait_applied(&sink, n as u64).await?;
        let engine_elapsed = start.elapsed();
        let engine_tps = n as f64 / engine_elapsed.as_secs_f64();
        eprintln!(
            "# engine path: all applied after {:.2} s ({full} queue-full waits)",
            engine_elapsed.as_secs_f64()
        );
        ensure!(
            hashes
                .iter()
                .all(|h| matches!(handle.receipt(h), Some(Receipt::Applied { .. }))),
            "engine path: a receipt is not applied"
        );
        drop(handle);
        task.await?;

        figure("rpc_tps", rpc_tps, "tx/s", 0);
        figure("engine_path_tps", engine_tps, "tx/s", 0);
        figure("rpc_engine_ratio", rpc_tps / engine_tps, "x", 3);
        Ok(())
    }

    async fn latency(args: &Args) -> anyhow::Result<()> {
        let n = args.latency_transactions;
        let dir = work_dir(args, "latency")?;
        let journal = dir.join("journal");
        let sink = Arc::new(CountingSink::default());
        let (handle, task) = spawn_journaled(
            engine(),
            config(args.latency_batch_timeout_ms),
            sink.clone(),
            &journal,
            |_| {},
        )?;
        // One transfer per sender: no transfer waits on another's nonce.
        let keys = keys(n + 1);
        let raws: Vec<Vec<u8>> = (0..n).map(|i| sign(&keys[i].0, keys[i + 1].1, 0)).collect();
        let h = handle.clone();
        let addresses: Vec<Address> = keys.iter().map(|k| k.1).collect();
        tokio::task::spawn_blocking(move || fund(&h, &addresses, 10 * FEE)).await??;
        let (addr, server) = rpc::start(
            "127.0.0.1:0".parse()?,
            handle.clone(),
            ListenerLimits::default(),
        )
        .await?;

        // Open loop: one transfer every 1/rate s whatever the earlier ones are doing.
        let mut ticker =
            tokio::time::interval(Duration::from_micros(1_000_000 / args.latency_rate.max(1)));
        let mut tasks = Vec::with_capacity(n);
        for raw in raws {
            ticker.tick().await;
            tasks.push(tokio::spawn(async move {
                let mut client = Client::connect(addr).await?;
                let send = format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"gp_sendRawTransaction","params":["{}"]}}"#,
                    raw_hex(&raw)
                );
                let get = format!(
                    r#"{{"jsonrpc":"2.0","id":2,"method":"gp_getReceipt","params":["{}"]}}"#,
                    keccak256(&raw)
                );
                let start = Instant::now();
                let sent = client.post(&send).await?;
                ensure!(!sent.contains("\"error\""), "send refused: {sent}");
                loop {
                    let receipt = client.post(&get).await?;
                    if receipt.contains(r#""status":"applied""#) {
                        return Ok::<_, anyhow::Error>(start.elapsed());
                    }
                    ensure!(!receipt.contains("rejected"), "rejected: {receipt}");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }));
        }
        let mut ms = Vec::with_capacity(n);
        for t in tasks {
            ms.push(t.await??.as_secs_f64() * 1e3);
        }
        server.abort();
        drop(handle);
        task.await?;
        std::fs::remove_dir_all(&dir)?;
        ms.sort_by(f64::total_cmp);
        eprintln!(
            "# latency: {n} transfers at {}/s, batch timeout {} ms, journal on",
            args.latency_rate, args.latency_batch_timeout_ms
        );
        figure("latency_p50", percentile(&ms, 0.50), "ms", 1);
        figure("latency_p99", percentile(&ms, 0.99), "ms", 1);
        figure("latency_max", ms.last().copied().unwrap_or(0.0), "ms", 1);
        Ok(())
    }

    /// Nearest-rank percentile of sorted values.
    fn percentile(sorted: &[f64], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = (p * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    fn work_dir(args: &Args, phase: &str) -> anyhow::Result<PathBuf> {
        let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("l2_bench_{}_{phase}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    async fn restart(args: &Args) -> anyhow::Result<()> {
        let n = args.restart_transactions;
        let dir = work_dir(args, "restart")?;
        let journal = dir.join("journal");
        let t = Instant::now();
        let keys = keys(args.restart_senders);
        let raws = presign(&keys, n);
        eprintln!(
            "# pre-signed {n} transfers in {:.1} s",
            t.elapsed().as_secs_f64()
        );

        let sink = Arc::new(CountingSink::default());
        let (handle, task) = spawn_journaled(
            engine(),
            config(args.batch_timeout_ms),
            sink.clone(),
            &journal,
            |_| {},
        )?;
        let h = handle.clone();
        let addresses: Vec<Address> = keys.iter().map(|k| k.1).collect();
        let funding = (n.div_ceil(keys.len()) as u128 + 1) * 2 * FEE;
        tokio::task::spawn_blocking(move || fund(&h, &addresses, funding)).await??;
        let start = Instant::now();
        let h = handle.clone();
        tokio::task::spawn_blocking(move || submit_all(&h, raws)).await??;
        wait_applied(&sink, n as u64).await?;
        let build = start.elapsed().as_secs_f64();
        let before = handle.latest_batch().context("no batch sealed")?;
        drop(handle);
        // The task owns the last reference to the journal: wait for it to close the file.
        task.await?;
        let journal_mib = std::fs::metadata(&journal)?.len() as f64 / (1 << 20) as f64;
        eprintln!(
            "# journal of {n} transfers in {} batches built in {build:.1} s ({:.0} tx/s, journaled)",
            before.batch_number,
            n as f64 / build
        );

        let sink = Arc::new(CountingSink::default());
        let path = journal.clone();
        let start = Instant::now();
        let (handle, task, replayed) = tokio::task::spawn_blocking(move || {
            let engine = engine();
            eprintln!("# Engine::new: {:.2} s", start.elapsed().as_secs_f64());
            let mut replayed = 0u64;
            let (handle, task) =
                spawn_journaled(engine, config(200), sink, &path, |_| replayed += 1)?;
            Ok::<_, anyhow::Error>((handle, task, replayed))
        })
        .await??;
        let restart = start.elapsed().as_secs_f64();
        let after = handle.latest_batch().context("nothing replayed")?;
        assert_eq!(after, before, "replayed state is not the state before");
        eprintln!("# restart replayed {replayed} batches; latest header equal");
        drop(handle);
        task.await?;
        std::fs::remove_dir_all(&dir)?;
        figure("restart_build_tps", n as f64 / build, "tx/s", 0);
        figure("restart_seconds", restart, "s", 2);
        figure("restart_journal_size", journal_mib, "MiB", 1);
        Ok(())
    }

    /// VmRSS of this process, in MiB.
    fn rss_mib() -> f64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse().ok())
            .expect("VmRSS line");
        kib / 1024.0
    }

    async fn rss(args: &Args) -> anyhow::Result<()> {
        const TRICKLE_SENDERS: usize = 100;
        let m = args.rss_accounts;
        let capacity = 1usize << EngineConfig::default().accounts_depth;
        ensure!(
            m + TRICKLE_SENDERS < capacity,
            "{m} accounts exceed the state tree ({capacity} slots)"
        );
        let baseline = rss_mib();
        let sink = Arc::new(CountingSink::default());
        let (handle, task) = spawn(engine(), config(args.batch_timeout_ms), sink.clone());
        let with_engine = rss_mib();
        // Distinct, uniformly spread addresses (keys only for the trickle's senders).
        let accounts: Vec<Address> = (0..m as u64)
            .into_par_iter()
            .map(|i| Address::from_word(keccak256(i.to_be_bytes())))
            .collect();
        let keys = keys(TRICKLE_SENDERS);
        let start = Instant::now();
        let h = handle.clone();
        let senders: Vec<Address> = keys.iter().map(|k| k.1).collect();
        // The trickle's recipients: a spread sample, so the harness holds no 1M-entry list.
        let targets: Vec<Address> = tokio::task::spawn_blocking(move || {
            fund(&h, &accounts, FEE)?;
            fund(&h, &senders, 1_000_000 * FEE)?;
            Ok::<_, anyhow::Error>(accounts.iter().step_by(100).copied().collect())
        })
        .await??;
        let setup = start.elapsed().as_secs_f64();
        let count = handle.latest_batch().map_or(0, |h| h.account_count);
        ensure!(count > m as u64, "only {count} accounts after funding {m}");
        eprintln!("# {count} accounts funded in {setup:.1} s");
        let start_rss = rss_mib();

        // The trickle: signed on the fly, to pseudo-random funded accounts.
        let stop = Arc::new(AtomicBool::new(false));
        let trickle = {
            let (handle, stop) = (handle.clone(), stop.clone());
            let period = Duration::from_micros(1_000_000 / args.rss_trickle_rate.max(1));
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(period);
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    ticker.tick().await;
                    let (key, _) = &keys[i % TRICKLE_SENDERS];
                    let to = targets[i.wrapping_mul(7919) % targets.len()];
                    let raw = sign(key, to, (i / TRICKLE_SENDERS) as u64);
                    handle.submit_raw(raw)?;
                    i += 1;
                }
                Ok::<_, anyhow::Error>(i)
            })
        };
        let mut max = start_rss;
        let mut end = start_rss;
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.tick().await;
        for second in 1..=args.rss_seconds {
            ticker.tick().await;
            end = rss_mib();
            max = max.max(end);
            if second % 10 == 0 {
                eprintln!("# rss at {second} s: {end:.1} MiB");
            }
        }
        stop.store(true, Ordering::Relaxed);
        let sent = trickle.await??;
        wait_applied(&sink, sent as u64).await?;
        drop(handle);
        task.await?;
        eprintln!("# trickle: {sent} transfers applied");
        figure("rss_setup_seconds", setup, "s", 1);
        figure("rss_baseline", baseline, "MiB", 1);
        figure("rss_engine_empty", with_engine, "MiB", 1);
        figure("rss_start", start_rss, "MiB", 1);
        figure("rss_max", max, "MiB", 1);
        figure("rss_end", end, "MiB", 1);
        Ok(())
    }
}
