//! End-to-end tests of the watcher on two real anvil chains with the real daemons: no false
//! alarm from honest activity however it is delivered (a forwarder contract front-running the
//! relayer, `executeHeld` of a held transfer, a restarted watcher), no pause from RPC cuts or
//! unreachable validators ("cannot verify yet" is reported, not "violated"), and every forged
//! release paused, also after an operator unpaused, each violation logged once.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use ghostbridge_agent::attest::ValidatorSet;
use ghostbridge_cli::devnet::{self, Devnet};
use ghostbridge_cli::transfer::{self, Leg};
use ghostbridge_core::bindings::{minter::BridgeMinter, vault::BridgeVault};
use ghostbridge_core::protocol::{message_id, to_minter, Domain, Message};

mod common;
use common::*;

/// anvil account 6: an ordinary user with no role anywhere.
const OUTSIDER_KEY: &str = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";

/// Creation code of a forwarder: calldata is `target (20 bytes) ++ payload`; it CALLs `target`
/// with `payload` (and the value), returns what it returned and reverts with its revert data.
/// Runtime (44 bytes): calldatacopy(0, 20, cds-20); call(gas, shr(96, calldataload(0)),
/// callvalue, 0, cds-20, 0, 0); returndatacopy(0, 0, rds); success ? return : revert.
const FORWARDER_INIT: &str = "602c80600b6000396000f3\
                              60143603806014600037600060008260003460003560601c5af13d600060003e6027573d6000fd5b3d6000f3";

fn wallet(rpc: &str, key: &str) -> impl Provider + Clone {
    let signer: PrivateKeySigner = key.parse().expect("key");
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(rpc.parse().expect("url"))
}

async fn deploy_forwarder(rpc: &str, key: &str) -> Address {
    let code: Bytes = alloy::primitives::hex::decode(FORWARDER_INIT.replace(' ', ""))
        .expect("hex")
        .into();
    let receipt = wallet(rpc, key)
        .send_transaction(TransactionRequest::default().with_deploy_code(code))
        .await
        .expect("deploy")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "forwarder deployment failed");
    receipt.contract_address.expect("forwarder address")
}

/// Sends `calldata` to `target` through the forwarder, from `key`.
async fn forward(
    rpc: &str,
    key: &str,
    forwarder: Address,
    target: Address,
    calldata: &[u8],
) -> alloy::rpc::types::TransactionReceipt {
    let mut input = target.to_vec();
    input.extend_from_slice(calldata);
    let tx = TransactionRequest::default()
        .with_to(forwarder)
        .with_input(Bytes::from(input))
        .with_gas_limit(3_000_000);
    let receipt = wallet(rpc, key)
        .send_transaction(tx)
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "the forwarded call reverted");
    receipt
}

fn locked_message(sent: &transfer::Sent) -> Message {
    let log = sent
        .receipt
        .inner
        .logs()
        .iter()
        .find(|l| l.topic0() == Some(&BridgeVault::Locked::SIGNATURE_HASH))
        .expect("Locked");
    BridgeVault::Locked::decode_log_data(log.data())
        .expect("Locked")
        .message
}

