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

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use ghostbridge_cli::devnet::{self, DEPLOYER_KEY, USER_KEY};
use ghostbridge_l2node::bindings::portal::GhostPlanePortal;
use ghostbridge_l2node::bindings::rollup::GhostPlaneRollup;
use ghostbridge_l2node::client::L2Client;
use ghostbridge_l2node::node::Deployment;
use ghostbridge_l2node::withdrawals::{self, FinalizeError};
use ghostbridge_sequencer::tx::{address_of, test_key, UnsignedWithdrawal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

sol! {
    #[sol(rpc)]
    interface Erc20 {
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address who) external view returns (uint256);
    }
}

/// Outside the ports the other end-to-end tests use.
const L1_PORT: u16 = 29_845;
const L2_PORT: u16 = 29_846;
/// anvil account 2: the challenger.
const CHALLENGER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const ETHER: u128 = 1_000_000_000_000_000_000;
const WINDOW: u64 = 15;
const LYING_BATCH: u64 = 3;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn l1_url() -> String {
    format!("http://127.0.0.1:{L1_PORT}")
}

fn wallet(key: &str) -> DynProvider {
    let signer: PrivateKeySigner = key.parse().unwrap();
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(l1_url().parse().unwrap())
        .erased()
}

async fn sent(
    r: alloy::contract::Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    >,
) {
    let r = r.expect("send").get_receipt().await.expect("receipt");
    assert!(r.status(), "reverted");
}

fn daemon(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Child {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ghostbridge"));
    cmd.args(args)
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("ghostbridge")
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_sequencer_is_proven_wrong_cut_and_slashed() {
    let dir = root()
        .join("deployments")
        .join(format!("l2-lie-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _anvil = devnet::start_anvil(&root(), L1_PORT, 31_337, 1, &dir.join("anvil.log"))
        .await
        .expect("anvil (run ./script/setup.sh)");
    let deployment = dir.join("ghostplane.json");
    devnet::forge_script(
        &root(),
        "script/DeployGhostPlane.s.sol:DeployGhostPlane",
        &l1_url(),
        &[
            ("DEPLOY_OUT", deployment.display().to_string()),
            ("GHOSTPLANE_TOKEN_4", Address::ZERO.to_string()),
            ("GHOSTPLANE_CHALLENGE_WINDOW", WINDOW.to_string()),
        ],
    )
    .await
    .expect("DeployGhostPlane.s.sol");
    let d = Deployment::load(&deployment).unwrap();
    let deployer = wallet(DEPLOYER_KEY);
    let sequencer = DEPLOYER_KEY.parse::<PrivateKeySigner>().unwrap().address();
    let rollup = GhostPlaneRollup::new(d.rollup, &deployer);
    sent(rollup.bond().value(U256::from(ETHER)).send().await).await;

    let deployment_arg = deployment.display().to_string();
    let l1 = l1_url();
    let l2_addr = format!("127.0.0.1:{L2_PORT}");
    let journal = dir.join("l2node.journal").display().to_string();
    let lie = format!("invalid-op:{LYING_BATCH}");
    let _node = daemon(
        &dir,
        "l2node",
        &[
            "l2",
            "node",
            "--deployment",
            &deployment_arg,
            "--l1-rpc",
            &l1,
            "--rpc-addr",
            &l2_addr,
            "--ops-addr",
            "127.0.0.1:29847",
            "--journal",
            &journal,
            "--batch-timeout-ms",
            "300",
        ],
        &[
            ("GHOSTPLANE_SEQUENCER_KEY", DEPLOYER_KEY),
            ("GHOSTPLANE_TEST_LIE", &lie),
        ],
    );
    let _challenger = daemon(
        &dir,
        "l2challenger",
        &[
            "l2",
            "challenge",
            "--deployment",
            &deployment_arg,
            "--l1-rpc",
            &l1,
            "--ops-addr",
            "127.0.0.1:29848",
        ],
        &[("GHOSTPLANE_CHALLENGER_KEY", CHALLENGER_KEY)],
    );
    let l2 = L2Client::new(format!("http://{l2_addr}"));
    wait_for("the node", Duration::from_secs(60), || {
        let l2 = l2.clone();
        async move { l2.deposit_cursor().await.is_ok() }
    })
    .await;

    // Batch 1: 100 GCC deposited for alice.
    let user = wallet(USER_KEY);
    let user_address = USER_KEY.parse::<PrivateKeySigner>().unwrap().address();
    let gcc = d.tokens[0];
    let token = Erc20::new(gcc, &deployer);
    sent(
        token
            .mint(user_address, U256::from(100 * ETHER))
            .send()
            .await,
    )
    .await;
    sent(
        Erc20::new(gcc, &user)
            .approve(d.portal, U256::MAX)
            .send()
            .await,
    )
    .await;
    let alice_key = test_key(1);
    let alice = address_of(alice_key.verifying_key());
    sent(
        GhostPlanePortal::new(d.portal, &user)
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
    let health = reqwest::get("http://127.0.0.1:29848/health").await.unwrap();
    assert_eq!(
        health.status().as_u16(),
        503,
        "the challenger reports the fraud"
    );

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
    let on_l1_2 = withdrawals::batch_on_l1(&deployer, d.rollup, 2, d.deploy_block)
        .await
        .unwrap()
        .expect("batch 2 on L1");
    let on_l1_3 = withdrawals::batch_on_l1(&deployer, d.rollup, LYING_BATCH, d.deploy_block)
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
    withdrawals::finalize(&user, d.portal, &honest, &on_l1_2)
        .await
        .expect("batch 2's withdrawal finalizes");
    let refused = withdrawals::finalize(&user, d.portal, &lied, &on_l1_3).await;
    assert!(
        matches!(refused, Err(FinalizeError::Refused(_))),
        "a withdrawal of a cut batch was paid: {refused:?}"
    );
    assert_eq!(
        token.balanceOf(r_honest).call().await.unwrap(),
        U256::from(ETHER)
    );
    assert_eq!(token.balanceOf(r_lie).call().await.unwrap(), U256::ZERO);
    let _ = std::fs::remove_dir_all(&dir);
}
