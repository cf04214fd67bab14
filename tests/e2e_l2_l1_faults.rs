//! GhostPlane's node against a faulty L1 (issue 10), the real `ghostbridge l2 node` process on
//! anvil (blobs):
//!
//! - **reorg below the deposit depth** (an anvil that mines per transaction, so the test decides
//!   every block): a portal deposit that `evm_revert` removes while it is 3 blocks deep, below
//!   the node's 4 confirmations, is never applied on L2; the deposit that takes its index after
//!   the reorg is applied once; a batch of the node's that L1 drops after it landed is posted
//!   again before the next one;
//! - **L1 outage during posting** (1 s blocks; the node reaches L1 through a TCP proxy the test
//!   cuts): with the node cut off L1 for 10 s, L2 transactions still get
//!   durable receipts; the poster retries (its failures are counted in `/health`) and, once L1 is
//!   back, every sealed batch lands exactly once, in order, with a deposit made during the
//!   outage applied after it; the challenger's executor replays every batch from L1 honest and
//!   ends at the node's state root.
//!
//! Needs `./script/setup.sh` (anvil, forge); `./script/test.sh` runs it.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod common;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use common::l2::{latest, sent, wait_for, wallet, ETHER, L1};
use ghostbridge_cli::devnet::USER_KEY;
use ghostbridge_l2node::bindings::portal::GhostPlanePortal;
use ghostbridge_l2node::bindings::rollup::GhostPlaneRollup;
use ghostbridge_l2node::client::L2Client;
use ghostbridge_sequencer::tx::{address_of, test_key, UnsignedTx};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Outside the ports the other end-to-end tests use.
const L1_PORT: u16 = 29_945;
const PROXY_PORT: u16 = 29_946;
const L2_PORT: u16 = 29_947;
const OPS_PORT: u16 = 29_948;
/// The node's deposit depth and batch timeout (one batch per 1 s L1 block).
const NODE_ARGS: [&str; 6] = [
    "--confirmations",
    "4",
    "--batch-timeout-ms",
    "1000",
    "--max-in-flight",
    "3",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_rides_out_an_l1_outage_during_posting() {
    // The node reaches L1 only through the proxy.
    let up = Arc::new(AtomicBool::new(true));
    tokio::spawn(common::proxy(PROXY_PORT, L1_PORT, up.clone()));
    let f = L1::start("l2-l1-outage", L1_PORT, 1, 60).await;
    let proxy = format!("http://127.0.0.1:{PROXY_PORT}");
    let _node = f.node(&proxy, L2_PORT, OPS_PORT, &NODE_ARGS, &[]);
    let (d, deployer) = (&f.d, &f.deployer);
    let gcc = d.tokens[0];
    let rollup = GhostPlaneRollup::new(d.rollup, deployer);
    let portal = GhostPlanePortal::new(d.portal, &f.user);
    let l2 = L2Client::new(format!("http://127.0.0.1:{L2_PORT}"));
    let alice_key = test_key(1);
    let alice = address_of(alice_key.verifying_key());
    sent(
        portal
            .deposit(gcc, U256::from(100 * ETHER), alice)
            .send()
            .await,
    )
    .await;
    wait_for("deposit 0 sealed on L2", Duration::from_secs(60), || {
        let l2 = l2.clone();
        async move { latest(&l2).await.1 == 1 }
    })
    .await;

    // A second deposit, so the outage below starts from a sealed cursor of 2.
    let kept = Address::repeat_byte(0xd1);
    sent(
        portal
            .deposit(gcc, U256::from(3 * ETHER), kept)
            .send()
            .await,
    )
    .await;
    wait_for("deposit 1 sealed on L2", Duration::from_secs(60), || {
        let l2 = l2.clone();
        async move { latest(&l2).await.1 == 2 }
    })
    .await;
    assert_eq!(l2.balance(kept, 0).await.unwrap(), 3 * ETHER);

    // Outage: L1 unreachable for the node for 10 s while L2 transfers keep coming.
    let failures_before = posting_failures().await;
    up.store(false, Ordering::SeqCst);
    let cut_at = Instant::now();
    let mut during = Vec::new();
    for nonce in 0..5u64 {
        let raw = UnsignedTx {
            to: kept,
            value: ETHER,
            token: 0,
            gas_limit: 21_000,
            gas_price: 50_000_000_000,
            nonce,
            data: vec![],
        }
        .sign(&alice_key)
        .unwrap();
        let h = l2.send_transaction(&raw).await.unwrap();
        during.push(l2.wait_receipt(h, Duration::from_secs(10)).await.unwrap());
    }
    assert!(
        cut_at.elapsed() < Duration::from_secs(10),
        "receipts waited for L1: {:?}",
        cut_at.elapsed()
    );
    // A deposit made on L1 during the outage (straight to anvil, not through the proxy).
    let late = Address::repeat_byte(0xd2);
    sent(
        portal
            .deposit(gcc, U256::from(5 * ETHER), late)
            .send()
            .await,
    )
    .await;
    let tip_during = rollup.tip().call().await.unwrap();
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(cut_at.elapsed())).await;
    assert_eq!(
        rollup.tip().call().await.unwrap(),
        tip_during,
        "nothing posted while cut off"
    );
    assert!(
        posting_failures().await > failures_before,
        "the poster's failed attempts are counted"
    );
    up.store(true, Ordering::SeqCst);
    println!(
        "L1 back after {:?}; L2 batches sealed during the outage: {during:?}",
        cut_at.elapsed()
    );

    f.wait_settled(&l2, 3, Duration::from_secs(120)).await;
    assert_eq!(l2.balance(late, 0).await.unwrap(), 5 * ETHER);
    let tip = rollup.tip().call().await.unwrap();
    assert!(tip >= *during.iter().max().unwrap());

    // Each batch exactly once and honest, from L1 alone, ending at the node's root.
    let (checked, replayed) = f.replay_all().await;
    assert_eq!(checked, tip);
    assert_eq!(replayed.state_root, latest(&l2).await.2);
    let submitted = GhostPlaneRollup::new(d.rollup, deployer)
        .BatchSubmitted_filter()
        .from_block(d.deploy_block)
        .query()
        .await
        .unwrap();
    let numbers: Vec<u64> = submitted.iter().map(|(e, _)| e.number).collect();
    assert_eq!(
        numbers,
        (1..=tip).collect::<Vec<_>>(),
        "each batch submitted once, in order"
    );
    f.done();
}

