//! Issue 11, items 7 and 8, end to end: what a stolen validator quorum (3 of the devnet's 4 real
//! validator keys) gets out of a live devnet before the watcher's pause lands, and that those
//! keys can no longer rotate the validator set to their own.
// Test code: a panicking unwrap (or overflow) is the failure report.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod common;
use common::*;

use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use ghostbridge_agent::attest::ValidatorSet;
use ghostbridge_cli::devnet::{self, Devnet};
use ghostbridge_cli::transfer::{self, End, Leg};
use ghostbridge_core::bindings::{
    ghost_token::GhostToken, minter::BridgeMinter, vault::BridgeVault,
    verifier::AttestationVerifier,
};
use ghostbridge_core::protocol::{message_id, to_minter, Domain, Message};

/// anvil account 6: the attacker's gas account (not a validator, relayer or guardian).
const ATTACKER_KEY: &str = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";

fn tokens(e: &End) -> Vec<(String, Address)> {
    let mut v = vec![("ETH".to_owned(), Address::ZERO)];
    for s in ["GCC", "SPIRIT", "MANA", "GHOST"] {
        v.push((s.to_owned(), e.deployment.tokens[s]));
    }
    v
}

fn devnet_config() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("script/config/devnet.json")).unwrap(),
    )
    .unwrap()
}

fn config_u256(key: &str) -> U256 {
    let c = devnet_config();
    match &c[key] {
        serde_json::Value::String(s) => s.parse().unwrap(),
        v => U256::from(v.as_u64().unwrap()),
    }
}

/// One thing a quorum can drain: a vault's holding of a token, or a minter's wrapped supply.
#[derive(Clone, Debug)]
struct Target {
    chain: usize,
    what: String,
    /// Vault side: the canonical token (zero = ETH). Minter side: the wrapped token.
    token: Address,
    /// Minter side: the origin token on the other chain.
    origin: Address,
    vault: bool,
    before: U256,
}

async fn holding(end: &End, t: &Target) -> U256 {
    let p = provider(&end.rpc);
    if t.vault {
        if t.token.is_zero() {
            p.get_balance(end.deployment.vault).await.unwrap()
        } else {
            balance(&end.rpc, t.token, end.deployment.vault).await
        }
    } else {
        GhostToken::new(t.token, p)
            .totalSupply()
            .call()
            .await
            .unwrap()
    }
}

fn fmt_units(x: U256) -> String {
    let one = U256::from(10u64).pow(U256::from(18u64));
    let whole = x / one;
    let frac = (x % one) * U256::from(10_000u64) / one;
    format!("{whole}.{frac:04}")
}

