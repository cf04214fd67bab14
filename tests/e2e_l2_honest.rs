//! The challenger facing an honest sequencer over ≥ 1,000 batches submits nothing (issue 10):
//! the real `ghostbridge l2 node` (blobs) on anvil mining one block per transaction, sealing a
//! batch every few tens of milliseconds under a steady load of signed L2 transfers from a few
//! senders, and the real `ghostbridge l2 challenge` process with a prover key, re-deriving every
//! batch from L1 data alone while they land. At the end:
//!
//! - the Rollup's tip is ≥ 1,000 and every sealed batch is on it;
//! - the challenger reports every batch up to the tip checked, no fraud and no proof (`/health`
//!   200), and on L1 the sequencer's bond is intact and the challenger's account never sent a
//!   transaction (nonce 0);
//! - the challenger kept up: its lag behind the tip is printed with the other figures.
//!
//! About 2.5 minutes on a 2-core machine (debug build), with the poster sending up to
//! [`MAX_IN_FLIGHT`] batches before the oldest is mined. One at a time (`--max-in-flight 1`) it
//! lands a batch every ~0.23 s (~0.1 s the blob's KZG proof, ~0.1 s waiting for the receipt:
//! anvil mines a blob transaction ~30 ms after `eth_sendRawTransaction` returns and alloy then
//! polls), about 4 minutes in all.
//!
//! Needs `./script/setup.sh` (anvil, forge); `./script/test.sh` runs it.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod common;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use common::l2::{sent, wait_for, ETHER, L1};
use ghostbridge_cli::devnet::DEPLOYER_KEY;
use ghostbridge_l2node::bindings::portal::GhostPlanePortal;
use ghostbridge_l2node::bindings::rollup::GhostPlaneRollup;
use ghostbridge_l2node::client::{L2Client, L2Receipt};
use ghostbridge_sequencer::tx::{address_of, test_key, UnsignedTx};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Outside the ports the other end-to-end tests use.
const L1_PORT: u16 = 29_880;
const L2_PORT: u16 = 29_881;
const NODE_OPS_PORT: u16 = 29_882;
const CHALLENGER_OPS_PORT: u16 = 29_883;
/// anvil account 2: the challenger's prover (it must never send anything here).
const CHALLENGER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const BATCHES: u64 = 1_000;
const SENDERS: u64 = 4;
/// A batch is sealed this long after its first transaction.
const BATCH_TIMEOUT_MS: &str = "20";
/// Each sender's pause between transfers.
const SEND_EVERY_MS: u64 = 40;
/// Sealed batches not on L1 yet above which the senders pause.
const MAX_BACKLOG: u64 = 8;
/// Batch transactions the poster sends before the oldest is mined.
const MAX_IN_FLIGHT: &str = "4";

/// The challenger's `/health`: (HTTP status, its JSON).
async fn health(http: &reqwest::Client) -> Option<(u16, serde_json::Value)> {
    let r = http
        .get(format!("http://127.0.0.1:{CHALLENGER_OPS_PORT}/health"))
        .send()
        .await
        .ok()?;
    let code = r.status().as_u16();
    Some((code, r.json().await.ok()?))
}

/// Batches the challenger reports replayed honest (0 while it is not up).
async fn checked(http: &reqwest::Client) -> u64 {
    health(http)
        .await
        .and_then(|(_, h)| h["progress"]["batches_checked"].as_u64())
        .unwrap_or(0)
}

