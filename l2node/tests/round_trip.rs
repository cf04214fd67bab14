//! GhostPlane round trip on a real L1 (anvil, 1 s blocks, blobs on): the contracts deployed by
//! `script/DeployGhostPlane.s.sol`, the node (sequencer, L1 poster in blob mode, deposit
//! follower) reached over its L2 JSON-RPC. Deposit ETH and GCC on L1 → L2 balances; an L2 transfer; a signed L2 withdrawal;
//! the batches posted as blobs; `finalizeWithdrawal` refused before the challenge window ends,
//! paid after it, refused a second time; exact balances on both sides.
//! Needs `./script/setup.sh` (anvil, forge) and `forge build`; `./script/test.sh` runs both.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use ghostbridge_core::config::ListenerLimits;
use ghostbridge_l2node::bindings::portal::GhostPlanePortal;
use ghostbridge_l2node::bindings::rollup::GhostPlaneRollup;
use ghostbridge_l2node::challenger::{Challenger, ChallengerConfig, ChallengerStatus};
use ghostbridge_l2node::client::L2Client;
use ghostbridge_l2node::{node, poster, withdrawals};
use ghostbridge_sequencer::engine::EngineConfig;
use ghostbridge_sequencer::ledger::BatchSettlement;
use ghostbridge_sequencer::replay::Verdict;
use ghostbridge_sequencer::sequencer::{SealedBatch, SequencerConfig};
use ghostbridge_sequencer::settlement::{self, DepositOp, Op, Record};
use ghostbridge_sequencer::tx::{address_of, test_key, UnsignedTx, UnsignedWithdrawal};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

sol! {
    #[sol(rpc)]
    interface Erc20 {
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address who) external view returns (uint256);
    }
}

const PORT: u16 = 29645;
/// anvil accounts 0 (deployer, sequencer) and 1 (the L1 user).
const DEPLOYER_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const USER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// anvil account 2: the challenger's prover.
const PROVER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const ETHER: u128 = 1_000_000_000_000_000_000;
const FEE: u128 = 1_000_000_000_000_000;
/// The L2 token id the deploy script maps to native ETH here.
const ETH_ID: u32 = 4;
const CHALLENGE_WINDOW: u64 = 6;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn bin(root: &Path, name: &str) -> PathBuf {
    let local = root.join("node_modules/.bin").join(name);
    if local.exists() {
        local
    } else {
        PathBuf::from(name)
    }
}

fn wallet(key: &str) -> (DynProvider, Address) {
    let signer: PrivateKeySigner = key.parse().expect("key");
    let address = signer.address();
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(format!("http://127.0.0.1:{PORT}").parse().expect("url"));
    (p.erased(), address)
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Deployment {
    portal: Address,
    rollup: Address,
    gcc: Address,
    deploy_block: u64,
}

fn deploy(dir: &Path) -> Deployment {
    let out = dir.join("ghostplane.json");
    let status = std::process::Command::new(bin(&root(), "forge"))
        .current_dir(root())
        .args([
            "script",
            "script/DeployGhostPlane.s.sol:DeployGhostPlane",
            "--rpc-url",
            &format!("http://127.0.0.1:{PORT}"),
            "--private-key",
            DEPLOYER_KEY,
            "--broadcast",
            "-q",
        ])
        .env("DEPLOY_OUT", &out)
        .env("GHOSTPLANE_TOKEN_4", Address::ZERO.to_string())
        .env("GHOSTPLANE_CHALLENGE_WINDOW", CHALLENGE_WINDOW.to_string())
        .stdout(Stdio::null())
        .status()
        .expect("forge (run ./script/setup.sh)");
    assert!(status.success(), "DeployGhostPlane.s.sol failed");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("deployment json"))
            .expect("json");
    let addr = |v: &serde_json::Value| v.as_str().expect("address").parse().expect("address");
    Deployment {
        portal: addr(&json["portal"]),
        rollup: addr(&json["rollup"]),
        gcc: addr(&json["tokens"]["GCC"]),
        deploy_block: json["deployBlock"].as_u64().expect("deployBlock"),
    }
}

