//! A lying GhostPlane sequencer is caught (issue 10): the real `ghostbridge l2 node`, built with
//! its test-only lying poster (feature `test-lies`, `GHOSTPLANE_TEST_LIE`), posts batch 3 with
//! an altered withdrawal op; the real `ghostbridge l2 challenge` process, re-deriving every batch
//! from L1 data alone, proves the fraud on-chain within the window. Then: batch 3 is cut, the
//! sequencer's bond is slashed, the withdrawal from batch 2 still finalizes after its window,
//! the one from batch 3 never does, and the challenger's /health reports the fraud.
//!
//! Run by `./script/test.sh` as `cargo test -p ghostbridge-cli --features test-lies --test
//! e2e_l2_lie`; needs `./script/setup.sh` (anvil, forge).
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod common;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use common::l2::{sent, wait_for, Erc20, ETHER, L1};
use ghostbridge_cli::devnet::DEPLOYER_KEY;
use ghostbridge_l2node::bindings::portal::GhostPlanePortal;
use ghostbridge_l2node::bindings::rollup::GhostPlaneRollup;
use ghostbridge_l2node::client::L2Client;
use ghostbridge_l2node::withdrawals::{self, FinalizeError};
use ghostbridge_sequencer::tx::{address_of, test_key, UnsignedWithdrawal};
use std::time::{Duration, Instant};

/// Outside the ports the other end-to-end tests use.
const L1_PORT: u16 = 29_845;
const L2_PORT: u16 = 29_846;
/// anvil account 2: the challenger.
const CHALLENGER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const WINDOW: u64 = 15;
const LYING_BATCH: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_sequencer_is_proven_wrong_cut_and_slashed() {
    let l1 = L1::start("l2-lie", L1_PORT, 1, WINDOW).await;
    let (d, deployer) = (&l1.d, &l1.deployer);
    let sequencer = DEPLOYER_KEY
        .parse::<alloy::signers::local::PrivateKeySigner>()
        .unwrap()
        .address();
    let rollup = GhostPlaneRollup::new(d.rollup, deployer);
    let lie = format!("invalid-op:{LYING_BATCH}");
    let _node = l1.node(
        &l1.url(),
        L2_PORT,
        29_847,
        &["--batch-timeout-ms", "300"],
        &[("GHOSTPLANE_TEST_LIE", &lie)],
    );
    let _challenger = l1.daemon(
        "l2challenger",
        &[
            "l2",
            "challenge",
            "--l1-rpc",
            &l1.url(),
            "--ops-addr",
            "127.0.0.1:29848",
        ],
        &[("GHOSTPLANE_CHALLENGER_KEY", CHALLENGER_KEY)],
    );
    let l2_addr = format!("127.0.0.1:{L2_PORT}");
    let l2 = L2Client::new(format!("http://{l2_addr}"));
    wait_for("the node", Duration::from_secs(60), || {
        let l2 = l2.clone();
        async move { l2.deposit_cursor().await.is_ok() }
    })
    .await;

    // Batch 1: 100 GCC deposited for alice.
    let user = &l1.user;
    let gcc = d.tokens[0];
    let token = Erc20::new(gcc, deployer);
    let alice_key = test_key(1);
    let alice = address_of(alice_key.verifying_key());
    sent(
        GhostPlanePortal::new(d.portal, user)
            .deposit(gcc, U256::from(100 * ETHER), alice)
            .send()
            .await,
    )
    .await;
    wait_for("the deposit on L2", Duration::from_secs(30), || {
        let l2 = l2.clone();
        async move { l2.latest_batch().await.ok() == Some(1) }
    })
    .await;

    // Batch 2 (honest): a withdrawal of 1 GCC; batch 3 (the lie): a withdrawal of 2 GCC.
    let r_honest = Address::repeat_byte(0x71);
    let r_lie = Address::repeat_byte(0x72);
    let mut batches = Vec::new();
    for (nonce, (to, amount)) in [(r_honest, ETHER), (r_lie, 2 * ETHER)]
        .into_iter()
        .enumerate()
    {
        let raw = UnsignedWithdrawal {
            l1_recipient: to,
            token: 0,
            amount,
            nonce: nonce as u64,
        }
        .sign(&alice_key)
        .unwrap();
        let h = l2.send_withdrawal(&raw).await.unwrap();
        batches.push(l2.wait_receipt(h, Duration::from_secs(30)).await.unwrap());
    }
    assert_eq!(batches, vec![2, LYING_BATCH], "one withdrawal per batch");

    // The challenger replays batch 3 from L1, finds the altered op and proves it: cut + slash.
    let started = Instant::now();
    wait_for("the fraud proof", Duration::from_secs(90), || {
        let rollup = rollup.clone();
        async move {
            let info = rollup.proposerInfo(sequencer).call().await;
            info.is_ok_and(|i| i.bond_.is_zero())
        }
    })
    .await;
    println!(
        "lie posted → proven on L1: {:?} (window {WINDOW} s)",
        started.elapsed()
    );
    assert_eq!(rollup.tip().call().await.unwrap(), 2, "batch 3 is cut");
    // Its ops loop refreshes /health once a second.
    wait_for(
        "the challenger's /health to report the fraud",
        Duration::from_secs(10),
        || async {
            reqwest::get("http://127.0.0.1:29848/health")
                .await
                .is_ok_and(|r| r.status().as_u16() == 503)
        },
    )
    .await;

    // Batch 2's withdrawal finalizes after its window; batch 3's never does.
    let proof = |batch: u64, to: Address, amount: u128| {
        let l2 = l2.clone();
        async move {
            l2.find_withdrawal(batch, alice, to, 0, amount)
                .await
                .unwrap()
                .expect("the leaf")
        }
    };
    let honest = proof(2, r_honest, ETHER).await;
    let lied = proof(LYING_BATCH, r_lie, 2 * ETHER).await;
    let on_l1_2 = withdrawals::batch_on_l1(deployer, d.rollup, 2, d.deploy_block)
        .await
        .unwrap()
        .expect("batch 2 on L1");
    let on_l1_3 = withdrawals::batch_on_l1(deployer, d.rollup, LYING_BATCH, d.deploy_block)
        .await
        .unwrap()
        .expect("batch 3 was posted");
    wait_for("batch 3's window", Duration::from_secs(60), || {
        let l1 = deployer.clone();
        async move {
            let block = l1
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await
                .ok()
                .flatten();
            block.is_some_and(|b| b.header.timestamp > on_l1_3.final_at.max(on_l1_2.final_at))
        }
    })
    .await;
    withdrawals::finalize(user, d.portal, &honest, &on_l1_2)
        .await
        .expect("batch 2's withdrawal finalizes");
    let refused = withdrawals::finalize(user, d.portal, &lied, &on_l1_3).await;
    assert!(
        matches!(refused, Err(FinalizeError::Refused(_))),
        "a withdrawal of a cut batch was paid: {refused:?}"
    );
    assert_eq!(
        token.balanceOf(r_honest).call().await.unwrap(),
        U256::from(ETHER)
    );
    assert_eq!(token.balanceOf(r_lie).call().await.unwrap(), U256::ZERO);
    l1.done();
}