/// Sends signed transfers from `sender` to `sink` until `stop`, while fewer than
/// [`MAX_BACKLOG`] sealed batches wait for L1 (`backlog`): the load keeps the poster busy without
/// the node sealing far ahead of it. Returns how many the node accepted and the last one's hash.
async fn load(
    l2: L2Client,
    sender: u64,
    sink: Address,
    stop: Arc<AtomicBool>,
    backlog: Arc<AtomicU64>,
) -> (u64, Option<B256>) {
    let key = test_key(sender);
    let mut nonce = l2.nonce(address_of(key.verifying_key())).await.unwrap();
    let (mut accepted, mut last) = (0, None);
    while !stop.load(Ordering::Relaxed) {
        if backlog.load(Ordering::Relaxed) >= MAX_BACKLOG {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        let raw = UnsignedTx {
            to: sink,
            value: 1_000,
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
                nonce += 1;
                accepted += 1;
                last = Some(h);
            }
            // Refused (a full queue): back off.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
        tokio::time::sleep(Duration::from_millis(SEND_EVERY_MS)).await;
    }
    (accepted, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenger_of_an_honest_sequencer_submits_nothing_over_1000_batches() {
    let started = Instant::now();
    // block_time 0: one L1 block per transaction, so a batch lands as soon as it is sent.
    let l1 = L1::start("l2-honest", L1_PORT, 0, 60).await;
    let (d, deployer) = (&l1.d, &l1.deployer);
    let rollup = GhostPlaneRollup::new(d.rollup, deployer);
    let sequencer = DEPLOYER_KEY.parse::<PrivateKeySigner>().unwrap().address();
    let challenger = CHALLENGER_KEY
        .parse::<PrivateKeySigner>()
        .unwrap()
        .address();
    let bond = rollup.proposerInfo(sequencer).call().await.unwrap().bond_;
    assert_eq!(bond, U256::from(ETHER));

    // Confirmations 0: an anvil mining per transaction has no reorgs, and no block comes after
    // a deposit unless a transaction does.
    let _node = l1.node(
        &l1.url(),
        L2_PORT,
        NODE_OPS_PORT,
        &[
            "--confirmations",
            "0",
            "--batch-timeout-ms",
            BATCH_TIMEOUT_MS,
            "--max-in-flight",
            MAX_IN_FLIGHT,
        ],
        &[],
    );
    let _challenger = l1.daemon(
        "l2challenger",
        &[
            "l2",
            "challenge",
            "--l1-rpc",
            &l1.url(),
            "--ops-addr",
            &format!("127.0.0.1:{CHALLENGER_OPS_PORT}"),
        ],
        &[("GHOSTPLANE_CHALLENGER_KEY", CHALLENGER_KEY)],
    );
    let l2 = L2Client::new(format!("http://127.0.0.1:{L2_PORT}"));
    // One client: building one per request (rustls, root certificates) costs more CPU than the
    // requests.
    let http = reqwest::Client::new();
    wait_for("the node", Duration::from_secs(60), || {
        let l2 = l2.clone();
        async move { l2.deposit_cursor().await.is_ok() }
    })
    .await;

    // Fund the senders on L2 through the portal.
    let portal = GhostPlanePortal::new(d.portal, &l1.user);
    for s in 1..=SENDERS {
        let to = address_of(test_key(s).verifying_key());
        sent(
            portal
                .deposit(d.tokens[0], U256::from(1_000 * ETHER), to)
                .send()
                .await,
        )
        .await;
    }
    wait_for("the senders' deposits", Duration::from_secs(30), || {
        let l2 = l2.clone();
        async move { l2.deposit_cursor().await.ok() == Some(SENDERS) }
    })
    .await;

    // Load until the node has sealed BATCHES batches; sample the challenger's lag meanwhile.
    let load_start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let backlog = Arc::new(AtomicU64::new(0));
    let sink = Address::repeat_byte(0xee);
    let loaders: Vec<_> = (1..=SENDERS)
        .map(|s| tokio::spawn(load(l2.clone(), s, sink, stop.clone(), backlog.clone())))
        .collect();
    let mut max_lag = 0u64;
    let mut last_print = Instant::now();
    loop {
        let sealed = l2.latest_batch().await.unwrap();
        let tip = rollup.tip().call().await.unwrap();
        backlog.store(sealed.saturating_sub(tip), Ordering::Relaxed);
        let seen = checked(&http).await;
        max_lag = max_lag.max(tip.saturating_sub(seen));
        if last_print.elapsed() > Duration::from_secs(10) {
            println!(
                "{:>5.1} s: {sealed} batches sealed, {tip} on L1, {seen} checked",
                load_start.elapsed().as_secs_f64(),
            );
            last_print = Instant::now();
        }
        if sealed >= BATCHES {
            break;
        }
        assert!(
            load_start.elapsed() < Duration::from_secs(900),
            "only {sealed} batches sealed in 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut transfers = 0;
    let mut last_batch = 0;
    for l in loaders {
        let (accepted, last) = l.await.unwrap();
        transfers += accepted;
        // A sender's transfers apply in nonce order: its last one closes its load.
        let h = last.expect("a sender sent nothing");
        let waited = Instant::now();
        let receipt = loop {
            match l2.receipt(h).await.unwrap() {
                None | Some(L2Receipt::Pending) => {}
                r => break r,
            }
            assert!(
                waited.elapsed() < Duration::from_secs(60),
                "transfer {h} not applied in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        match receipt {
            Some(L2Receipt::Applied { batch_number }) => last_batch = last_batch.max(batch_number),
            other => panic!("transfer {h}: {other:?}"),
        }
    }
    let sealing = load_start.elapsed();

    // Every sealed batch lands; the challenger catches up with the tip.
    let sealed = l2.latest_batch().await.unwrap();
    assert_eq!(sealed, last_batch, "a batch sealed after the load");
    let tip = loop {
        let tip = rollup.tip().call().await.unwrap();
        max_lag = max_lag.max(tip.saturating_sub(checked(&http).await));
        if tip == sealed {
            break tip;
        }
        assert!(
            load_start.elapsed() < Duration::from_secs(900),
            "only {tip} of {sealed} sealed batches on L1 after 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let posting = load_start.elapsed();
    wait_for(
        "the challenger to check every batch",
        Duration::from_secs(300),
        || async { checked(&http).await >= tip },
    )
    .await;
    let checking = load_start.elapsed();

    // Nothing found, nothing proven, nothing sent.
    let (code, h) = health(&http).await.unwrap();
    assert_eq!(code, 200, "/health: {h}");
    assert_eq!(h["progress"]["batches_checked"].as_u64(), Some(tip), "{h}");
    assert_eq!(
        h["progress"]["fraud_proofs_landed"].as_u64(),
        Some(0),
        "{h}"
    );
    assert!(
        h["problems"].as_object().is_some_and(|p| p.is_empty()),
        "{h}"
    );
    assert!(tip >= BATCHES, "only {tip} batches on L1");
    assert_eq!(rollup.tip().call().await.unwrap(), tip, "a batch was cut");
    assert_eq!(
        rollup.proposerInfo(sequencer).call().await.unwrap().bond_,
        bond,
        "the sequencer's bond was touched"
    );
    assert_eq!(
        deployer.get_transaction_count(challenger).await.unwrap(),
        0,
        "the challenger sent an L1 transaction"
    );
    println!(
        "{tip} batches on L1 (blobs), {transfers} transfers from {SENDERS} senders, all checked \
         honest, nothing submitted; sealing {:.1} s, all on L1 {:.1} s, all checked {:.1} s \
         (challenger lag: {:.1} s after the last batch landed, at most {max_lag} batches behind \
         the tip); test wall time {:.1} s",
        sealing.as_secs_f64(),
        posting.as_secs_f64(),
        checking.as_secs_f64(),
        (checking - posting).as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    l1.done();
}