/// Sets the release share of every wrapped token on `end`'s minter (the deployer is route admin).
async fn set_minter_floors(end: &End, other: &End, floor: U256) {
    let deployer: PrivateKeySigner = devnet::DEPLOYER_KEY.parse().unwrap();
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(deployer))
        .connect_http(end.rpc.parse().unwrap());
    let minter = BridgeMinter::new(end.deployment.minter, &p);
    let (bps, window) = (
        config_u256("releaseShareBps").to::<u16>(),
        config_u256("releaseWindowSeconds").to::<u64>(),
    );
    for (symbol, origin) in tokens(other) {
        let wrapped = minter
            .wrappedTokenOf(other.chain_id, origin)
            .call()
            .await
            .unwrap();
        let floor = if symbol == "ETH" && floor == config_u256("releaseFloor") {
            config_u256("releaseFloorNative")
        } else {
            floor
        };
        minter
            .setReleaseShare(wrapped, bps, window, floor)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_quorum_moves_at_most_ten_percent_of_any_vault_or_supply_before_the_pause() {
    let d = Devnet::start(options("quorum", 25045))
        .await
        .expect("devnet");
    let (a, b) = ends(&d);
    let ends_ = [a.clone(), b.clone()];
    let key = user();

    // --- Real traffic first, so the vaults hold tokens and every wrapped token has a supply:
    // 300,000 of each GhostChain token (4 locks of 75,000: below the large amount) and 210 ETH
    // (10 x the devnet floors of 30,000 tokens and 20 ETH) both ways, delivered by the relayer.
    // A fresh wrapped token may only grow by its floor per window, so the operator opens the
    // minters with a launch floor for this bootstrap and puts the devnet defaults back before the
    // attack (which also resets the windows: the attacker meets a fresh window whose base is the
    // whole pre-attack supply, its best case).
    let launch_floor = ether(10_000_000);
    set_minter_floors(&a, &b, launch_floor).await;
    set_minter_floors(&b, &a, launch_floor).await;
    let per_lock = ether(75_000);
    let mut jobs = Vec::new();
    for (from, to) in [(a.clone(), b.clone()), (b.clone(), a.clone())] {
        let key = key.clone();
        jobs.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for (symbol, token) in tokens(&from) {
                if symbol == "ETH" {
                    sent.push(
                        transfer::send(
                            &from,
                            &to,
                            Leg::Lock(token),
                            ether(210),
                            key.address(),
                            &key,
                        )
                        .await
                        .unwrap(),
                    );
                } else {
                    sent.extend(
                        transfer::send_many(
                            &from,
                            &to,
                            Leg::Lock(token),
                            per_lock,
                            key.address(),
                            &key,
                            4,
                        )
                        .await
                        .unwrap(),
                    );
                }
            }
            sent
        }));
    }
    let sent: Vec<_> = futures::future::join_all(jobs)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    wait_all_delivered(&a, &b, &sent[0], Duration::from_secs(180)).await;
    wait_all_delivered(&b, &a, &sent[1], Duration::from_secs(180)).await;
    let default_floor = config_u256("releaseFloor");
    set_minter_floors(&a, &b, default_floor).await;
    set_minter_floors(&b, &a, default_floor).await;

    // --- What is at stake, per chain: 5 vault holdings and 5 wrapped supplies.
    let mut targets = Vec::new();
    for (i, end) in ends_.iter().enumerate() {
        let other = &ends_[1 - i];
        let minter = BridgeMinter::new(end.deployment.minter, provider(&end.rpc));
        for (symbol, token) in tokens(end) {
            targets.push(Target {
                chain: i,
                what: format!("vault {} {symbol}", ["A", "B"][i]),
                token,
                origin: Address::ZERO,
                vault: true,
                before: U256::ZERO,
            });
        }
        for (symbol, origin) in tokens(other) {
            let wrapped = minter
                .wrappedTokenOf(other.chain_id, origin)
                .call()
                .await
                .unwrap();
            targets.push(Target {
                chain: i,
                what: format!("minter {} w{symbol}", ["A", "B"][i]),
                token: wrapped,
                origin,
                vault: false,
                before: U256::ZERO,
            });
        }
    }
    for t in &mut targets {
        t.before = holding(&ends_[t.chain], t).await;
    }

    // --- The attack: 3 of 4 real validator keys sign forged unlocks (vaults) and mints
    // (minters) of every token on both chains, each below the large amount (4 signatures would be
    // needed above it), as a descending ladder of amounts so the window is filled greedily,
    // sent back to back with fixed gas (no simulation), round after round until both chains are
    // paused.
    let attacker: PrivateKeySigner = ATTACKER_KEY.parse().unwrap();
    let large = config_u256("largeAmount");
    let start = Instant::now();
    let mut attack = Vec::new();
    for (i, end) in ends_.iter().enumerate() {
        let other = ends_[1 - i].clone();
        let end = end.clone();
        let mine: Vec<Target> = targets.iter().filter(|t| t.chain == i).cloned().collect();
        let attacker = attacker.clone();
        attack.push(tokio::spawn(async move {
            let keys = devnet::validator_keys().unwrap();
            let p = provider(&end.rpc);
            let wallet = ProviderBuilder::new()
                .wallet(EthereumWallet::from(attacker.clone()))
                .connect_http(end.rpc.parse().unwrap());
            let set = ValidatorSet::read(&p, end.deployment.verifier)
                .await
                .unwrap();
            let domain = Domain {
                chain_id: end.chain_id,
                verifier: end.deployment.verifier,
            };
            let vault = BridgeVault::new(end.deployment.vault, &wallet);
            let minter = BridgeMinter::new(end.deployment.minter, &wallet);
            let mut forged_nonce = 1_000_000u64;
            let (mut sent, mut rounds) = (0usize, 0usize);
            let mut first_block = None;
            while !BridgeVault::new(end.deployment.vault, p.clone())
                .paused()
                .call()
                .await
                .unwrap()
                || !BridgeMinter::new(end.deployment.minter, p.clone())
                    .paused()
                    .call()
                    .await
                    .unwrap()
            {
                rounds += 1;
                let mut nonce = p
                    .get_transaction_count(attacker.address())
                    .pending()
                    .await
                    .unwrap();
                let fees = p.estimate_eip1559_fees().await.unwrap();
                let (max_fee, tip) = (
                    fees.max_fee_per_gas.saturating_mul(2),
                    fees.max_priority_fee_per_gas,
                );
                for step in 0..12u32 {
                    for t in &mine {
                        let top = t.before.min(large - U256::from(1u64));
                        let amount = top >> step;
                        if amount.is_zero() {
                            continue;
                        }
                        forged_nonce += 1;
                        let (src_contract, endpoint, token) = if t.vault {
                            (other.deployment.minter, end.deployment.vault, t.token)
                        // a burn leg from the other minter
                        } else {
                            (other.deployment.vault, end.deployment.minter, t.origin)
                            // a lock leg from the other vault
                        };
                        let m = Message {
                            version: 1,
                            srcChainId: other.chain_id,
                            dstChainId: end.chain_id,
                            srcContract: src_contract,
                            nonce: forged_nonce,
                            token,
                            amount,
                            sender: attacker.address(),
                            recipient: attacker.address(),
                        };
                        let att = sign_with(
                            &keys[..3],
                            &set.signers,
                            domain.message_digest(endpoint, message_id(&m), set.epoch),
                        );
                        let pending = if t.vault {
                            vault
                                .unlock(m, att.to_vault())
                                .nonce(nonce)
                                .gas(250_000)
                                .max_fee_per_gas(max_fee)
                                .max_priority_fee_per_gas(tip)
                                .send()
                                .await
                        } else {
                            minter
                                .mint(to_minter(&m), att.to_minter())
                                .nonce(nonce)
                                .gas(250_000)
                                .max_fee_per_gas(max_fee)
                                .max_priority_fee_per_gas(tip)
                                .send()
                                .await
                        };
                        if pending.is_ok() {
                            nonce += 1;
                            sent += 1;
                        }
                    }
                }
                if first_block.is_none() {
                    first_block = Some(p.get_block_number().await.unwrap());
                }
                assert!(
                    rounds < 60,
                    "chain {} not paused after {rounds} attack rounds",
                    end.chain_id
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            (end.chain_id, sent, rounds, first_block.unwrap_or_default())
        }));
    }
    for r in futures::future::join_all(attack).await {
        let (chain, sent, rounds, block) = r.unwrap();
        eprintln!("chain {chain}: {sent} forged releases sent in {rounds} rounds from block {block}; paused");
    }
    eprintln!(
        "both chains paused {:.1} s after the attack started",
        start.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await; // anything still in the pool is mined (and refused: paused)

    // --- What left, per target, against the pre-attack figure.
    let mut worst = 0f64;
    let mut over = Vec::new();
    println!("\n| target | before | moved by the attacker | % of before |");
    println!("|---|---|---|---|");
    for t in &targets {
        let after = holding(&ends_[t.chain], t).await;
        let moved = if t.vault {
            t.before.saturating_sub(after)
        } else {
            after.saturating_sub(t.before)
        };
        let pct = if t.before.is_zero() {
            f64::INFINITY
        } else {
            (moved * U256::from(1_000_000u64) / t.before).to::<u64>() as f64 / 10_000.0
        };
        println!(
            "| {} | {} | {} | {:.4} % |",
            t.what,
            fmt_units(t.before),
            fmt_units(moved),
            pct
        );
        worst = worst.max(pct);
        if moved * U256::from(10u64) > t.before {
            over.push(t.what.clone());
        }
    }
    println!("worst: {worst:.4} % of a pre-attack figure\n");
    assert!(
        targets.iter().all(|t| !t.before.is_zero()),
        "every target had something at stake"
    );
    assert!(
        over.is_empty(),
        "the attacker moved more than 10 % of: {over:?}"
    );
    assert!(
        worst > 1.0,
        "the attack should have moved something before the pause; worst was {worst} %"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn threshold_keys_cannot_rotate_and_an_unannounced_rotation_is_cancelled_by_the_watcher() {
    let mut o = options("quorum-rotation", 25145);
    o.relayer = false;
    let d = Devnet::start(o).await.expect("devnet");
    let (a, b) = ends(&d);
    let p = provider(&b.rpc);
    let keys = devnet::validator_keys().unwrap();
    let set = ValidatorSet::read(&p, b.deployment.verifier).await.unwrap();
    let attacker: PrivateKeySigner = ATTACKER_KEY.parse().unwrap();
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(attacker.clone()))
        .connect_http(b.rpc.parse().unwrap());
    let v = AttestationVerifier::new(b.deployment.verifier, &wallet);
    let read = AttestationVerifier::new(b.deployment.verifier, p.clone());

    // The attacker's own 4-key set, authorised by 3 stolen keys (threshold 3, large threshold 4):
    // the attack, refused at the proposal.
    let mut evil: Vec<Address> = (10u8..14)
        .map(|i| {
            ghostbridge_core::keys::ValidatorKey::devnet(&[i; 32])
                .unwrap()
                .address()
        })
        .collect();
    evil.sort();
    let pq: Vec<B256> = evil
        .iter()
        .map(|a| alloy::primitives::keccak256(a.as_slice()))
        .collect();
    let digest = v
        .rotationDigest(evil.clone(), pq.clone(), 4, 4)
        .call()
        .await
        .unwrap();
    let three = sign_with(&keys[..3], &set.signers, digest);
    let e = v
        .proposeRotation(evil.clone(), pq.clone(), 4, 4, three.to_verifier())
        .call()
        .await
        .expect_err("3 keys proposed a rotation");
    eprintln!("3 of 4 keys propose: {e}");
    assert!(
        format!("{e:?}").contains("InsufficientSignatures")
            || format!("{e}").contains("0xf1e86aa6"),
        "{e}"
    );

    // With all 4 keys (the large threshold) a proposal goes through, but nothing changes before
    // the delay, and the watcher, which was not told of it, cancels it with the guardian key and
    // pauses the bridge.
    let four = sign_with(&keys, &set.signers, digest);
    let receipt = v
        .proposeRotation(evil.clone(), pq.clone(), 4, 4, four.to_verifier())
        .gas(1_000_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let proposed = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| AttestationVerifier::RotationProposed::decode_log_data(l.data()).ok())
        .expect("RotationProposed");
    let delay = read.rotationDelay().call().await.unwrap();
    eprintln!(
        "rotation proposed for epoch {} executable at {} (delay {delay} s)",
        proposed.newEpoch, proposed.executableAt
    );
    assert_eq!(delay, config_u256("rotationDelaySeconds").to::<u64>());
    assert_eq!(proposed.signers, evil);
    v.executeRotation(evil.clone(), pq.clone(), 4, 4)
        .call()
        .await
        .expect_err("executed before the delay");
    let start = Instant::now();
    while !read
        .pendingRotation()
        .call()
        .await
        .unwrap()
        .proposalHash
        .is_zero()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the watcher did not cancel the rotation"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "watcher cancelled the rotation {:.1} s after it was proposed",
        start.elapsed().as_secs_f64()
    );
    let head = p.get_block_number().await.unwrap();
    let cancelled = ghostbridge_agent::chain::scan_logs(
        &p,
        b.deployment.verifier,
        &[AttestationVerifier::RotationCancelled::SIGNATURE_HASH],
        b.deployment.deploy_block,
        head,
        1000,
    )
    .await
    .unwrap();
    let guardian: PrivateKeySigner = devnet::GUARDIAN_KEY.parse().unwrap();
    let by = AttestationVerifier::RotationCancelled::decode_log_data(cancelled[0].data())
        .unwrap()
        .guardian;
    assert_eq!(by, guardian.address(), "cancelled by the guardian key");
    v.cancelRotation()
        .call()
        .await
        .expect_err("a non-guardian may cancel");
    let vault_a = BridgeVault::new(a.deployment.vault, provider(&a.rpc));
    while !vault_a.paused().call().await.unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the watcher did not pause after the rotation proposal"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let health = reqwest::get(format!("http://{}/health", d.ops_addr("watcher")))
        .await
        .unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(health
        .text()
        .await
        .unwrap()
        .contains("unannounced_rotation"));

    // Past the delay it still cannot execute; the epoch never moved.
    let _: serde_json::Value = p
        .raw_request("evm_increaseTime".into(), (delay + 1,))
        .await
        .unwrap();
    let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await.unwrap();
    v.executeRotation(evil, pq, 4, 4)
        .call()
        .await
        .expect_err("a cancelled rotation executed");
    assert_eq!(read.epoch().call().await.unwrap(), set.epoch);
    d.stop().await;
}
