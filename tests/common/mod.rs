//! Helpers shared by the end-to-end test binaries (each `tests/e2e*.rs` includes this module).
#![allow(dead_code, unreachable_pub, unused_imports)]
// Test code: a panicking unwrap (or overflow) is the failure report.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use ghostbridge_agent::attest::{ValidatorClients, ValidatorSet};
use ghostbridge_agent::chain::scan_logs;
use ghostbridge_cli::devnet::{self, Devnet, DevnetOptions, USER_KEY};
use ghostbridge_cli::transfer::{self, End, Leg, Sent};
use ghostbridge_core::bindings::{
    ghost_token::GhostToken, minter::BridgeMinter, vault::BridgeVault,
    verifier::AttestationVerifier,
};
use ghostbridge_core::protocol::{
    message_id, to_compact, to_minter, Attestation, CompactSignature, Domain, Message,
};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod l2;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

pub fn options(name: &str, port_base: u16) -> DevnetOptions {
    // The daemons are this package's binary.
    std::env::set_var("GHOSTBRIDGE_BIN", env!("CARGO_BIN_EXE_ghostbridge"));
    let mut o = DevnetOptions::new(
        root(),
        root().join("deployments").join(format!("e2e-{name}")),
    );
    o.port_base = port_base;
    o.verbose = false;
    o
}

pub fn ends(d: &Devnet) -> (End, End) {
    let e = |i: usize| End {
        chain_id: d.chains[i].chain_id,
        rpc: d.chains[i].rpc.clone(),
        deployment: d.chains[i].deployment.clone(),
    };
    (e(0), e(1))
}

pub fn provider(url: &str) -> DynProvider {
    ghostbridge_agent::chain::http_provider(url).expect("provider")
}

pub fn user() -> PrivateKeySigner {
    USER_KEY.parse().expect("key")
}

pub fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

/// Every `Minted` on `chain` (message id → release tx).
pub async fn minted(end: &End) -> Vec<(B256, B256)> {
    let p = provider(&end.rpc);
    let head = p.get_block_number().await.expect("head");
    scan_logs(
        &p,
        end.deployment.minter,
        &[BridgeMinter::Minted::SIGNATURE_HASH],
        end.deployment.deploy_block,
        head,
        1000,
    )
    .await
    .expect("logs")
    .iter()
    .map(|l| {
        (
            BridgeMinter::Minted::decode_log_data(l.data())
                .expect("Minted")
                .messageId,
            l.transaction_hash.unwrap_or_default(),
        )
    })
    .collect()
}

/// Waits until every sent message is consumed on `to`.
pub async fn wait_all_delivered(
    from: &End,
    to: &End,
    sent: &[Sent],
    timeout: Duration,
) -> Duration {
    let start = Instant::now();
    let p = provider(&to.rpc);
    let mut pending: Vec<&Sent> = sent.iter().collect();
    while !pending.is_empty() {
        assert!(
            start.elapsed() < timeout,
            "{} of {} transfers not delivered within {timeout:?}",
            pending.len(),
            sent.len()
        );
        let mut still = Vec::new();
        for s in pending {
            if !transfer::delivered(to, &p, from.chain_id, s.leg, s.nonce)
                .await
                .unwrap_or(false)
            {
                still.push(s);
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    start.elapsed()
}

/// Each sent message minted exactly once, and nothing else minted.
pub async fn assert_minted_exactly_once(to: &End, sent: &[Sent]) {
    let minted = minted(to).await;
    let mut counts: HashMap<B256, usize> = HashMap::new();
    for (id, _) in &minted {
        *counts.entry(*id).or_default() += 1;
    }
    for s in sent {
        assert_eq!(
            counts.get(&s.id).copied().unwrap_or(0),
            1,
            "message {} minted {:?} times",
            s.id,
            counts.get(&s.id)
        );
    }
    assert!(
        counts.values().all(|c| *c == 1),
        "a message was minted twice"
    );
}

pub async fn balance(rpc: &str, token: Address, who: Address) -> U256 {
    GhostToken::new(token, provider(rpc))
        .balanceOf(who)
        .call()
        .await
        .expect("balanceOf")
}

/// A TCP proxy that can cut every connection and refuse new ones while down.
pub async fn proxy(listen: u16, target: u16, up: Arc<AtomicBool>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", listen))
        .await
        .unwrap();
    let generation = Arc::new(tokio::sync::watch::channel(0u64).0);
    let g2 = generation.clone();
    let up2 = up.clone();
    tokio::spawn(async move {
        let mut was_up = true;
        loop {
            let now = up2.load(Ordering::SeqCst);
            if was_up && !now {
                g2.send_modify(|g| *g += 1);
            }
            was_up = now;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    loop {
        let (mut inbound, _) = listener.accept().await.unwrap();
        if !up.load(Ordering::SeqCst) {
            drop(inbound);
            continue;
        }
        let mut cut = generation.subscribe();
        tokio::spawn(async move {
            let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
            else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                _ = cut.changed() => {}
            }
        });
    }
}

pub fn sign_with(
    keys: &[ghostbridge_core::keys::ValidatorKey],
    set: &[Address],
    digest: B256,
) -> Attestation {
    let mut signatures: Vec<CompactSignature> = keys
        .iter()
        .map(|k| {
            let sig = k.sign_digest(digest).unwrap();
            let (r, vs) = to_compact(&sig.ecdsa);
            CompactSignature {
                signer_index: set
                    .iter()
                    .position(|a| *a == k.address())
                    .map_or(0, |i| i as u8),
                r,
                vs,
            }
        })
        .collect();
    signatures.sort_by_key(|s| s.signer_index);
    Attestation {
        signers: set.to_vec(),
        signatures,
    }
}

/// Validator clients as the devnet's relayer config names them.
pub fn clients(d: &Devnet) -> ValidatorClients {
    let (config, _) = ghostbridge_core::config::Config::load(
        &d.config_path("relayer"),
        ghostbridge_core::config::Role::Relayer,
    )
    .expect("relayer config");
    ValidatorClients::from_config(&config).expect("clients")
}

/// The validators' single-message attestation of `id` for its release on `to` by `endpoint`
/// (the minter for a lock, the vault for a burn), once at least `signatures` validators have
/// signed it (each validator signs when it has seen the source event confirmed, so they arrive
/// one by one).
pub async fn attestation_for(
    d: &Devnet,
    to: &End,
    endpoint: Address,
    id: B256,
    signatures: usize,
) -> Attestation {
    let p = provider(&to.rpc);
    let clients = clients(d);
    let start = Instant::now();
    loop {
        let set = ValidatorSet::read(&p, to.deployment.verifier)
            .await
            .expect("set");
        let domain = Domain {
            chain_id: to.chain_id,
            verifier: to.deployment.verifier,
        };
        let digest = domain.message_digest(endpoint, id, set.epoch);
        match clients
            .attestation(
                &set,
                digest,
                &ValidatorClients::message_path(to.chain_id, id),
                None,
            )
            .await
        {
            Ok((a, _)) if a.signatures.len() >= signatures => return a,
            answer => {
                let got = answer
                    .map(|(a, _)| format!("{} signatures", a.signatures.len()))
                    .unwrap_or_else(|e| format!("{e:#}"));
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "validators never gave {signatures} signatures for {id}: {got}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
