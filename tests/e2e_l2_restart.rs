//! GhostPlane's node survives `kill -9` (issue 10): the real `ghostbridge l2 node` process on a
//! real L1 (anvil, 1 s blocks, blobs), under a load of signed L2 transfers and with L1 deposits
//! arriving while it is up or down, is killed with SIGKILL ten times at random moments and
//! started again over its journal. Afterwards:
//!
//! - every transaction the node had reported applied before a kill is applied in the same batch
//!   after it, and that batch is on L1;
//! - an independent executor (the challenger's replayer) re-derives every posted batch from L1
//!   data alone, as one uninterrupted run from genesis, and finds each honest, ending at the
//!   node's own latest state root: the restarts changed no root;
//! - every L1 deposit is on L2 exactly once (cursor = the portal's count, each recipient holds
//!   its amount) and no GCC was created or lost (balances + fees = deposits).
//!
//! Needs `./script/setup.sh` (anvil, forge) and `forge build`; `./script/test.sh` runs both.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod common;

use alloy::primitives::{Address, B256, U256};
use common::l2::{latest, sent, ETHER, L1};
use ghostbridge_l2node::bindings::portal::GhostPlanePortal;
use ghostbridge_l2node::bindings::rollup::GhostPlaneRollup;
use ghostbridge_l2node::client::{L2Client, L2Receipt};
use ghostbridge_sequencer::engine::EngineConfig;
use ghostbridge_sequencer::tx::{address_of, test_key, UnsignedTx};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::Child;

/// Outside the ports the other end-to-end tests use (20545–22999, 29545/6, 29645).
const L1_PORT: u16 = 29_745;
const L2_PORT: u16 = 29_746;
const OPS_PORT: u16 = 29_747;
const KILLS: usize = 10;
const SENDERS: u64 = 4;

fn start_node(l1: &L1) -> Child {
    l1.node(
        &l1.url(),
        L2_PORT,
        OPS_PORT,
        // One batch per L1 block: the poster lands one batch per block.
        &[
            "--confirmations",
            "1",
            "--batch-timeout-ms",
            "1000",
            "--max-in-flight",
            "3",
        ],
        &[],
    )
}

async fn wait_up(l2: &L2Client) {
    let start = Instant::now();
    while l2.deposit_cursor().await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the node did not come up; see its log"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A small deterministic generator for the kill times (the seed is printed).
struct Lcg(u64);

impl Lcg {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        lo + (self.0 >> 33) % (hi - lo)
    }
}

