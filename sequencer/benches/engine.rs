//! Criterion benches of the GhostPlane engine through the FFI and of the full sequencer path.
//!
//! `cargo bench -p ghostbridge-sequencer --bench engine` (short by default: 10 samples, ~2 s
//! measurement per bench). Groups:
//! - `apply_8190`: engine apply, 8190 transfers per batched crossing, no signatures. Every op
//!   updates the state tree and records its post-step state and commitment (ABI v2; the engine
//!   hashes the pending ops' paths together every 1024 ops and at the seal).
//! - `state_root_1m`: sealing (the last pending ops' state roots and commitments + tx root) of an
//!   8190-transfer batch in a ledger of 1,000,000 accounts, and apply + seal.
//! - `sequencer_8190`: full path: raw signed txs → parallel secp256k1 recovery (rayon, all cores)
//!   → ordering → batched execution → seal → sink.
//! - `ffi`: one empty crossing (`ghostplane_version`), one rejected tx per crossing, and per tx
//!   in a batched crossing.
#![allow(missing_docs, clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod benches {
    use alloy_primitives::{keccak256, Address};
    use criterion::{black_box, BenchmarkId, Criterion, SamplingMode, Throughput};
    use ghostbridge_sequencer::{
        engine::{Engine, EngineConfig, Transaction},
        sequencer::{self, InMemorySink, SequencerConfig, SettlementSink},
        tx::{address_of, test_key, UnsignedTx},
        EngineError,
    };
    use rayon::prelude::*;
    use std::{
        sync::Arc,
        time::{Duration, Instant},
    };

    const BATCH: usize = 8190;
    const FEE: u128 = 1_000;

    fn account(i: u64) -> Address {
        let mut b = [0u8; 20];
        b[12..].copy_from_slice(&(i + 1).to_be_bytes());
        Address::from(b)
    }

    fn engine(depth: u32) -> Engine {
        engine_with_max(depth, BATCH as u32)
    }

    /// `ops_max` bounds the ops of a batch (deposits count too).
    fn engine_with_max(depth: u32, ops_max: u32) -> Engine {
        Engine::new(EngineConfig {
            accounts_depth: depth,
            batch_transactions_max: ops_max,
            batch_withdrawals_max: 16,
            base_fee: FEE,
            fee_collector: Address::repeat_byte(0xfe),
        })
        .unwrap()
    }

    /// One transfer from each of `senders` (round `round` => nonce `round`) to a pseudo-random
    /// account among `accounts`.
    fn transfers(senders: &[u64], accounts: u64, round: u64) -> Vec<Transaction> {
        senders
            .iter()
            .map(|&s| {
                let h = keccak256([s.to_be_bytes(), round.to_be_bytes()].concat());
                let to = u64::from_be_bytes(h[..8].try_into().unwrap()) % accounts;
                Transaction {
                    hash: h,
                    from: account(s),
                    to: account(to),
                    value: 1,
                    token: 0,
                    gas_limit: 10,
                    gas_price: 100,
                    nonce: round,
                    data: Vec::new(),
                }
            })
            .collect()
    }

    fn funded(depth: u32, n: u64) -> Engine {
        let mut e = engine(depth);
        for i in 0..n {
            // Deposits are ops of the open batch: seal when it is full.
            if let Err(err) = e.deposit(account(i), 0, 1 << 100) {
                assert!(matches!(err, EngineError::BatchFull { .. }), "{err}");
                e.create_batch().unwrap();
                e.deposit(account(i), 0, 1 << 100).unwrap();
            }
        }
        e.create_batch().unwrap();
        e
    }

    pub(crate) fn apply(c: &mut Criterion) {
        let mut g = c.benchmark_group("apply_8190");
        g.sample_size(10)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_millis(500));
        g.sampling_mode(SamplingMode::Flat);
        g.throughput(Throughput::Elements(BATCH as u64));
        let senders: Vec<u64> = (0..BATCH as u64).collect();
        let mut e = funded(16, BATCH as u64);
        let mut round = 0u64;
        g.bench_function("transfers", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let txs = transfers(&senders, BATCH as u64, round);
                    round += 1;
                    let t = Instant::now();
                    let out = e.submit_transactions(&txs).unwrap();
                    total += t.elapsed();
                    assert!(out.iter().all(Result::is_ok));
                    e.create_batch().unwrap();
                }
                total
            });
        });
        g.finish();
    }

    pub(crate) fn state_root(c: &mut Criterion) {
        let mut g = c.benchmark_group("state_root_1m");
        g.sample_size(10)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_millis(500));
        g.sampling_mode(SamplingMode::Flat);
        const ACCOUNTS: u64 = 1_000_000;
        let t = Instant::now();
        let mut e = funded(20, ACCOUNTS);
        eprintln!(
            "state_root_1m: 1,000,000 deposits (one op each, sealed every 8190) in {:?}",
            t.elapsed()
        );
        let senders: Vec<u64> = (0..BATCH as u64).map(|i| i * 97 % ACCOUNTS).collect();
        let mut round = 0u64;
        g.bench_function("seal_8190_transfers", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let txs = transfers(&senders, ACCOUNTS, round);
                    round += 1;
                    let out = e.submit_transactions(&txs).unwrap();
                    assert!(out.iter().all(Result::is_ok));
                    let t = Instant::now();
                    black_box(e.create_batch().unwrap());
                    total += t.elapsed();
                }
                total
            });
        });
        g.bench_function("apply_and_seal_8190_transfers", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let txs = transfers(&senders, ACCOUNTS, round);
                    round += 1;
                    let t = Instant::now();
                    let out = e.submit_transactions(&txs).unwrap();
                    black_box(e.create_batch().unwrap());
                    total += t.elapsed();
                    assert!(out.iter().all(Result::is_ok));
                }
                total
            });
        });
        g.finish();
    }

    pub(crate) fn full_sequencer(c: &mut Criterion) {
        let mut g = c.benchmark_group("sequencer_8190");
        g.sample_size(10)
            .measurement_time(Duration::from_secs(5))
            .warm_up_time(Duration::from_millis(100));
        g.sampling_mode(SamplingMode::Flat);
        g.throughput(Throughput::Elements(BATCH as u64));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let keys: Vec<_> = (0..BATCH as u64).into_par_iter().map(test_key).collect();
        let addrs: Vec<Address> = keys
            .par_iter()
            .map(|k| address_of(k.verifying_key()))
            .collect();
        let sink = Arc::new(InMemorySink::default());
        let (handle, _task) = rt.block_on(async {
            // Room for the 8190 dev deposits (ops of the first batch) and a full batch of txs.
            sequencer::spawn(
                engine_with_max(16, 2 * BATCH as u32),
                SequencerConfig {
                    batch_size: BATCH,
                    batch_timeout: Duration::from_secs(60),
                    queue_capacity: BATCH * 2,
                    ..SequencerConfig::default()
                },
                sink.clone() as Arc<dyn SettlementSink>,
            )
        });
        for a in &addrs {
            handle.deposit(*a, 0, 1 << 100).unwrap();
        }
        let probe: Vec<_> = keys
            .iter()
            .take(BATCH)
            .map(|k| {
                let raw = UnsignedTx {
                    to: addrs[0],
                    value: 1,
                    token: 0,
                    gas_limit: 10,
                    gas_price: 100,
                    nonce: 0,
                    data: vec![],
                }
                .sign(k)
                .unwrap();
                ghostbridge_sequencer::tx::decode(&raw).unwrap()
            })
            .collect();
        g.bench_function("recover_only_parallel", |b| {
            b.iter(|| {
                probe
                    .par_iter()
                    .map(|d| d.recover().unwrap())
                    .collect::<Vec<_>>()
            })
        });
        g.bench_function("recover_only_one_thread", |b| {
            b.iter(|| {
                probe
                    .iter()
                    .map(|d| d.recover().unwrap())
                    .collect::<Vec<_>>()
            })
        });
        let mut round = 0u64;
        g.bench_function(
            BenchmarkId::new(
                "recover_execute_seal",
                format!("{} rayon threads", rayon::current_num_threads()),
            ),
            |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let raws: Vec<Vec<u8>> = keys
                            .par_iter()
                            .enumerate()
                            .map(|(i, k)| {
                                UnsignedTx {
                                    to: addrs[(i + 1) % BATCH],
                                    value: 1,
                                    token: 0,
                                    gas_limit: 10,
                                    gas_price: 100,
                                    nonce: round,
                                    data: vec![],
                                }
                                .sign(k)
                                .unwrap()
                            })
                            .collect();
                        round += 1;
                        let before = sink.len();
                        let t = Instant::now();
                        for raw in raws {
                            handle.submit_raw(raw).unwrap();
                        }
                        while sink.len() == before {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                        total += t.elapsed();
                        let last = sink.last_header().unwrap();
                        assert_eq!(last.transaction_count as usize, BATCH);
                    }
                    total
                });
            },
        );
        g.finish();
    }

    pub(crate) fn ffi(c: &mut Criterion) {
        let mut g = c.benchmark_group("ffi");
        g.sample_size(10)
            .measurement_time(Duration::from_secs(1))
            .warm_up_time(Duration::from_millis(300));
        g.bench_function("empty_crossing_version", |b| {
            b.iter(|| black_box(Engine::version()))
        });
        let mut e = funded(12, 16);
        // Bad-nonce transactions: rejected after the first check, so this is crossing + conversion.
        let mut rejected = transfers(
            &(0..BATCH as u64).map(|i| i % 16).collect::<Vec<_>>(),
            16,
            0,
        );
        for tx in &mut rejected {
            tx.nonce = 1_000;
        }
        let one = rejected[0].clone();
        g.bench_function("single_tx_crossing_rejected", |b| {
            b.iter(|| black_box(e.submit_transaction(&one).is_err()))
        });
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_function("batched_8190_rejected_per_tx", |b| {
            b.iter(|| black_box(e.submit_transactions(&rejected).unwrap()))
        });
        g.finish();
    }
}

criterion::criterion_group!(
    all,
    benches::ffi,
    benches::apply,
    benches::state_root,
    benches::full_sequencer
);
criterion::criterion_main!(all);