async fn sent(
    r: alloy::contract::Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    >,
) {
    let r = r.expect("send").get_receipt().await.expect("receipt");
    assert!(r.status(), "reverted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_transfer_withdraw_finalize_on_a_real_l1() {
    // Under deployments/: the only directory forge scripts may write (foundry.toml).
    let dir = root()
        .join("deployments")
        .join(format!("ghostplane-round-trip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let _anvil = tokio::process::Command::new(bin(&root(), "anvil"))
        .args(["--port", &PORT.to_string(), "--block-time", "1", "--silent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("anvil (run ./script/setup.sh)");
    let (l1, sequencer_address) = wallet(DEPLOYER_KEY);
    wait_for("anvil", Duration::from_secs(10), || {
        let l1 = l1.clone();
        async move { l1.get_chain_id().await.is_ok() }
    })
    .await;
    let d = deploy(&dir);
    let (user_l1, user) = wallet(USER_KEY);
    sent(
        GhostPlaneRollup::new(d.rollup, &l1)
            .bond()
            .value(U256::from(ETHER))
            .send()
            .await,
    )
    .await;

    // The node: sequencer → L1 poster (blobs); portal deposits → sequencer; the L2 JSON-RPC.
    let node = node::start(node::NodeConfig {
        l1_rpc: format!("http://127.0.0.1:{PORT}"),
        deployment: node::Deployment::load(&dir.join("ghostplane.json")).expect("deployment"),
        proposer: DEPLOYER_KEY.parse().expect("key"),
        mode: poster::DataMode::Blobs,
        confirmations: 1,
        rpc_addr: "127.0.0.1:0".parse().expect("addr"),
        rpc_limits: ListenerLimits::default(),
        engine: EngineConfig {
            batch_transactions_max: 64,
            ..EngineConfig::default()
        },
        sequencer: SequencerConfig {
            batch_size: 64,
            batch_timeout: Duration::from_millis(300),
            queue_capacity: 1024,
            ..SequencerConfig::default()
        },
        journal: dir.join("l2node.journal"),
        max_in_flight: 1,
    })
    .await
    .expect("node");
    let l2 = L2Client::new(format!("http://{}", node.rpc_addr));
    let posted = node.poster.clone();

    // L1: 2 ETH and 100 GCC deposited for the L2 account of test key 1.
    let alice_key = test_key(1);
    let alice = address_of(alice_key.verifying_key());
    let bob = Address::repeat_byte(0xb0);
    let portal = GhostPlanePortal::new(d.portal, &user_l1);
    sent(
        portal
            .depositETH(alice)
            .value(U256::from(2 * ETHER))
            .send()
            .await,
    )
    .await;
    sent(
        Erc20::new(d.gcc, &l1)
            .mint(user, U256::from(100 * ETHER))
            .send()
            .await,
    )
    .await;
    sent(
        Erc20::new(d.gcc, &user_l1)
            .approve(d.portal, U256::from(100 * ETHER))
            .send()
            .await,
    )
    .await;
    sent(
        portal
            .deposit(d.gcc, U256::from(100 * ETHER), alice)
            .send()
            .await,
    )
    .await;
    let started = Instant::now();
    wait_for("both deposits on L2", Duration::from_secs(30), || {
        let l2 = l2.clone();
        async move { l2.balance(alice, 0).await.ok() == Some(100 * ETHER) }
    })
    .await;
    println!(
        "deposit on L1 → spendable on L2: {:?} (1 confirmation, 1 s blocks)",
        started.elapsed()
    );
    assert_eq!(l2.balance(alice, ETH_ID).await.expect("balance"), 2 * ETHER);
    assert_eq!(l2.deposit_cursor().await.expect("cursor"), 2);
    assert_eq!(node.deposits.applied(), 2);

    // L2: a transfer, then a withdrawal of 1 ETH to a fresh L1 address.
    let transfer = UnsignedTx {
        to: bob,
        value: 10 * ETHER,
        token: 0,
        gas_limit: 21_000,
        gas_price: 50_000_000_000,
        nonce: 0,
        data: vec![],
    }
    .sign(&alice_key)
    .expect("sign");
    let t = l2.send_transaction(&transfer).await.expect("transfer");
    l2.wait_receipt(t, Duration::from_secs(30))
        .await
        .expect("applied");
    let l1_recipient = Address::repeat_byte(0x77);
    let withdrawal = UnsignedWithdrawal {
        l1_recipient,
        token: ETH_ID,
        amount: ETHER,
        nonce: 1,
    }
    .sign(&alice_key)
    .expect("sign");
    let w = l2.send_withdrawal(&withdrawal).await.expect("withdrawal");
    let batch = l2
        .wait_receipt(w, Duration::from_secs(30))
        .await
        .expect("applied");
    let started = Instant::now();
    wait_for(
        "the withdrawal's batch on L1",
        Duration::from_secs(60),
        || std::future::ready(posted.posted() >= batch),
    )
    .await;
    println!(
        "batch {batch} sealed → on L1 as blobs: {:?}",
        started.elapsed()
    );
    let rollup = GhostPlaneRollup::new(d.rollup, &l1);
    assert_eq!(rollup.tip().call().await.expect("tip"), batch);

    // L1: the proof from the L2, the rest from the BatchSubmitted event.
    let proof = l2
        .find_withdrawal(batch, alice, l1_recipient, ETH_ID, ETHER)
        .await
        .expect("rpc")
        .expect("the withdrawal's leaf");
    assert_eq!(proof.withdrawal.index, 0);
    assert_eq!(proof.withdrawal.amount, ETHER);
    let on_l1 = withdrawals::batch_on_l1(&l1, d.rollup, batch, d.deploy_block)
        .await
        .expect("events")
        .expect("batch on L1");
    assert_eq!(on_l1.withdrawals_root, proof.withdrawals_root);
    assert_eq!(on_l1.proposer, sequencer_address);
    let early = withdrawals::finalize(&user_l1, d.portal, &proof, &on_l1).await;
    assert!(
        matches!(&early, Err(withdrawals::FinalizeError::Refused(why)) if why.contains("BatchNotFinal") || why.contains("revert")),
        "finalized inside the challenge window: {early:?}"
    );
    wait_for("the challenge window", Duration::from_secs(30), || {
        let l1 = l1.clone();
        async move {
            let block = l1
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await
                .ok()
                .flatten();
            block.is_some_and(|b| b.header.timestamp >= on_l1.final_at)
        }
    })
    .await;
    withdrawals::finalize(&user_l1, d.portal, &proof, &on_l1)
        .await
        .expect("finalize after the window");
    let again = withdrawals::finalize(&user_l1, d.portal, &proof, &on_l1).await;
    assert!(again.is_err(), "paid twice: {again:?}");

    // Exact balances on both sides.
    assert_eq!(
        l1.get_balance(l1_recipient).await.expect("balance"),
        U256::from(ETHER)
    );
    assert_eq!(
        l1.get_balance(d.portal).await.expect("balance"),
        U256::from(ETHER)
    );
    assert_eq!(
        Erc20::new(d.gcc, &l1)
            .balanceOf(d.portal)
            .call()
            .await
            .expect("gcc"),
        U256::from(100 * ETHER)
    );
    let balance = |who: Address, token: u32| {
        let l2 = l2.clone();
        async move { l2.balance(who, token).await.expect("balance") }
    };
    assert_eq!(balance(alice, ETH_ID).await, ETHER);
    assert_eq!(balance(alice, 0).await, 90 * ETHER - 2 * FEE);
    assert_eq!(balance(bob, 0).await, 10 * ETHER);
    let collector = EngineConfig::default().fee_collector;
    assert_eq!(balance(collector, 0).await, 2 * FEE);
    assert_eq!(posted.failed_attempts(), 0, "a post had to be retried");

    // The challenger re-derives every posted batch from L1 alone (blobs from the node, deposits
    // from the portal) and finds the honest sequencer honest.
    let tip = rollup.tip().call().await.expect("tip");
    let mut watch = Challenger::new(ChallengerConfig {
        rollup: d.rollup,
        portal: d.portal,
        from_block: d.deploy_block,
        poll: Duration::from_millis(200),
        depth: EngineConfig::default().accounts_depth,
        base_fee: EngineConfig::default().base_fee,
        fee_collector: collector,
    });
    let seen = ChallengerStatus::default();
    watch.poll(&l1, &seen).await.expect("checkable");
    assert_eq!(seen.checked(), tip);
    assert!(seen.frauds().is_empty(), "{:?}", seen.frauds());

    // A lying sequencer: the node stops; a new portal deposit of 1 GCC is posted on L1 (as
    // blobs) as a deposit of 2 GCC. The challenger names op 0 of that batch.
    drop(node);
    // A fresh provider: the node sent from the deployer's account too (its nonce cache is stale).
    let (l1, _) = wallet(DEPLOYER_KEY);
    sent(
        Erc20::new(d.gcc, &l1)
            .mint(user, U256::from(ETHER))
            .send()
            .await,
    )
    .await;
    sent(
        Erc20::new(d.gcc, &user_l1)
            .approve(d.portal, U256::from(ETHER))
            .send()
            .await,
    )
    .await;
    sent(portal.deposit(d.gcc, U256::from(ETHER), alice).send().await).await;
    let start = watch.state();
    let lie = Record {
        op: Op::Deposit(DepositOp {
            token: 0,
            to_slot: 1,
            index: start.deposit_cursor,
            l1_sender: user,
            recipient: alice,
            amount: 2 * ETHER,
        }),
        commitment: [7; 31],
    }
    .encode();
    let mut end = start;
    end.deposit_cursor += 1;
    let lying = SealedBatch {
        header: Default::default(),
        transactions: Vec::new(),
        transaction_hashes: Vec::new(),
        settlement: BatchSettlement {
            l1_header: settlement::batch_header(tip + 1, &start, &end, &[lie]),
            start,
            records: vec![lie],
            withdrawals: Vec::new(),
        },
    };
    let config = poster::PosterConfig {
        rollup: d.rollup,
        proposer: sequencer_address,
        mode: poster::DataMode::Blobs,
        receipt_timeout: Duration::from_secs(10),
        max_fee_per_gas: 100_000_000_000,
        max_fee_per_blob_gas: 100_000_000_000,
        max_in_flight: 1,
    };
    poster::post(&l1, &config, &lying, 0)
        .await
        .expect("the lie is on L1");
    watch.poll(&l1, &seen).await.expect("checkable");
    assert_eq!(seen.checked(), tip, "the lie was replayed honest");
    assert!(
        matches!(
            seen.frauds().get(&(tip + 1)),
            Some(Verdict::Fraud { index: 0, .. })
        ),
        "{:?}",
        seen.frauds()
    );
    // ...and proves it in one transaction from another account: the batch is cut, the bond
    // slashed; batches before it stay (the withdrawal above was paid from one of them).
    let (prover, _) = wallet(PROVER_KEY);
    let verdict = seen.frauds()[&(tip + 1)].clone();
    let posted_lie = watch
        .pending_batch(&l1)
        .await
        .expect("read")
        .expect("the lie");
    let proof = watch
        .prove(&prover, &posted_lie, &verdict)
        .await
        .expect("proveFraud");
    println!("proveFraud (blob mode, deposit the portal never took): tx {proof}");
    assert_eq!(
        rollup.tip().call().await.expect("tip"),
        tip,
        "the lying batch is cut"
    );
    let info = rollup
        .proposerInfo(sequencer_address)
        .call()
        .await
        .expect("proposer");
    assert_eq!(
        info.bond_,
        U256::ZERO,
        "the lying proposer's bond is slashed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
