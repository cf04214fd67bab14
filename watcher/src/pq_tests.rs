//! The PQ re-check of releases over fakes (`ghostbridge_agent::testing`): validators served over
//! HTTPS with the production TLS (X25519MLKEM768 only, pinned certificates) signing with real
//! secp256k1 + ML-DSA-65 keys (checked by both ML-DSA verifiers), and a scripted chain node for
//! whole passes. What must hold: validators that are down or halted never make a violation nor
//! a pause (the release stays pending, "cannot verify yet"); a quorum of valid signatures
//! verifies it; a quorum of refusals (or of signatures over another digest) refutes it.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes, LogData, B256, U256};
use alloy::rpc::types::Log;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent};
use ghostbridge_agent::runtime::Health;
use ghostbridge_agent::testing::{
    clients, mock_node, validator_set, Asserter, Behaviour, FakeValidator, Signs,
};
use ghostbridge_core::bindings::{minter::BridgeMinter, vault::BridgeVault, verifier};
use ghostbridge_core::config::{Chain, GasPolicy};
use ghostbridge_core::deployment::Deployment;
use ghostbridge_core::keys::ValidatorKey;
use ghostbridge_core::protocol::{message_id, Domain, Message};

use super::{check_pq, settle, EventKey, Pending, PqOutcome, Release, Watcher};

const DST: u64 = 31_338;
const EPOCH: u64 = 3;
const MINTER: Address = Address::repeat_byte(0x42);
const VAULT: Address = Address::repeat_byte(0x43);

fn domain() -> Domain {
    Domain {
        chain_id: DST,
        verifier: Address::repeat_byte(0x77),
    }
}

/// `n` validators signing what the real ones would for releases by `endpoint`.
async fn validators(n: u8, endpoint: Address) -> Vec<FakeValidator> {
    let mut out = Vec::new();
    for i in 1..=n {
        let key = ValidatorKey::devnet(&[i; 32]).expect("key");
        let signs = Signs {
            domain: domain(),
            endpoint,
            epoch: EPOCH,
        };
        out.push(
            FakeValidator::start(key, signs)
                .await
                .expect("fake validator"),
        );
    }
    out
}

/// A mint on `DST` by its minter, its lock found on chain 31337.
fn mint() -> Pending {
    let now = Instant::now();
    Pending {
        release: Release {
            id: B256::repeat_byte(0x1d),
            at: EventKey {
                chain_id: DST,
                tx: B256::repeat_byte(0xaa),
                log_index: 0,
            },
            endpoint: MINTER,
            src_chain: Some(31_337),
            recipient: Address::repeat_byte(0x05),
            token: Address::repeat_byte(0x06),
            amount: U256::from(5),
            minted: true,
            held: false,
            block: 10,
            source: Some((31_337, Address::repeat_byte(0x11), 9)),
        },
        since: now,
        why: String::new(),
        attempts: 0,
        next_retry: now,
    }
}

/// The verdict of the fakes (threshold 2 of 3) on [`mint`], and what the pass keeps of it.
async fn verdict(fakes: &[FakeValidator]) -> (PqOutcome, HashMap<EventKey, Pending>, usize) {
    let refs: Vec<&FakeValidator> = fakes.iter().collect();
    let set = validator_set(&refs, EPOCH, 2);
    let p = mint();
    let outcome = check_pq(
        &clients(&refs).expect("clients"),
        domain(),
        &p.release,
        &set,
    )
    .await;
    let mut found = Vec::new();
    let previous = HashMap::from([(p.release.at, p.clone())]);
    let pending = settle(
        &previous,
        Vec::new(),
        vec![(p, outcome.clone())],
        &mut found,
    );
    (outcome, pending, found.len())
}

#[tokio::test]
async fn a_release_signed_by_a_quorum_is_verified_even_with_one_validator_halted() {
    let fakes = validators(3, MINTER).await;
    fakes[2].set(Behaviour::Status(503));
    let (outcome, pending, violations) = verdict(&fakes).await;
    assert_eq!(outcome, PqOutcome::Verified);
    assert!(
        pending.is_empty(),
        "a verified release is no longer pending"
    );
    assert_eq!(violations, 0);
}

