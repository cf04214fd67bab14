//! End-to-end tests of GhostBridge on two real anvil chains, with the real `ghostbridge` daemons
//! (4 validators, relayer, watcher) as separate processes, real signatures, and (for the
//! multi-relayer test) a real PostgreSQL. Each test runs its own devnet on its own ports under
//! `deployments/e2e-<name>/` (forge may only write below `deployments/`).
// Test code: a panicking unwrap (or overflow) is the failure report.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use ghostbridge_agent::attest::{ValidatorClients, ValidatorSet};
use ghostbridge_agent::chain::scan_logs;
use ghostbridge_cli::devnet::{self, Devnet, USER_KEY};
use ghostbridge_cli::transfer::{self, End, Leg};
use ghostbridge_core::bindings::{
    minter::BridgeMinter, vault::BridgeVault, verifier::AttestationVerifier,
};
use ghostbridge_core::protocol::{message_id, to_minter, Domain, Message};

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn transfers_both_ways_then_a_batch_of_200() {
    let mut d = Devnet::start(options("roundtrip", 20545))
        .await
        .expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    let recipient = Address::repeat_byte(0x51);
    let pb = provider(&b.rpc);
    let minter_b = BridgeMinter::new(b.deployment.minter, pb.clone());
    let w_gcc = minter_b
        .wrappedTokenOf(a.chain_id, a.deployment.tokens["GCC"])
        .call()
        .await
        .unwrap();
    let w_eth = minter_b
        .wrappedTokenOf(a.chain_id, Address::ZERO)
        .call()
        .await
        .unwrap();

    // ERC20 and native, lock -> mint.
    for (token, amount, wrapped) in [("GCC", 25u64, w_gcc), ("ETH", 2, w_eth)] {
        let leg = transfer::resolve_leg(&a, &b, token).await.unwrap();
        let sent = transfer::send(&a, &b, leg, ether(amount), recipient, &key)
            .await
            .unwrap();
        transfer::follow(&a, &b, &sent, Duration::from_secs(60), false)
            .await
            .unwrap();
        assert_eq!(
            balance(&b.rpc, wrapped, recipient).await,
            ether(amount),
            "{token} minted on B"
        );
    }
    // Burn -> unlock, ERC20 and native (the user first receives wrapped tokens).
    for token in ["GCC", "ETH"] {
        let leg = transfer::resolve_leg(&a, &b, token).await.unwrap();
        let sent = transfer::send(&a, &b, leg, ether(5), key.address(), &key)
            .await
            .unwrap();
        transfer::follow(&a, &b, &sent, Duration::from_secs(60), false)
            .await
            .unwrap();
    }
    let back_to = Address::repeat_byte(0x52);
    let sent = transfer::send(
        &b,
        &a,
        transfer::resolve_leg(&b, &a, "wGCC").await.unwrap(),
        ether(3),
        back_to,
        &key,
    )
    .await
    .unwrap();
    assert!(matches!(sent.leg, Leg::Burn(_)));
    transfer::follow(&b, &a, &sent, Duration::from_secs(60), false)
        .await
        .unwrap();
    assert_eq!(
        balance(&a.rpc, a.deployment.tokens["GCC"], back_to).await,
        ether(3),
        "GCC unlocked on A"
    );
    let sent = transfer::send(
        &b,
        &a,
        transfer::resolve_leg(&b, &a, "wETH").await.unwrap(),
        ether(1),
        back_to,
        &key,
    )
    .await
    .unwrap();
    transfer::follow(&b, &a, &sent, Duration::from_secs(60), false)
        .await
        .unwrap();
    assert_eq!(
        provider(&a.rpc).get_balance(back_to).await.unwrap(),
        ether(1),
        "ETH unlocked on A"
    );

    // 16 burns at once: one batch root cached in A's verifier, then unlockFromBatch for each.
    // The relayer is stopped until every validator has admitted all 16, so its first round
    // finds them pending together and the validators ready to sign their root (a relayer that
    // runs ahead of slow validators retries, then sends messages alone: see RETRY_ALONE).
    d.terminate("relayer").await.unwrap();
    let burns_to = Address::repeat_byte(0x54);
    let tenth = ether(1) / U256::from(10u64);
    let burns = transfer::send_many(&b, &a, Leg::Burn(w_gcc), tenth, burns_to, &key, 16)
        .await
        .unwrap();
    for burn in &burns {
        attestation_for(&d, &a, a.deployment.vault, burn.id, 4).await;
    }
    d.spawn_daemon(
        "relayer",
        "relay",
        &[("GHOSTBRIDGE_RELAYER_KEY", devnet::RELAYER_KEY.into())],
    )
    .unwrap();
    wait_all_delivered(&b, &a, &burns, Duration::from_secs(90)).await;
    assert_eq!(
        balance(&a.rpc, a.deployment.tokens["GCC"], burns_to).await,
        tenth * U256::from(16u64)
    );
    let verifier_a = AttestationVerifier::new(a.deployment.verifier, provider(&a.rpc));
    let unlock_logs = scan_logs(
        &provider(&a.rpc),
        a.deployment.vault,
        &[BridgeVault::Unlocked::SIGNATURE_HASH],
        a.deployment.deploy_block,
        provider(&a.rpc).get_block_number().await.unwrap(),
        1000,
    )
    .await
    .unwrap();
    let mut batched = 0;
    for l in &unlock_logs {
        let tx = provider(&a.rpc)
            .get_transaction_by_hash(l.transaction_hash.unwrap())
            .await
            .unwrap()
            .unwrap();
        let input = alloy::consensus::Transaction::input(tx.inner.inner()).clone();
        if let Ok(BridgeVault::BridgeVaultCalls::unlockFromBatch(c)) =
            <BridgeVault::BridgeVaultCalls as alloy::sol_types::SolInterface>::abi_decode(&input)
        {
            assert!(
                verifier_a
                    .batchRootSignatures(a.deployment.vault, c.root)
                    .call()
                    .await
                    .unwrap()
                    >= U256::from(3u64)
            );
            batched += 1;
        }
    }
    assert!(
        batched >= 8,
        "only {batched} of 16 burns were unlocked from a batch root"
    );

    // 200 locks at once: delivered through batch attestations.
    let many_to = Address::repeat_byte(0x53);
    let started = Instant::now();
    let batch = transfer::send_many_locks(
        &a,
        &b,
        a.deployment.tokens["GCC"],
        ether(1),
        many_to,
        &key,
        200,
    )
    .await
    .unwrap();
    let took = wait_all_delivered(&a, &b, &batch, Duration::from_secs(180)).await;
    assert_minted_exactly_once(&b, &batch).await;
    assert_eq!(balance(&b.rpc, w_gcc, many_to).await, ether(200));
    let ids: HashSet<B256> = batch.iter().map(|s| s.id).collect();
    let release_txs: HashSet<B256> = minted(&b)
        .await
        .into_iter()
        .filter(|(id, _)| ids.contains(id))
        .map(|(_, tx)| tx)
        .collect();
    eprintln!("200 transfers: sent+delivered in {:.1}s ({:.1}s after the last lock) in {} release transactions", started.elapsed().as_secs_f64(), took.as_secs_f64(), release_txs.len());
    assert!(
        release_txs.len() <= 40,
        "200 transfers took {} release transactions: batching did not happen",
        release_txs.len()
    );

    // The command line: transfer with progress, then status by message id.
    let exe = env!("CARGO_BIN_EXE_ghostbridge");
    let cfg = d.config_path("relayer");
    let out = std::process::Command::new(exe)
        .args(["transfer", "--config"])
        .arg(&cfg)
        .args([
            "--from",
            "31337",
            "--to",
            "31338",
            "--token",
            "GCC",
            "--amount",
            "1.25",
            "--timeout",
            "60",
        ])
        .env("GHOSTBRIDGE_USER_KEY", USER_KEY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "transfer failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("delivered"),
        "no progress display"
    );
    let id = stdout
        .split_whitespace()
        .nth(1)
        .expect("message id printed")
        .to_owned();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let out = std::process::Command::new(exe)
        .args(["status", "--config"])
        .arg(&cfg)
        .arg(&id)
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && status.contains("confirmed"),
        "status of {id}: {status}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(exe)
        .args(["status", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("failed_permanently 0"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The watcher saw every release backed and every PQ signature valid.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let health = reqwest::get(format!("http://{}/health", d.ops_addr("watcher")))
        .await
        .unwrap();
    let status = health.status();
    let body = health.text().await.unwrap();
    assert!(status.is_success(), "watcher unhealthy: {body}");
    assert!(!minter_b.paused().call().await.unwrap());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn relayer_killed_twenty_times_delivers_each_transfer_exactly_once() {
    let mut d = Devnet::start(options("kill9", 20645))
        .await
        .expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    let to = Address::repeat_byte(0x61);
    let (a2, b2, key2) = (a.clone(), b.clone(), key.clone());
    let sender = tokio::spawn(async move {
        let mut all = Vec::new();
        // Four waves so kills land during scanning, attestation, submission and confirmation.
        for _ in 0..4 {
            all.extend(
                transfer::send_many_locks(
                    &a2,
                    &b2,
                    a2.deployment.tokens["GCC"],
                    ether(1),
                    to,
                    &key2,
                    50,
                )
                .await
                .unwrap(),
            );
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        all
    });
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for kill in 0..20 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(300 + seed % 900)).await;
        d.kill9("relayer").await.unwrap();
        d.spawn_daemon(
            "relayer",
            "relay",
            &[("GHOSTBRIDGE_RELAYER_KEY", devnet::RELAYER_KEY.into())],
        )
        .unwrap();
        eprintln!("kill -9 #{} done", kill + 1);
    }
    let sent = sender.await.unwrap();
    assert_eq!(sent.len(), 200);
    wait_all_delivered(&a, &b, &sent, Duration::from_secs(240)).await;
    assert_minted_exactly_once(&b, &sent).await;
    let w_gcc = BridgeMinter::new(b.deployment.minter, provider(&b.rpc))
        .wrappedTokenOf(a.chain_id, a.deployment.tokens["GCC"])
        .call()
        .await
        .unwrap();
    assert_eq!(
        balance(&b.rpc, w_gcc, to).await,
        ether(200),
        "exactly 200 minted"
    );
    d.stop().await;
}

/// Transactions from `accounts` on `end` since deployment: (count, reverted).
async fn transactions_from(end: &End, accounts: &[Address]) -> HashMap<Address, (usize, usize)> {
    let p = provider(&end.rpc);
    let head = p.get_block_number().await.unwrap();
    let mut out: HashMap<Address, (usize, usize)> = HashMap::new();
    for n in end.deployment.deploy_block..=head {
        let block = p
            .get_block_by_number(n.into())
            .full()
            .await
            .unwrap()
            .unwrap();
        for tx in block.transactions.txns() {
            let from = tx.inner.signer();
            if accounts.contains(&from) {
                let r = p
                    .get_transaction_receipt(*tx.inner.tx_hash())
                    .await
                    .unwrap()
                    .unwrap();
                let e = out.entry(from).or_default();
                e.0 += 1;
                if !r.status() {
                    e.1 += 1;
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn two_relayers_on_one_postgres_never_submit_twice() {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let db = format!("gb_e2e_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("DATABASE_URL must point at a running PostgreSQL");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    let url = match base.rfind('/') {
        Some(i) => format!("{}/{db}", &base[..i]),
        None => unreachable!(),
    };
    let mut o = options("two-relayers", 20745);
    o.relayer_store = Some(url);
    let mut d = Devnet::start(o).await.expect("devnet");
    d.spawn_daemon(
        "relayer-2",
        "relay",
        &[("GHOSTBRIDGE_RELAYER_KEY", devnet::RELAYER2_KEY.into())],
    )
    .unwrap();
    let (a, b) = ends(&d);
    let key = user();
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
                40,
            )
            .await
            .unwrap(),
        );
        // Trickle: small groups go as single mints, so both relayers race for many claims.
        for _ in 0..10 {
            let leg = transfer::resolve_leg(&a, &b, "GCC").await.unwrap();
            sent.push(
                transfer::send(&a, &b, leg, ether(1), Address::repeat_byte(0x71), &key)
                    .await
                    .unwrap(),
            );
        }
    }
    wait_all_delivered(&a, &b, &sent, Duration::from_secs(180)).await;
    assert_minted_exactly_once(&b, &sent).await;
    let r1: PrivateKeySigner = devnet::RELAYER_KEY.parse().unwrap();
    let r2: PrivateKeySigner = devnet::RELAYER2_KEY.parse().unwrap();
    let txs = transactions_from(&b, &[r1.address(), r2.address()]).await;
    eprintln!("relayer transactions on B (sent, reverted): {txs:?}");
    for (who, (_, reverted)) in &txs {
        assert_eq!(
            *reverted, 0,
            "relayer {who} sent a transaction that reverted (a double submission)"
        );
    }
    d.stop().await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&admin)
        .await
        .ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn rpc_outage_is_retried_and_nothing_is_lost() {
    let base = 20845u16;
    let up = Arc::new(AtomicBool::new(true));
    for i in 0..2u16 {
        tokio::spawn(proxy(base + 40 + i, base + i, up.clone()));
    }
    let mut o = options("rpc-outage", base);
    o.daemon_rpcs = Some([
        format!("http://127.0.0.1:{}", base + 40),
        format!("http://127.0.0.1:{}", base + 41),
    ]);
    let d = Devnet::start(o).await.expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    let mut sent = transfer::send_many_locks(
        &a,
        &b,
        a.deployment.tokens["GCC"],
        ether(1),
        Address::repeat_byte(0x81),
        &key,
        10,
    )
    .await
    .unwrap();
    up.store(false, Ordering::SeqCst);
    // Transfers made while every daemon is cut off from both chains.
    sent.extend(
        transfer::send_many_locks(
            &a,
            &b,
            a.deployment.tokens["GCC"],
            ether(1),
            Address::repeat_byte(0x81),
            &key,
            10,
        )
        .await
        .unwrap(),
    );
    tokio::time::sleep(Duration::from_secs(8)).await;
    let metrics = reqwest::get(format!("http://{}/metrics", d.ops_addr("relayer")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ghostbridge_relayer_rpc_errors_total"),
        "the relayer should have counted RPC errors during the outage"
    );
    up.store(true, Ordering::SeqCst);
    wait_all_delivered(&a, &b, &sent, Duration::from_secs(120)).await;
    assert_minted_exactly_once(&b, &sent).await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_reorganised_away_before_its_depth_is_never_minted() {
    let mut o = options("reorg", 20945);
    o.confirmations = 4;
    let d = Devnet::start(o).await.expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    let pa = provider(&a.rpc);
    let snapshot: U256 = pa.raw_request("evm_snapshot".into(), ()).await.unwrap();
    let doomed = transfer::send(
        &a,
        &b,
        Leg::Lock(a.deployment.tokens["GCC"]),
        ether(7),
        Address::repeat_byte(0x91),
        &key,
    )
    .await
    .unwrap();
    let reverted: bool = pa
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted, "anvil reverted to the snapshot");
    // The same nonce now carries another message.
    let kept = transfer::send(
        &a,
        &b,
        Leg::Lock(a.deployment.tokens["GCC"]),
        ether(3),
        Address::repeat_byte(0x92),
        &key,
    )
    .await
    .unwrap();
    assert_eq!(doomed.nonce, kept.nonce);
    assert_ne!(doomed.id, kept.id);
    transfer::follow(&a, &b, &kept, Duration::from_secs(60), false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ids: Vec<B256> = minted(&b).await.into_iter().map(|(id, _)| id).collect();
    assert!(ids.contains(&kept.id));
    assert!(
        !ids.contains(&doomed.id),
        "a reorganised-away lock was minted"
    );
    let w = BridgeMinter::new(b.deployment.minter, provider(&b.rpc))
        .wrappedTokenOf(a.chain_id, a.deployment.tokens["GCC"])
        .call()
        .await
        .unwrap();
    assert_eq!(
        balance(&b.rpc, w, Address::repeat_byte(0x91)).await,
        U256::ZERO
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validators_cross_check_a_second_rpc_before_signing() {
    let base = 21145u16;
    let up = Arc::new(AtomicBool::new(false));
    for i in 0..2u16 {
        tokio::spawn(proxy(base + 40 + i, base + i, up.clone()));
    }
    let mut o = options("cross-check", base);
    o.validator_cross_check_rpcs = Some([
        format!("http://127.0.0.1:{}", base + 40),
        format!("http://127.0.0.1:{}", base + 41),
    ]);
    let d = Devnet::start(o).await.expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    // The second RPC is unreachable: validators must not admit (so nobody can deliver).
    let sent = transfer::send(
        &a,
        &b,
        Leg::Lock(a.deployment.tokens["GCC"]),
        ether(4),
        Address::repeat_byte(0xb1),
        &key,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let pb = provider(&b.rpc);
    assert!(
        !transfer::delivered(&b, &pb, a.chain_id, sent.leg, sent.nonce)
            .await
            .unwrap(),
        "delivered without the cross-check RPC agreeing"
    );
    up.store(true, Ordering::SeqCst);
    transfer::follow(&a, &b, &sent, Duration::from_secs(60), false)
        .await
        .unwrap();
    assert_minted_exactly_once(&b, std::slice::from_ref(&sent)).await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validators_halt_when_the_chain_rewrites_what_they_signed() {
    let d = Devnet::start(options("deep-reorg", 21245))
        .await
        .expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    let pa = provider(&a.rpc);
    let snapshot: U256 = pa.raw_request("evm_snapshot".into(), ()).await.unwrap();
    let sent = transfer::send(
        &a,
        &b,
        Leg::Lock(a.deployment.tokens["GCC"]),
        ether(6),
        Address::repeat_byte(0xc1),
        &key,
    )
    .await
    .unwrap();
    transfer::follow(&a, &b, &sent, Duration::from_secs(60), false)
        .await
        .unwrap();
    // A reorg deeper than the confirmation depth: the signed lock is gone.
    let reverted: bool = pa
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted);
    let start = Instant::now();
    for i in 0..devnet::VALIDATOR_KEYS.len() {
        let url = format!("http://{}/health", d.ops_addr(&format!("validator-{i}")));
        loop {
            let resp = reqwest::get(&url).await.unwrap();
            if resp.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                let body = resp.text().await.unwrap();
                assert!(
                    body.contains("halted") && body.contains("reorganised"),
                    "{body}"
                );
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "validator-{i} did not halt after a deep reorg"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    // Halted validators sign nothing, not even what they admitted before.
    let (config, _) = ghostbridge_core::config::Config::load(
        &d.config_path("relayer"),
        ghostbridge_core::config::Role::Relayer,
    )
    .unwrap();
    let clients = ValidatorClients::from_config(&config).unwrap();
    for answer in clients
        .ask(&ValidatorClients::message_path(b.chain_id, sent.id), None)
        .await
    {
        let e = answer.expect_err("a halted validator signed");
        assert!(e.to_string().contains("halted"), "{e}");
    }
    // The watcher sees wrapped supply on B that no lock on A backs any more, and pauses.
    let vault_a = BridgeVault::new(a.deployment.vault, provider(&a.rpc));
    while !vault_a.paused().call().await.unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "watcher did not pause after the deep reorg"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let body = reqwest::get(format!("http://{}/health", d.ops_addr("watcher")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("supply_exceeds_backing"), "{body}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stuck_release_is_replaced_with_bumped_fees() {
    let mut o = options("fee-bump", 21345);
    o.resubmit_after_secs = 2;
    let d = Devnet::start(o).await.expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    let pb = provider(&b.rpc);
    // Chain B stops producing blocks: the relayer's mint stays in the mempool.
    let _: serde_json::Value = pb
        .raw_request("evm_setIntervalMining".into(), (0,))
        .await
        .unwrap();
    let sent = transfer::send(
        &a,
        &b,
        Leg::Lock(a.deployment.tokens["GCC"]),
        ether(2),
        Address::repeat_byte(0xd1),
        &key,
    )
    .await
    .unwrap();
    let start = Instant::now();
    loop {
        let m = reqwest::get(format!("http://{}/metrics", d.ops_addr("relayer")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if m.lines().any(|l| {
            l.starts_with("ghostbridge_relayer_transactions_sent_total") && l.contains("bump=\"2\"")
        }) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the relayer never replaced its stuck transaction:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _: serde_json::Value = pb
        .raw_request("evm_setIntervalMining".into(), (1,))
        .await
        .unwrap();
    transfer::follow(&a, &b, &sent, Duration::from_secs(60), false)
        .await
        .unwrap();
    assert_minted_exactly_once(&b, std::slice::from_ref(&sent)).await;
    // The mined release is a replacement: it pays more than the base fee estimate would.
    let (_, release_tx) = minted(&b)
        .await
        .into_iter()
        .find(|(id, _)| *id == sent.id)
        .unwrap();
    let tx = pb
        .get_transaction_by_hash(release_tx)
        .await
        .unwrap()
        .unwrap();
    let relayer: PrivateKeySigner = devnet::RELAYER_KEY.parse().unwrap();
    assert_eq!(tx.inner.signer(), relayer.address());
    let offered = alloy::consensus::Transaction::max_fee_per_gas(tx.inner.inner());
    let first = pb.estimate_eip1559_fees().await.unwrap().max_fee_per_gas;
    eprintln!("mined replacement pays maxFeePerGas {offered} vs a fresh estimate {first}");
    assert!(
        offered > first,
        "the mined transaction was not a fee-bumped replacement"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_and_a_fake_mint_is_caught_and_paused() {
    let d = Devnet::start(options("bad-input", 21045))
        .await
        .expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    let pb = provider(&b.rpc);
    let real = transfer::send(
        &a,
        &b,
        Leg::Lock(a.deployment.tokens["GCC"]),
        ether(2),
        key.address(),
        &key,
    )
    .await
    .unwrap();
    transfer::follow(&a, &b, &real, Duration::from_secs(60), false)
        .await
        .unwrap();

    let set = ValidatorSet::read(&pb, b.deployment.verifier)
        .await
        .unwrap();
    let domain = Domain {
        chain_id: b.chain_id,
        verifier: b.deployment.verifier,
    };
    let attacker: PrivateKeySigner =
        "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e"
            .parse()
            .unwrap(); // anvil account 6
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(attacker.clone()))
        .connect_http(b.rpc.parse().unwrap());
    let minter = BridgeMinter::new(b.deployment.minter, &wallet);
    let keys = devnet::validator_keys().unwrap();
    let fake = Message {
        version: 1,
        srcChainId: a.chain_id,
        dstChainId: b.chain_id,
        srcContract: a.deployment.vault,
        nonce: 9_999,
        token: a.deployment.tokens["GCC"],
        amount: ether(1_000),
        sender: attacker.address(),
        recipient: attacker.address(),
    };
    let fake_id = message_id(&fake);
    // A lock leg: the minter of B releases it, so the attestation names the minter.
    let digest = domain.message_digest(b.deployment.minter, fake_id, set.epoch);

    // Forged: signed by keys that are not validators.
    let outsiders: Vec<_> = (1u8..=3)
        .map(|i| ghostbridge_core::keys::ValidatorKey::devnet(&[i; 32]).unwrap())
        .collect();
    let mut forged = sign_with(&outsiders, &set.signers, digest);
    for (i, s) in forged.signatures.iter_mut().enumerate() {
        s.signer_index = i as u8;
    }
    let e = minter
        .mint(to_minter(&fake), forged.to_minter())
        .call()
        .await
        .expect_err("forged attestation accepted");
    eprintln!("forged: {e}");
    // Under threshold: 2 real validators of 4 (threshold 3).
    let two = sign_with(&keys[..2], &set.signers, digest);
    let e = minter
        .mint(to_minter(&fake), two.to_minter())
        .call()
        .await
        .expect_err("2-of-4 accepted");
    eprintln!("under threshold: {e}");
    // Replay of a delivered message with a valid attestation.
    let real_msg = BridgeVault::Locked::decode_log_data(
        real.receipt
            .inner
            .logs()
            .iter()
            .find(|l| l.topic0() == Some(&BridgeVault::Locked::SIGNATURE_HASH))
            .unwrap()
            .data(),
    )
    .unwrap()
    .message;
    let replay = sign_with(
        &keys[..3],
        &set.signers,
        domain.message_digest(b.deployment.minter, real.id, set.epoch),
    );
    let e = minter
        .mint(to_minter(&real_msg), replay.to_minter())
        .call()
        .await
        .expect_err("replay accepted");
    assert!(
        format!("{e:?}").contains("AlreadyConsumed") || format!("{e}").contains("revert"),
        "{e}"
    );
    // The Rust protocol (core/src/protocol.rs) against the deployed contracts: domain separator,
    // message and batch digests, message id, signer-set and PQ-key-set hashes.
    let v = AttestationVerifier::new(b.deployment.verifier, pb.clone());
    assert_eq!(
        v.domainSeparator().call().await.unwrap(),
        domain.separator()
    );
    assert_eq!(
        v.messageDigest(b.deployment.minter, real.id)
            .call()
            .await
            .unwrap(),
        domain.message_digest(b.deployment.minter, real.id, set.epoch)
    );
    assert_eq!(
        v.messageDigest(b.deployment.vault, real.id)
            .call()
            .await
            .unwrap(),
        domain.message_digest(b.deployment.vault, real.id, set.epoch)
    );
    assert_ne!(
        domain.message_digest(b.deployment.vault, real.id, set.epoch),
        domain.message_digest(b.deployment.minter, real.id, set.epoch)
    );
    let root = ghostbridge_core::protocol::merkle_root(&[real.id, fake_id, message_id(&real_msg)])
        .unwrap();
    assert_eq!(
        v.batchDigest(b.deployment.minter, root)
            .call()
            .await
            .unwrap(),
        domain.batch_digest(b.deployment.minter, root, set.epoch)
    );
    assert_eq!(
        v.batchDigest(b.deployment.vault, root)
            .call()
            .await
            .unwrap(),
        domain.batch_digest(b.deployment.vault, root, set.epoch)
    );
    // The endpoint the validators chose for the real lock (from its source contract) is B's minter.
    assert_eq!(
        ghostbridge_core::protocol::release_endpoint(
            real_msg.srcContract,
            &a.deployment,
            &b.deployment
        ),
        Some(b.deployment.minter)
    );
    // The same three keys signing for B's vault instead: the minter refuses it (endpoint binding).
    let for_vault = sign_with(
        &keys[..3],
        &set.signers,
        domain.message_digest(b.deployment.vault, fake_id, set.epoch),
    );
    let e = minter
        .mint(to_minter(&fake), for_vault.to_minter())
        .call()
        .await
        .expect_err("an attestation for the vault minted");
    eprintln!("attestation for the vault presented to the minter: {e}");
    assert_eq!(message_id(&real_msg), real.id);
    assert_eq!(
        v.signerSetHash().call().await.unwrap(),
        ghostbridge_core::protocol::signer_set_hash(&set.signers)
    );
    assert_eq!(
        v.pqKeySetHash().call().await.unwrap(),
        ghostbridge_core::protocol::pq_key_set_hash(&set.pq_key_hashes)
    );
    let keys_hashes: Vec<B256> = keys.iter().map(|k| k.pq_key_hash()).collect();
    assert_eq!(
        set.pq_key_hashes, keys_hashes,
        "the devnet registered the validators' real ML-DSA-65 key hashes"
    );

    // Wrong chain: a message for chain A presented on chain B.
    let mut wrong = fake.clone();
    wrong.dstChainId = a.chain_id;
    let wrong_att = sign_with(
        &keys[..3],
        &set.signers,
        domain.message_digest(b.deployment.minter, message_id(&wrong), set.epoch),
    );
    minter
        .mint(to_minter(&wrong), wrong_att.to_minter())
        .call()
        .await
        .expect_err("wrong-chain message accepted");
    // A validator answer whose ML-DSA signature fails is refused by the relayer's check.
    let (config, _) = ghostbridge_core::config::Config::load(
        &d.config_path("relayer"),
        ghostbridge_core::config::Role::Relayer,
    )
    .unwrap();
    let clients = ValidatorClients::from_config(&config).unwrap();
    let answers = clients
        .ask(&ValidatorClients::message_path(b.chain_id, real.id), None)
        .await;
    let good = answers
        .into_iter()
        .find_map(Result::ok)
        .expect("a validator answered");
    let expected = domain.message_digest(b.deployment.minter, real.id, set.epoch);
    // An answer checked against the digest for the other endpoint (B's vault) is refused.
    let e = clients
        .check(
            &set,
            domain.message_digest(b.deployment.vault, real.id, set.epoch),
            &good,
            true,
        )
        .await
        .expect_err("answer for the minter accepted for the vault");
    assert!(e.to_string().contains("signed digest"), "{e}");
    clients
        .check(&set, expected, &good, true)
        .await
        .expect("genuine answer passes");
    let mut bad_pq = good.clone();
    let mut m = bad_pq.mldsa.to_vec();
    m[10] ^= 0x40;
    bad_pq.mldsa = m.into();
    let e = clients
        .check(&set, expected, &bad_pq, true)
        .await
        .expect_err("bad ML-DSA accepted");
    assert!(e.to_string().contains("ML-DSA"), "{e}");
    let mut bad_ec = good.clone();
    let mut m = bad_ec.ecdsa.to_vec();
    m[5] ^= 1;
    bad_ec.ecdsa = m.into();
    clients
        .check(&set, expected, &bad_ec, true)
        .await
        .expect_err("bad secp256k1 accepted");

    // Three compromised validator keys mint without any lock: the chain accepts it, the watcher
    // must not.
    let compromised = sign_with(&keys[..3], &set.signers, digest);
    if let Err(e) = minter
        .mint(to_minter(&fake), compromised.to_minter())
        .call()
        .await
    {
        panic!("the fake mint should pass the contract's checks: {e}");
    }
    let receipt = minter
        .mint(to_minter(&fake), compromised.to_minter())
        .gas(1_000_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(
        receipt.status(),
        "the fake mint itself goes through on chain (gas used {} of its limit)",
        receipt.gas_used
    );
    let start = Instant::now();
    let minter_read = BridgeMinter::new(b.deployment.minter, pb.clone());
    while !minter_read.paused().call().await.unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "watcher did not pause the minter after a fake mint"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "watcher paused the bridge {:.1}s after the fake mint",
        start.elapsed().as_secs_f64()
    );
    // The pause can come from the supply check of an earlier pass than the one that names the
    // release (a CI run read /health in between): wait for the release to be named too.
    let health_url = format!("http://{}/health", d.ops_addr("watcher"));
    let start = Instant::now();
    loop {
        let health = reqwest::get(&health_url).await.unwrap();
        assert_eq!(health.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
        let text = health.text().await.unwrap();
        if text.contains("unbacked_release") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the watcher paused but never reported the unbacked release: {text}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let metrics = reqwest::get(format!("http://{}/metrics", d.ops_addr("watcher")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("ghostbridge_watcher_violations_total"));
    let vault_a = BridgeVault::new(a.deployment.vault, provider(&a.rpc));
    while !vault_a.paused().call().await.unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the watcher paused chain B but not chain A"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    d.stop().await;
}

#[test]
fn keys_generate_writes_an_encrypted_keystore() {
    let dir = root().join("deployments").join("e2e-keys");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v.keystore.json");
    let _ = std::fs::remove_file(&path);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ghostbridge"))
        .args(["keys", "generate", "--out"])
        .arg(&path)
        .env("GHOSTBRIDGE_KEYSTORE_PASSWORD", "correct horse battery")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let key = ghostbridge_core::keystore::load(&path, b"correct horse battery").unwrap();
    assert!(
        stdout.contains(&key.address().to_string())
            && stdout.contains(&key.pq_key_hash().to_string()),
        "{stdout}"
    );
    assert!(ghostbridge_core::keystore::load(&path, b"wrong").is_err());
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains(&alloy::primitives::hex::encode(
                key.secp_secret().as_slice()
            )),
        "secret stored in clear"
    );
}

#[test]
fn malformed_config_is_refused_naming_every_key() {
    let dir = root().join("deployments").join("e2e-bad-config");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[store]\nurl = \"mysql://x\"\n\n[[chains]]\npreset = \"ethereum\"\nchain_id = 5\nrpc_urls = [\"ftp://x\"]\n\n[relayer]\nid = \"\"\nops_listen = \"nowhere\"\nbatch_min = 1\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ghostbridge"))
        .args(["relay", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "store.url",
        "chains[0].chain_id",
        "chains[0].rpc_urls[0]",
        "chains[0].deployment",
        "chains",
        "relayer.id",
        "relayer.ops_listen",
        "relayer.batch_min",
        "validators",
    ] {
        assert!(
            err.contains(key),
            "error output does not name {key}:\n{err}"
        );
    }
}