/// Sends transfers from every sender until `stop`, each from the node's current nonce, and
/// records the hashes the node accepted.
async fn load(l2: L2Client, stop: Arc<AtomicBool>, sent: Arc<Mutex<Vec<B256>>>, sink: Address) {
    let mut nonces = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        for s in 1..=SENDERS {
            let key = test_key(s);
            let from = address_of(key.verifying_key());
            let nonce = match nonces.get(&s) {
                Some(n) => *n,
                None => match l2.nonce(from).await {
                    Ok(n) => n,
                    Err(_) => return, // the node is down
                },
            };
            let raw = UnsignedTx {
                to: sink,
                value: 1_000 + u128::from(nonce),
                token: 0,
                gas_limit: 21_000,
                gas_price: 50_000_000_000, // 21,000 × 50 gwei ≥ the 10^15 base fee
                nonce,
                data: vec![],
            }
            .sign(&key)
            .unwrap();
            match l2.send_transaction(&raw).await {
                Ok(h) => {
                    sent.lock().unwrap().push(h);
                    nonces.insert(s, nonce + 1);
                }
                Err(_) => return,
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Polls the receipts of everything sent and records the applied ones (the acknowledgements a
/// user holds) until `stop`.
async fn acks(
    l2: L2Client,
    stop: Arc<AtomicBool>,
    sent: Arc<Mutex<Vec<B256>>>,
    acked: Arc<Mutex<HashMap<B256, u64>>>,
) {
    while !stop.load(Ordering::Relaxed) {
        let todo: Vec<B256> = {
            let acked = acked.lock().unwrap();
            sent.lock()
                .unwrap()
                .iter()
                .filter(|h| !acked.contains_key(*h))
                .copied()
                .collect()
        };
        for h in todo {
            match l2.receipt(h).await {
                Ok(Some(L2Receipt::Applied { batch_number })) => {
                    acked.lock().unwrap().insert(h, batch_number);
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_survives_kill_9_under_load_with_identical_roots() {
    let l1 = L1::start("l2-restart", L1_PORT, 1, 60).await;
    let (d, deployer) = (&l1.d, &l1.deployer);
    let gcc = d.tokens[0];
    let portal = GhostPlanePortal::new(d.portal, &l1.user);
    let mut deposits: Vec<(Address, u128)> = (1..=SENDERS)
        .map(|s| (address_of(test_key(s).verifying_key()), 1_000 * ETHER))
        .collect();
    for (to, amount) in &deposits {
        sent(portal.deposit(gcc, U256::from(*amount), *to).send().await).await;
    }

    let l2 = L2Client::new(format!("http://127.0.0.1:{L2_PORT}"));
    let sink = Address::repeat_byte(0xee);
    let sent_hashes = Arc::new(Mutex::new(Vec::new()));
    let acked = Arc::new(Mutex::new(HashMap::new()));
    let seed = std::process::id() as u64;
    println!("kill times seeded with {seed}");
    let mut rng = Lcg(seed);
    let mut node = start_node(&l1);
    wait_up(&l2).await;
    let start = Instant::now();
    while l2.deposit_cursor().await.unwrap() < SENDERS {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "senders' deposits"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for round in 0..KILLS {
        // An L1 deposit to a fresh L2 address, every other round while the node is up.
        if round % 2 == 0 {
            let to = Address::with_last_byte(0x40 + round as u8);
            let amount = (round as u128 + 1) * ETHER;
            sent(portal.deposit(gcc, U256::from(amount), to).send().await).await;
            deposits.push((to, amount));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let loader = tokio::spawn(load(l2.clone(), stop.clone(), sent_hashes.clone(), sink));
        let poller = tokio::spawn(acks(
            l2.clone(),
            stop.clone(),
            sent_hashes.clone(),
            acked.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(rng.next_ms(600, 3_000))).await;
        // Snapshot of what users were told before the kill.
        node.start_kill().unwrap(); // SIGKILL
        node.wait().await.unwrap();
        stop.store(true, Ordering::Relaxed);
        let _ = loader.await;
        let _ = poller.await;
        // An L1 deposit while the node is down, every other round.
        if round % 2 == 1 {
            let to = Address::with_last_byte(0x40 + round as u8);
            let amount = (round as u128 + 1) * ETHER;
            sent(portal.deposit(gcc, U256::from(amount), to).send().await).await;
            deposits.push((to, amount));
        }
        node = start_node(&l1);
        wait_up(&l2).await;
        println!(
            "kill {}: {} sent, {} acknowledged so far",
            round + 1,
            sent_hashes.lock().unwrap().len(),
            acked.lock().unwrap().len()
        );
    }

    // Quiet: let the last deposits in and every batch reach L1.
    l1.wait_settled(&l2, deposits.len() as u64, Duration::from_secs(180))
        .await;
    let rollup = GhostPlaneRollup::new(d.rollup, deployer);
    let tip = rollup.tip().call().await.unwrap();

    // 1. Every acknowledgement holds, in the same batch, and that batch is on L1.
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 50,
        "too little load to mean anything: {} acknowledged",
        acked.len()
    );
    for (h, batch) in &acked {
        let now = l2.receipt(*h).await.unwrap();
        assert_eq!(
            now,
            Some(L2Receipt::Applied {
                batch_number: *batch
            }),
            "{h} was acknowledged in batch {batch} before a kill"
        );
        assert!(*batch <= tip, "{h}: batch {batch} is not on L1 (tip {tip})");
    }

    // 2. An independent executor replays every posted batch from L1 data alone, from genesis:
    // all honest, ending at the node's state root.
    let (checked, replayed) = l1.replay_all().await;
    assert_eq!(checked, tip, "every posted batch replayed");
    assert_eq!(replayed.state_root, latest(&l2).await.2);

    // 3. Deposits: each exactly once; no GCC created or lost.
    assert_eq!(
        replayed.deposit_cursor,
        deposits.len() as u64,
        "every L1 deposit consumed once"
    );
    for (to, amount) in deposits.iter().skip(SENDERS as usize) {
        assert_eq!(
            l2.balance(*to, 0).await.unwrap(),
            *amount,
            "deposit to {to}"
        );
    }
    let mut holders: Vec<Address> = deposits.iter().map(|(a, _)| *a).collect();
    holders.push(sink);
    holders.push(EngineConfig::default().fee_collector);
    let mut total = 0u128;
    for h in holders {
        total += l2.balance(h, 0).await.unwrap();
    }
    let deposited: u128 = deposits.iter().map(|(_, a)| a).sum();
    assert_eq!(total, deposited, "GCC on L2 = GCC deposited");
    println!(
        "{KILLS} kills: {} transfers acknowledged, {tip} batches on L1, all replayed honest",
        acked.len()
    );
    drop(node);
    l1.done();
}