#[tokio::test]
async fn validators_down_or_halted_leave_a_release_unverified_never_a_violation() {
    let mut fakes = validators(3, MINTER).await;
    // One signs, one is halted, one is gone (connection refused): 1 of 2 signatures.
    fakes[1].set(Behaviour::Status(503));
    fakes[2].stop().await;
    let (outcome, pending, violations) = verdict(&fakes).await;
    let PqOutcome::CannotVerifyYet(why) = &outcome else {
        panic!("validators down must never refute a release: {outcome:?}");
    };
    assert!(why.starts_with("1 of 2 required"), "{why}");
    assert!(why.contains("503"), "{why}");
    assert_eq!(violations, 0, "no violation, hence no pause");
    let kept = pending.values().next().expect("still pending");
    assert_eq!(kept.attempts, 1);
    assert_eq!(&kept.why, why);
    // All of them down: still only "cannot verify yet".
    fakes[0].stop().await;
    fakes[1].stop().await;
    let (outcome, pending, violations) = verdict(&fakes).await;
    assert!(
        matches!(outcome, PqOutcome::CannotVerifyYet(_)),
        "{outcome:?}"
    );
    assert_eq!((pending.len(), violations), (1, 0));
}

#[tokio::test]
async fn a_quorum_of_refusals_or_of_signatures_for_another_endpoint_is_a_violation() {
    // Two validators scanned past the source block and saw no such message (404).
    let fakes = validators(3, MINTER).await;
    fakes[0].set(Behaviour::Status(404));
    fakes[1].set(Behaviour::Status(404));
    let (outcome, pending, violations) = verdict(&fakes).await;
    assert!(matches!(outcome, PqOutcome::Refuted(_)), "{outcome:?}");
    assert_eq!((pending.len(), violations), (0, 1));
    // Valid signatures, but over the digest naming the vault, not the minter that released.
    let fakes = validators(3, VAULT).await;
    let (outcome, _, violations) = verdict(&fakes).await;
    let PqOutcome::Refuted(why) = &outcome else {
        panic!("signatures for another endpoint must not verify: {outcome:?}");
    };
    assert!(why.contains("signed digest"), "{why}");
    assert_eq!(violations, 1);
}

// ------------------------------------------------------------------ whole passes

const WRAPPED: Address = Address::repeat_byte(0x66);

/// One chain (`DST`) is both legs: a lock on its vault to itself, minted by its minter.
fn chain() -> Chain {
    Chain {
        name: "dst".into(),
        chain_id: DST,
        // Only guardian transactions would use it: nothing listens there.
        rpc_urls: vec!["http://127.0.0.1:9".into()],
        confirmations: 0,
        block_time_ms: 1_000,
        max_block_range: 1_000,
        deployment: Deployment {
            chain_id: DST,
            verifier: domain().verifier,
            fee_manager: Address::repeat_byte(0x45),
            vault: VAULT,
            minter: MINTER,
            guardian: Address::repeat_byte(0x44),
            deploy_block: 1,
            tokens: Default::default(),
        },
        gas: GasPolicy::default(),
    }
}

fn log(address: Address, block: u64, tx: u8, data: LogData) -> Log {
    Log {
        inner: alloy::primitives::Log { address, data },
        block_number: Some(block),
        transaction_hash: Some(B256::repeat_byte(tx)),
        log_index: Some(0),
        ..Default::default()
    }
}

