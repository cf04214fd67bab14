//! End-to-end tests of whom the validators' signing API answers (mutual TLS: the relayers' and
//! the watcher's pinned certificates only) and what it signs and stores for them
//! (THREATS.md adversary 5: a signer signs only what it would have signed anyway and bounds what
//! a caller can make it store). Real anvil chains, the real validator daemons, real signatures.
// Test code: a panicking unwrap is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256};
use alloy::providers::ProviderBuilder;
use alloy::sol_types::SolEvent;
use ghostbridge_agent::attest::{AnswerError, ValidatorClients, ValidatorSet};
use ghostbridge_cli::devnet::Devnet;
use ghostbridge_cli::transfer;
use ghostbridge_core::api::BatchRequest;
use ghostbridge_core::bindings::{minter::BridgeMinter, vault::BridgeVault};
use ghostbridge_core::config::{Config, Role};
use ghostbridge_core::protocol::{to_minter, Domain};

mod common;
use common::*;

/// HTTP statuses of every validator's answer (0 for a transport error, 200 for a signature).
fn statuses(answers: &[Result<ghostbridge_core::api::SignedDigest, AnswerError>]) -> Vec<u16> {
    answers
        .iter()
        .map(|a| match a {
            Ok(_) => 200,
            Err(AnswerError::Status { status, .. }) => *status,
            Err(_) => 0,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn validators_sign_no_batch_over_delivered_messages_and_bound_batches_per_message() {
    let mut o = options("signing", 26045);
    o.relayer = false; // the test is the only relayer
    let d = Devnet::start(o).await.expect("devnet");
    let (a, b) = ends(&d);
    let key = user();
    let sent = transfer::send_many_locks(
        &a,
        &b,
        a.deployment.tokens["GCC"],
        ether(1),
        Address::repeat_byte(0x71),
        &key,
        10,
    )
    .await
    .unwrap();
    let ids: Vec<B256> = sent.iter().map(|s| s.id).collect();

    let (config, _) = Config::load(&d.config_path("relayer"), Role::Relayer).unwrap();
    let clients = ValidatorClients::from_config(&config).unwrap();
    let pb = provider(&b.rpc);
    let set = ValidatorSet::read(&pb, b.deployment.verifier)
        .await
        .unwrap();
    let domain = Domain {
        chain_id: b.chain_id,
        verifier: b.deployment.verifier,
    };
    // Mutual TLS: the validators answer only the relayer's and the watcher's certificates. The
    // same endpoints without the relayer's identity get no answer at all.
    let anonymous = ValidatorClients::new(&config.validators, &config.base_dir).unwrap();
    let refused = anonymous
        .ask(&ValidatorClients::message_path(b.chain_id, ids[0]), None)
        .await;
    assert!(
        refused
            .iter()
            .all(|a| matches!(a, Err(AnswerError::Unreachable { .. }))),
        "a client without a pinned certificate was answered: {refused:?}"
    );
    // Every validator admits all ten (past the confirmation depth) before the test goes on.
    let start = Instant::now();
    loop {
        let mut admitted = 0;
        for id in &ids {
            admitted += statuses(
                &clients
                    .ask(&ValidatorClients::message_path(b.chain_id, *id), None)
                    .await,
            )
            .iter()
            .filter(|s| **s == 200)
            .count();
        }
        if admitted == ids.len() * 4 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "validators did not admit the locks"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A caller may make each validator sign a message into at most 8 distinct batches: pairs
    // (ids[0], ids[k]) for k = 1..=8 are 8 roots, all signed; the 9th root is refused by all.
    for k in 1..=8 {
        let request = BatchRequest {
            dst_chain_id: b.chain_id,
            message_ids: vec![ids[0], ids[k]],
        };
        let got = statuses(&clients.ask("/v1/batches", Some(&request)).await);
        assert_eq!(got, vec![200; 4], "batch {k} over pending messages");
    }
    let ninth = BatchRequest {
        dst_chain_id: b.chain_id,
        message_ids: vec![ids[0], ids[9]],
    };
    assert_eq!(
        statuses(&clients.ask("/v1/batches", Some(&ninth)).await),
        vec![429; 4],
        "a ninth batch with the same member was signed"
    );
    // A root already signed is answered again from the store (nothing new is kept).
    let again = BatchRequest {
        dst_chain_id: b.chain_id,
        message_ids: vec![ids[0], ids[1]],
    };
    assert_eq!(
        statuses(&clients.ask("/v1/batches", Some(&again)).await),
        vec![200; 4]
    );
    // Members not yet in 8 batches still batch together.
    let fresh = BatchRequest {
        dst_chain_id: b.chain_id,
        message_ids: vec![ids[9], ids[8]],
    };
    assert_eq!(
        statuses(&clients.ask("/v1/batches", Some(&fresh)).await),
        vec![200; 4]
    );

    // Deliver ids[9] by its single-message attestation; after that no validator signs a new
    // batch that contains it.
    let digest = domain.message_digest(b.deployment.minter, ids[9], set.epoch);
    let (attestation, _) = clients
        .attestation(
            &set,
            digest,
            &ValidatorClients::message_path(b.chain_id, ids[9]),
            None,
        )
        .await
        .unwrap();
    let wallet = EthereumWallet::from(user());
    let pw = ProviderBuilder::new()
        .wallet(wallet)
        .connect_http(b.rpc.parse().unwrap());
    let locked = sent[9]
        .receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| BridgeVault::Locked::decode_log_data(l.data()).ok())
        .expect("Locked in the lock receipt")
        .message;
    let receipt = BridgeMinter::new(b.deployment.minter, pw)
        .mint(to_minter(&locked), attestation.to_minter())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "mint reverted");
    let delivered = BatchRequest {
        dst_chain_id: b.chain_id,
        message_ids: vec![ids[7], ids[9]],
    };
    assert_eq!(
        statuses(&clients.ask("/v1/batches", Some(&delivered)).await),
        vec![409; 4],
        "a batch over a delivered message was signed"
    );
    d.stop().await;
}