async fn health(d: &Devnet) -> (u16, serde_json::Value) {
    let r = reqwest::get(format!("http://{}/health", d.ops_addr("watcher")))
        .await
        .expect("health");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// Sum of a Prometheus metric over its labels (0 when absent).
async fn metric(d: &Devnet, name: &str) -> f64 {
    let text = reqwest::get(format!("http://{}/metrics", d.ops_addr("watcher")))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter(|l| {
            l.starts_with(name) && matches!(l.as_bytes().get(name.len()), Some(b' ' | b'{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn releases_checked(d: &Devnet) -> u64 {
    health(d).await.1["progress"]["releases_checked"]
        .as_u64()
        .unwrap_or(0)
}

async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    start.elapsed()
}

/// (vault paused, minter paused) on each chain.
async fn paused(d: &Devnet) -> [(bool, bool); 2] {
    let mut out = [(false, false); 2];
    for (i, c) in d.chains.iter().enumerate() {
        let p = provider(&c.rpc);
        out[i] = (
            BridgeVault::new(c.deployment.vault, p.clone())
                .paused()
                .call()
                .await
                .expect("paused"),
            BridgeMinter::new(c.deployment.minter, p)
                .paused()
                .call()
                .await
                .expect("paused"),
        );
    }
    out
}

/// Options for a devnet whose daemon logs start empty (they are appended to across runs).
fn fresh(name: &str, port_base: u16) -> ghostbridge_cli::devnet::DevnetOptions {
    let o = options(name, port_base);
    if let Ok(entries) = std::fs::read_dir(&o.dir) {
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "log") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    o
}

fn watcher_log(d: &Devnet) -> String {
    std::fs::read_to_string(d.opts.dir.join("watcher.log")).unwrap_or_default()
}

fn count_lines(log: &str, needles: &[&str]) -> usize {
    log.lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .count()
}

/// The watcher healthy, nothing paused, nothing logged as violated.
async fn assert_no_alarm(d: &Devnet) {
    let (status, body) = health(d).await;
    assert_eq!(status, 200, "watcher unhealthy: {body}");
    assert_eq!(
        paused(d).await,
        [(false, false); 2],
        "the watcher paused the bridge"
    );
    assert_eq!(metric(d, "ghostbridge_watcher_violations_total").await, 0.0);
    assert_eq!(
        count_lines(&watcher_log(d), &["BRIDGE INVARIANT VIOLATED"]),
        0,
        "violation logged:\n{}",
        watcher_log(d)
    );
}

/// The operator (the devnet admin) unpauses every endpoint on both chains.
async fn unpause_all(d: &Devnet) {
    for c in &d.chains {
        let w = wallet(&c.rpc, devnet::DEPLOYER_KEY);
        for (i, e) in [c.deployment.vault, c.deployment.minter]
            .into_iter()
            .enumerate()
        {
            let p = provider(&c.rpc);
            let is_paused = if i == 0 {
                BridgeVault::new(e, p).paused().call().await
            } else {
                BridgeMinter::new(e, p).paused().call().await
            }
            .expect("paused");
            if is_paused {
                let r = BridgeVault::new(e, &w)
                    .unpause()
                    .send()
                    .await
                    .expect("unpause")
                    .get_receipt()
                    .await
                    .expect("receipt");
                assert!(r.status(), "unpause reverted");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn front_run_through_a_forwarder_and_held_execution_raise_no_alarm() {
    let mut o = fresh("watcher-forwarder", 23045);
    o.relayer = false;
    let mut d = Devnet::start(o).await.expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    let recipient = Address::repeat_byte(0x61);
    let minter = BridgeMinter::new(b.deployment.minter, provider(&b.rpc));
    let w_gcc = minter
        .wrappedTokenOf(a.chain_id, a.deployment.tokens["GCC"])
        .call()
        .await
        .unwrap();

    // A user front-runs the relayer: the valid attestation, delivered through a contract.
    let sent = transfer::send(
        &a,
        &b,
        Leg::Lock(a.deployment.tokens["GCC"]),
        ether(5),
        recipient,
        &key,
    )
    .await
    .unwrap();
    let message = locked_message(&sent);
    let att = attestation_for(&d, &b, b.deployment.minter, sent.id, 3).await;
    let forwarder = deploy_forwarder(&b.rpc, OUTSIDER_KEY).await;
    let calldata = minter
        .mint(to_minter(&message), att.to_minter())
        .calldata()
        .clone();
    let receipt = forward(
        &b.rpc,
        OUTSIDER_KEY,
        forwarder,
        b.deployment.minter,
        &calldata,
    )
    .await;
    assert!(
        receipt
            .inner
            .logs()
            .iter()
            .any(|l| l.topic0() == Some(&BridgeMinter::Minted::SIGNATURE_HASH)),
        "minted through the forwarder"
    );
    assert_eq!(balance(&b.rpc, w_gcc, recipient).await, ether(5));
    // The relayer's own copy now reverts.
    let relayer_copy = BridgeMinter::new(b.deployment.minter, wallet(&b.rpc, devnet::RELAYER_KEY));
    relayer_copy
        .mint(to_minter(&message), att.to_minter())
        .call()
        .await
        .expect_err("the second delivery must revert");

    // A large transfer is held (4 of 4 signatures), then executed by anyone after the delay.
    let admin_minter = BridgeMinter::new(b.deployment.minter, wallet(&b.rpc, devnet::DEPLOYER_KEY));
    assert!(admin_minter
        .setLargeTransferDelay(2)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .status());
    // (Lowered so the transfer also fits the minter's release-share window.)
    assert!(admin_minter
        .setLargeAmount(w_gcc, ether(1_000))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .status());
    let large = ether(2_000);
    let big = transfer::send(
        &a,
        &b,
        Leg::Lock(a.deployment.tokens["GCC"]),
        large,
        recipient,
        &key,
    )
    .await
    .unwrap();
    let big_message = locked_message(&big);
    let big_att = attestation_for(&d, &b, b.deployment.minter, big.id, 4).await;
    assert_eq!(
        big_att.signatures.len(),
        4,
        "a large transfer needs every signature"
    );
    let calldata = minter
        .mint(to_minter(&big_message), big_att.to_minter())
        .calldata()
        .clone();
    let receipt = forward(
        &b.rpc,
        OUTSIDER_KEY,
        forwarder,
        b.deployment.minter,
        &calldata,
    )
    .await;
    assert!(
        receipt
            .inner
            .logs()
            .iter()
            .any(|l| l.topic0() == Some(&BridgeMinter::TransferHeld::SIGNATURE_HASH)),
        "the large transfer is held"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let anyone = BridgeMinter::new(b.deployment.minter, wallet(&b.rpc, OUTSIDER_KEY));
    if let Err(e) = anyone.executeHeld(big.id).call().await {
        panic!("executeHeld would revert: {e}");
    }
    let r = anyone
        .executeHeld(big.id)
        .gas(1_000_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status(), "executeHeld reverted");
    assert_eq!(balance(&b.rpc, w_gcc, recipient).await, ether(5) + large);

    // Several passes later: both releases checked (PQ signatures found through the
    // validators), no alarm, nothing paused.
    wait_until(
        "the watcher checked both releases",
        Duration::from_secs(30),
        || async { releases_checked(&d).await >= 2 },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_no_alarm(&d).await;
    assert_eq!(
        metric(&d, "ghostbridge_watcher_unverified_releases").await,
        0.0
    );

    // A restarted watcher re-checks everything from the deployment block: still no alarm.
    d.terminate("watcher").await.unwrap();
    d.spawn_daemon(
        "watcher",
        "watch",
        &[("GHOSTBRIDGE_GUARDIAN_KEY", devnet::GUARDIAN_KEY.into())],
    )
    .unwrap();
    d.wait_healthy(Duration::from_secs(30)).await.unwrap();
    wait_until(
        "the restarted watcher checked both releases",
        Duration::from_secs(30),
        || async { releases_checked(&d).await >= 2 },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_no_alarm(&d).await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn watcher_cut_off_mid_pass_and_validators_down_never_pause() {
    let base = 23145u16;
    let mut o = fresh("watcher-outage", base);
    o.watcher = false;
    let mut d = Devnet::start(o).await.expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    // The watcher alone reaches the chains and the validators through proxies.
    let rpc_up = Arc::new(AtomicBool::new(true));
    let validators_up = Arc::new(AtomicBool::new(true));
    for i in 0..2u16 {
        tokio::spawn(proxy(base + 40 + i, base + i, rpc_up.clone()));
    }
    for i in 0..4u16 {
        tokio::spawn(proxy(base + 50 + i, base + 10 + i, validators_up.clone()));
    }
    d.edit_config("watcher", |c| {
        for (i, chain) in c.chains.iter_mut().enumerate() {
            chain.rpc_urls = vec![format!("http://127.0.0.1:{}", base + 40 + i as u16)];
        }
        for (i, v) in c.validators.iter_mut().enumerate() {
            v.url = format!("https://127.0.0.1:{}", base + 50 + i as u16);
        }
        c.watcher.as_mut().expect("[watcher]").unverified_alert_secs = 4;
    })
    .unwrap();
    d.spawn_daemon(
        "watcher",
        "watch",
        &[("GHOSTBRIDGE_GUARDIAN_KEY", devnet::GUARDIAN_KEY.into())],
    )
    .unwrap();
    d.wait_healthy(Duration::from_secs(30)).await.unwrap();

    // 1. The watcher's RPC flaps (cut every few hundred ms, so cuts land in the middle of
    // passes) while transfers are delivered.
    let flapping = Arc::new(AtomicBool::new(true));
    let flapper = {
        let (up, on) = (rpc_up.clone(), flapping.clone());
        tokio::spawn(async move {
            let mut x = 0x2545_f491u32;
            while on.load(Ordering::SeqCst) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                up.store(!up.load(Ordering::SeqCst), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(80 + u64::from(x % 400))).await;
            }
            up.store(true, Ordering::SeqCst);
        })
    };
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.extend(
            transfer::send_many_locks(
                &a,
                &b,
                a.deployment.tokens["GCC"],
                ether(1),
                Address::repeat_byte(0x71),
                &key,
                4,
            )
            .await
            .unwrap(),
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    wait_all_delivered(&a, &b, &sent, Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    flapping.store(false, Ordering::SeqCst);
    flapper.await.unwrap();
    let n = sent.len() as u64;
    wait_until(
        "the watcher checked every release after the cuts",
        Duration::from_secs(60),
        || async { releases_checked(&d).await >= n },
    )
    .await;
    let pass_errors = metric(&d, "ghostbridge_watcher_pass_errors_total").await;
    eprintln!("watcher passes failed by the cuts: {pass_errors}");
    assert!(pass_errors > 0.0, "the cuts never hit a watcher pass");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(releases_checked(&d).await, n, "a release counted twice");
    assert_no_alarm(&d).await;

    // 2. The validators are unreachable from the watcher (the relayer still delivers): the new
    // releases cannot be verified yet. Reported as such, never as a violation.
    validators_up.store(false, Ordering::SeqCst);
    let more = transfer::send_many_locks(
        &a,
        &b,
        a.deployment.tokens["GCC"],
        ether(1),
        Address::repeat_byte(0x72),
        &key,
        3,
    )
    .await
    .unwrap();
    wait_all_delivered(&a, &b, &more, Duration::from_secs(60)).await;
    wait_until(
        "/health reports the unverified releases",
        Duration::from_secs(30),
        || async {
            let (status, body) = health(&d).await;
            status == 503 && body["problems"].get("unverified_releases").is_some()
        },
    )
    .await;
    let (_, body) = health(&d).await;
    eprintln!("watcher /health while the validators are unreachable: {body}");
    assert!(
        body["problems"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("violation")),
        "{body}"
    );
    assert_eq!(
        metric(&d, "ghostbridge_watcher_unverified_releases").await,
        3.0
    );
    // Then really down: every validator killed, and the watcher's path to them open again.
    for i in 0..4 {
        d.kill9(&format!("validator-{i}")).await.unwrap();
    }
    validators_up.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (status, body) = health(&d).await;
    assert_eq!(status, 503);
    assert!(
        body["problems"].get("unverified_releases").is_some(),
        "{body}"
    );
    assert_eq!(
        metric(&d, "ghostbridge_watcher_unverified_releases").await,
        3.0
    );
    assert_eq!(
        paused(&d).await,
        [(false, false); 2],
        "paused while validators were down"
    );
    assert_eq!(
        count_lines(&watcher_log(&d), &["BRIDGE INVARIANT VIOLATED"]),
        0
    );

    // 3. The validators come back: everything verifies, the problem clears.
    for i in 0..4 {
        d.spawn_daemon(
            &format!("validator-{i}"),
            "validator",
            &[(
                "GHOSTBRIDGE_KEYSTORE_PASSWORD",
                devnet::DEVNET_PASSWORD.into(),
            )],
        )
        .unwrap();
    }
    let took = wait_until(
        "the watcher verified the releases once the validators were back",
        Duration::from_secs(60),
        || async { health(&d).await.0 == 200 },
    )
    .await;
    eprintln!(
        "verified {:.1}s after the validators restarted",
        took.as_secs_f64()
    );
    assert_eq!(
        metric(&d, "ghostbridge_watcher_unverified_releases").await,
        0.0
    );
    assert_eq!(releases_checked(&d).await, n + 3);
    assert_no_alarm(&d).await;
    d.stop().await;
}

/// A mint of `amount` GCC with no lock behind it, signed by `signers` of the 4 validator keys.
async fn forged_mint(d: &Devnet, nonce: u64, amount: U256, signers: usize) -> B256 {
    let (a, b) = ends(d);
    let pb = provider(&b.rpc);
    let set = ValidatorSet::read(&pb, b.deployment.verifier)
        .await
        .unwrap();
    let domain = Domain {
        chain_id: b.chain_id,
        verifier: b.deployment.verifier,
    };
    let attacker: PrivateKeySigner = OUTSIDER_KEY.parse().unwrap();
    let fake = Message {
        version: 1,
        srcChainId: a.chain_id,
        dstChainId: b.chain_id,
        srcContract: a.deployment.vault,
        nonce,
        token: a.deployment.tokens["GCC"],
        amount,
        sender: attacker.address(),
        recipient: attacker.address(),
    };
    let id = message_id(&fake);
    let keys = devnet::validator_keys().unwrap();
    let att = sign_with(
        &keys[..signers],
        &set.signers,
        domain.message_digest(b.deployment.minter, id, set.epoch),
    );
    let minter = BridgeMinter::new(b.deployment.minter, wallet(&b.rpc, OUTSIDER_KEY));
    if let Err(e) = minter.mint(to_minter(&fake), att.to_minter()).call().await {
        panic!("the forged mint should pass the contract's checks: {e}");
    }
    let r = minter
        .mint(to_minter(&fake), att.to_minter())
        .gas(1_000_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status(), "the forged mint goes through on chain");
    id
}

async fn wait_paused(d: &Devnet, what: &str) -> Duration {
    wait_until(what, Duration::from_secs(30), || async {
        paused(d).await == [(true, true); 2]
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_mints_are_paused_again_after_an_unpause_and_logged_once() {
    let mut o = fresh("watcher-forged", 23245);
    o.relayer = false;
    let d = Devnet::start(o).await.expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    // Real backing on A (never delivered: no relayer), so small forged mints stay under it and
    // only the release check can catch them.
    transfer::send(
        &a,
        &b,
        Leg::Lock(a.deployment.tokens["GCC"]),
        ether(10_000),
        key.address(),
        &key,
    )
    .await
    .unwrap();

    let first = forged_mint(&d, 9_001, ether(100), 3).await;
    let t = wait_paused(
        &d,
        "the watcher pauses both chains after the first forged mint",
    )
    .await;
    eprintln!("paused {:.1}s after the first forged mint", t.as_secs_f64());
    let (status, body) = health(&d).await;
    assert_eq!(status, 503);
    assert!(body.to_string().contains("unbacked_release"), "{body}");

    // The operator unpauses after the incident: a past violation does not pause again...
    unpause_all(&d).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        paused(&d).await,
        [(false, false); 2],
        "re-paused with no new violation"
    );
    // ...but the next forged mint does.
    let second = forged_mint(&d, 9_002, ether(100), 3).await;
    let t = wait_paused(
        &d,
        "the watcher pauses again after a forged mint that follows an unpause",
    )
    .await;
    eprintln!(
        "paused again {:.1}s after the second forged mint",
        t.as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let log = watcher_log(&d);
    assert_eq!(
        count_lines(&log, &["BRIDGE INVARIANT VIOLATED"]),
        2,
        "each violation logged once:\n{log}"
    );
    assert_eq!(
        count_lines(&log, &["BRIDGE INVARIANT VIOLATED", &first.to_string()]),
        1
    );
    assert_eq!(
        count_lines(&log, &["BRIDGE INVARIANT VIOLATED", &second.to_string()]),
        1
    );
    assert_eq!(
        metric(&d, "ghostbridge_watcher_violations_total").await,
        2.0
    );

    // A forged large transfer (all 4 keys, the large threshold) is held: the watcher checks it
    // when it is held, cancels it and pauses.
    unpause_all(&d).await;
    let held = forged_mint(&d, 9_004, ether(150_000), 4).await;
    let minter_b = BridgeMinter::new(b.deployment.minter, provider(&b.rpc));
    assert_eq!(
        minter_b.heldTransfer(held).call().await.unwrap().status,
        1,
        "the forged large transfer is held"
    );
    wait_paused(&d, "the watcher pauses after a forged held transfer").await;
    wait_until(
        "the watcher cancels the forged held transfer",
        Duration::from_secs(30),
        || async { minter_b.heldTransfer(held).call().await.unwrap().status == 3 },
    )
    .await;
    let log = watcher_log(&d);
    assert_eq!(
        count_lines(&log, &["BRIDGE INVARIANT VIOLATED", &held.to_string()]),
        1,
        "{log}"
    );
    assert_eq!(
        count_lines(&log, &["held transfer CANCELLED by the watcher"]),
        1,
        "{log}"
    );

    // A forged mint beyond the backing: supply > backing lasts, so an unpause is undone while it
    // does, and it is still logged once.
    unpause_all(&d).await;
    forged_mint(&d, 9_003, ether(20_000), 3).await;
    wait_paused(
        &d,
        "the watcher pauses after a forged mint beyond the backing",
    )
    .await;
    unpause_all(&d).await;
    let t = wait_paused(&d, "the watcher re-pauses while supply exceeds backing").await;
    eprintln!(
        "re-paused {:.1}s after the operator unpaused while supply > backing",
        t.as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let log = watcher_log(&d);
    assert_eq!(
        count_lines(
            &log,
            &["BRIDGE INVARIANT VIOLATED", "supply_exceeds_backing"]
        ),
        1,
        "{log}"
    );
    assert_eq!(
        count_lines(&log, &["BRIDGE INVARIANT VIOLATED"]),
        5,
        "{log}"
    );
    // Paused 5 times per chain: after each forgery, and once more after the last unpause.
    assert!(
        count_lines(&log, &["bridge PAUSED by the watcher"]) >= 10,
        "{log}"
    );
    d.stop().await;
}