async fn posting_failures() -> u64 {
    let body: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{OPS_PORT}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["progress"]["posting_failures"].as_u64().unwrap_or(0)
}

/// Reorg below the deposit depth, on an anvil that mines one block per transaction (so the
/// test decides every block): a portal deposit that `evm_revert` removes one block after it
/// landed, below the node's 4 confirmations, is never applied on L2; the deposit that takes its
/// index after the reorg is applied once. Then a reorg drops one of the node's posted batches: it
/// is posted again, before the next, and all replay honest from L1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_of_a_deposit_below_the_depth_and_of_a_posted_batch() {
    let (l1_port, l2_port) = (29_955, 29_956);
    let f = L1::start("l2-l1-reorg", l1_port, 0, 60).await;
    let _node = f.node(&f.url(), l2_port, 29_957, &NODE_ARGS, &[]);
    let (d, deployer) = (&f.d, &f.deployer);
    let gcc = d.tokens[0];
    let rollup = GhostPlaneRollup::new(d.rollup, deployer);
    let l2 = L2Client::new(format!("http://127.0.0.1:{l2_port}"));
    let mine = |n: u64| {
        let p = deployer.clone();
        async move {
            let _: serde_json::Value = p
                .raw_request("anvil_mine".into(), (U256::from(n),))
                .await
                .unwrap();
        }
    };
    let alice = address_of(test_key(1).verifying_key());
    let portal = GhostPlanePortal::new(d.portal, &f.user);
    sent(
        portal
            .deposit(gcc, U256::from(100 * ETHER), alice)
            .send()
            .await,
    )
    .await;
    mine(4).await;
    f.wait_settled(&l2, 1, Duration::from_secs(60)).await;

    let doomed = Address::repeat_byte(0xd0);
    let kept = Address::repeat_byte(0xd1);
    let snapshot: U256 = deployer
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    sent(
        portal
            .deposit(gcc, U256::from(7 * ETHER), doomed)
            .send()
            .await,
    )
    .await;
    mine(2).await; // 3 blocks deep: still below the depth of 4
    tokio::time::sleep(Duration::from_secs(2)).await; // the follower polls every 500 ms
    assert_eq!(
        l2.deposit_cursor().await.unwrap(),
        1,
        "applied below the depth"
    );
    let reverted: bool = deployer
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted, "anvil reverted to the snapshot");
    // A fresh provider: the old one cached the reverted transaction's nonce.
    let user = wallet(l1_port, USER_KEY);
    let portal = GhostPlanePortal::new(d.portal, &user);
    sent(
        portal
            .deposit(gcc, U256::from(3 * ETHER), kept)
            .send()
            .await,
    )
    .await;
    mine(4).await;
    wait_for("deposit 1 sealed on L2", Duration::from_secs(60), || {
        let l2 = l2.clone();
        async move { latest(&l2).await.1 == 2 }
    })
    .await;
    mine(8).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(l2.balance(kept, 0).await.unwrap(), 3 * ETHER);
    assert_eq!(
        l2.balance(doomed, 0).await.unwrap(),
        0,
        "the reorganised deposit"
    );
    assert_eq!(l2.deposit_cursor().await.unwrap(), 2, "each deposit once");

    // A reorg of the node's own batch: batch n + 1 lands, L1 drops it; the node posts it again
    // (from its retained copy) before batch n + 2, and every batch replays honest from L1.
    let on_l1 = |n: u64| {
        let rollup = rollup.clone();
        async move { rollup.tip().call().await.ok() == Some(n) }
    };
    let n = latest(&l2).await.0;
    wait_for("the deposits' batch on L1", Duration::from_secs(60), || {
        on_l1(n)
    })
    .await;
    let alice_key = test_key(1);
    let transfer = |nonce: u64| {
        UnsignedTx {
            to: kept,
            value: ETHER,
            token: 0,
            gas_limit: 21_000,
            gas_price: 50_000_000_000,
            nonce,
            data: vec![],
        }
        .sign(&alice_key)
        .unwrap()
    };
    let snapshot: U256 = deployer
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    let h = l2.send_transaction(&transfer(0)).await.unwrap();
    assert_eq!(
        l2.wait_receipt(h, Duration::from_secs(30)).await.unwrap(),
        n + 1
    );
    wait_for("batch n + 1 on L1", Duration::from_secs(60), || {
        on_l1(n + 1)
    })
    .await;
    let reverted: bool = deployer
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    // anvil puts reverted transactions back in its pool; a reorg that loses them drops them.
    let _: serde_json::Value = deployer
        .raw_request("anvil_dropAllTransactions".into(), ())
        .await
        .unwrap();
    assert!(reverted && on_l1(n).await, "L1 lost batch n + 1");
    let h = l2.send_transaction(&transfer(1)).await.unwrap();
    assert_eq!(
        l2.wait_receipt(h, Duration::from_secs(30)).await.unwrap(),
        n + 2
    );
    wait_for(
        "batches n + 1 and n + 2 on L1 again",
        Duration::from_secs(90),
        || on_l1(n + 2),
    )
    .await;
    assert_eq!(f.replay_all().await.0, n + 2);
    assert_eq!(l2.balance(kept, 0).await.unwrap(), 5 * ETHER);
    f.done();
}