/// Scripts one pass over `DST` (head 10): the lock and its mint, the wrapped token, the set of
/// `fakes` (threshold 2), no rotation; then two `paused() == true` answers that only a pause
/// would read (it reads both endpoints' `paused()` first, and sends nothing when both are).
fn script_pass(node: &Asserter, fakes: &[&FakeValidator]) {
    let m = Message {
        version: 1,
        srcChainId: DST,
        dstChainId: DST,
        srcContract: VAULT,
        nonce: 1,
        token: Address::repeat_byte(0x06),
        amount: U256::from(5),
        sender: Address::repeat_byte(0x07),
        recipient: Address::repeat_byte(0x05),
    };
    let id = message_id(&m);
    let minted = BridgeMinter::Minted {
        messageId: id,
        srcChainId: DST,
        recipient: m.recipient,
        wrappedToken: WRAPPED,
        amount: m.amount,
    };
    let locked = BridgeVault::Locked {
        messageId: id,
        nonce: 1,
        dstChainId: DST,
        message: m,
    };
    let ret = |encoded: Vec<u8>| Bytes::from(encoded);
    let set = validator_set(fakes, EPOCH, 2);
    node.push_success(&10u64);
    node.push_success(&vec![log(VAULT, 5, 1, locked.encode_log_data())]);
    node.push_success(&vec![log(MINTER, 6, 2, minted.encode_log_data())]);
    node.push_success(&ret(BridgeMinter::wrappedTokenOfCall::abi_encode_returns(
        &WRAPPED,
    )));
    node.push_success(&ret(
        verifier::AttestationVerifier::epochCall::abi_encode_returns(&EPOCH),
    ));
    node.push_success(&ret(
        verifier::AttestationVerifier::validatorsCall::abi_encode_returns(
            &verifier::AttestationVerifier::validatorsReturn {
                signers: set.signers,
                pqKeyHashes: set.pq_key_hashes,
            },
        ),
    ));
    node.push_success(&ret(
        verifier::AttestationVerifier::thresholdCall::abi_encode_returns(&U256::from(2)),
    ));
    node.push_success(&10u64);
    node.push_success(&Vec::<Log>::new());
    let paused = ret(BridgeVault::pausedCall::abi_encode_returns(&true));
    node.push_success(&paused);
    node.push_success(&paused);
}

/// A watcher with a guardian key over the scripted node and `fakes`; its `/health`.
fn watcher(fakes: &[FakeValidator]) -> (Watcher, Asserter, Health) {
    let refs: Vec<&FakeValidator> = fakes.iter().collect();
    let (provider, node) = mock_node();
    script_pass(&node, &refs);
    let health = Health::default();
    let w = Watcher::with_providers(
        vec![chain()],
        HashMap::from([(DST, provider)]),
        clients(&refs).expect("clients"),
        Some(PrivateKeySigner::random()),
        health.clone(),
        Duration::ZERO,
    )
    .expect("watcher");
    (w, node, health)
}

#[tokio::test]
async fn a_pass_with_the_validators_down_keeps_the_mint_unverified_and_pauses_nothing() {
    let mut fakes = validators(3, MINTER).await;
    fakes[0].set(Behaviour::Status(503));
    fakes[1].stop().await;
    fakes[2].stop().await;
    let (mut w, node, health) = watcher(&fakes);
    let found = w.check_once().await.expect("the pass completes");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!((w.unverified(), w.violations_total()), (1, 0));
    assert_eq!(node.read_q().len(), 2, "no pause: paused() never read");
    let problems = health.snapshot().problems;
    assert!(
        problems["unverified_releases"].contains("not a violation"),
        "{problems:?}"
    );
    assert!(
        !problems.keys().any(|k| k.starts_with("violation/")),
        "{problems:?}"
    );
}

#[tokio::test]
async fn a_pass_with_a_signing_quorum_verifies_the_mint() {
    let fakes = validators(3, MINTER).await;
    fakes[2].set(Behaviour::Status(503));
    let (mut w, node, health) = watcher(&fakes);
    let found = w.check_once().await.expect("the pass completes");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!((w.unverified(), w.violations_total()), (0, 0));
    assert_eq!(node.read_q().len(), 2, "no pause: paused() never read");
    assert!(health.snapshot().problems.is_empty());
}

#[tokio::test]
async fn a_pass_where_a_quorum_refuses_the_mint_reports_it_and_pauses() {
    let fakes = validators(3, MINTER).await;
    fakes[0].set(Behaviour::Status(404));
    fakes[1].set(Behaviour::Status(404));
    let (mut w, node, health) = watcher(&fakes);
    let found = w.check_once().await.expect("the pass completes");
    let kinds: Vec<&str> = found.iter().map(|v| v.kind).collect();
    assert_eq!(kinds, ["pq_signatures"]);
    assert_eq!((w.unverified(), w.violations_total()), (0, 1));
    assert!(node.read_q().is_empty(), "the pause read both paused()");
    assert!(health
        .snapshot()
        .problems
        .contains_key("violation/pq_signatures"));
}
