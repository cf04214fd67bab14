//! A lying GhostPlane sequencer is caught (issue 10), once per kind of lie: the real
//! `ghostbridge l2 node`, built with its test-only lying poster (feature `test-lies`,
//! `GHOSTPLANE_TEST_LIE`, `l2node/src/lie.rs`), posts one batch altered (as blobs, the node's
//! default); the real `ghostbridge l2 challenge` process, re-deriving every batch from L1 data
//! alone, proves the fraud on-chain within the 15 s window. Each test then checks: the
//! sequencer's bond is slashed to zero, the Rollup's tip is the batch before the lie (the lie and
//! everything after it cut), and the challenger's /health reports the fraud (503).
//!
//! - `invalid-op`: batch 3's withdrawal has its amount altered (its signature no longer
//!   verifies; `proveFraud` at op 0, against the batch's start state). The withdrawal of batch 2
//!   still finalizes after its window; batch 3's never does.
//! - `wrong-post-state`: batch 2 holds two transfers; the second one's post-step commitment is
//!   wrong (`proveFraud` at op 1, the previous commitment opened from the blob).
//! - `skip-deposit`: batch 3 holds a portal deposit and a withdrawal; the deposit is left out of
//!   the records while the header still claims it consumed (the only form of a skipped forced
//!   deposit `submitBatch` accepts); the withdrawal's post-step state lacks the deposit
//!   (`proveFraud` at op 0). Withdrawals: batch 2's finalizes, batch 3's is refused.
//!
//! Each test produces its lying batch only once the challenger has replayed the batches before
//! it, so the proof's latency is the lie's own (≈ 2 s after its submission), not the
//! challenger's slow first blob batch (its one-time KZG set-up: seconds in a debug build, more on
//! a loaded machine), which otherwise ate up to 11 s of the 15 s window.
//! The tests use disjoint ports and directories, so they run in parallel in one `cargo test`
//! (as many at once as libtest has threads: the number of cores by default, `--test-threads=3`
//! for all three).
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
use ghostbridge_sequencer::tx::{address_of, test_key, UnsignedTx, UnsignedWithdrawal};
use k256::ecdsa::SigningKey;
use std::time::{Duration, Instant};
use tokio::process::Child;

/// anvil account 2: the challenger.
const CHALLENGER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const WINDOW: u64 = 15;

/// One test's ports (outside the ones the other end-to-end tests use, disjoint between tests).
struct Ports {
    l1: u16,
    l2: u16,
    node_ops: u16,
    challenger_ops: u16,
}

/// An anvil L1, the node posting `lie`, the challenger process proving what it finds, and alice
/// with 100 GCC deposited in batch 1.
struct Lying {
    l1: L1,
    l2: L2Client,
    ports: Ports,
    lying_batch: u64,
    alice_key: SigningKey,
    alice: Address,
    _node: Child,
    _challenger: Child,
}

impl Lying {
    /// Starts everything; `batch_timeout_ms` is the node's `--batch-timeout-ms`.
    async fn start(
        name: &str,
        ports: Ports,
        lie: &str,
        lying_batch: u64,
        batch_timeout_ms: u64,
    ) -> Self {
        let l1 = L1::start(name, ports.l1, 1, WINDOW).await;
        let spec = format!("{lie}:{lying_batch}");
        let node = l1.node(
            &l1.url(),
            ports.l2,
            ports.node_ops,
            &["--batch-timeout-ms", &batch_timeout_ms.to_string()],
            &[("GHOSTPLANE_TEST_LIE", &spec)],
        );
        let challenger = l1.daemon(
            "l2challenger",
            &[
                "l2",
                "challenge",
                "--l1-rpc",
                &l1.url(),
                "--ops-addr",
                &format!("127.0.0.1:{}", ports.challenger_ops),
            ],
            &[("GHOSTPLANE_CHALLENGER_KEY", CHALLENGER_KEY)],
        );
        let l2 = L2Client::new(format!("http://127.0.0.1:{}", ports.l2));
        wait_for("the node", Duration::from_secs(60), || {
            let l2 = l2.clone();
            async move { l2.deposit_cursor().await.is_ok() }
        })
        .await;
        let alice_key = test_key(1);
        let alice = address_of(alice_key.verifying_key());
        let this = Self {
            l1,
            l2,
            ports,
            lying_batch,
            alice_key,
            alice,
            _node: node,
            _challenger: challenger,
        };
        // Batch 1: 100 GCC deposited for alice.
        this.deposit(alice, 100 * ETHER).await;
        wait_for("the deposit on L2", Duration::from_secs(30), || {
            let l2 = this.l2.clone();
            async move { l2.latest_batch().await.ok() == Some(1) }
        })
        .await;
        this
    }

    /// A portal deposit of `amount` GCC for `to` (mined on L1; the node applies it later).
    async fn deposit(&self, to: Address, amount: u128) {
        sent(
            GhostPlanePortal::new(self.l1.d.portal, &self.l1.user)
                .deposit(self.l1.d.tokens[0], U256::from(amount), to)
                .send()
                .await,
        )
        .await;
    }

    /// Alice's signed withdrawal of `amount` GCC to `to`.
    fn withdrawal(&self, nonce: u64, to: Address, amount: u128) -> Vec<u8> {
        UnsignedWithdrawal {
            l1_recipient: to,
            token: 0,
            amount,
            nonce,
        }
        .sign(&self.alice_key)
        .unwrap()
    }

    /// Sends alice's withdrawal and returns the batch it was sealed in.
    async fn withdraw(&self, nonce: u64, to: Address, amount: u128) -> u64 {
        let h = self
            .l2
            .send_withdrawal(&self.withdrawal(nonce, to, amount))
            .await
            .unwrap();
        self.l2
            .wait_receipt(h, Duration::from_secs(30))
            .await
            .unwrap()
    }

    /// Waits until the challenger process has replayed every batch before the lying one (the
    /// batches before it on L1): the lie is then checked by a challenger already caught up and
    /// warm (its first blob batch is slow: the one-time KZG set-up, seconds in a debug build), so
    /// the time to the proof is the lie's own, well inside the 15 s window on a loaded machine.
    async fn challenger_caught_up(&self) {
        let health = format!("http://127.0.0.1:{}/health", self.ports.challenger_ops);
        let before = self.lying_batch - 1;
        wait_for(
            &format!("the challenger to replay batch {before}"),
            Duration::from_secs(60),
            || async {
                let Ok(r) = reqwest::get(&health).await else {
                    return false;
                };
                let h: serde_json::Value = r.json().await.unwrap_or_default();
                h["progress"]["batches_checked"].as_u64() >= Some(before)
            },
        )
        .await;
    }

    /// Waits for the challenger process to prove the lie on L1, then asserts what that did:
    /// bond slashed, the lying batch cut (tip = lying batch − 1) by the challenger's proof,
    /// /health 503.
    async fn assert_caught(&self) {
        let (l1, d) = (&self.l1.deployer, &self.l1.d);
        let sequencer = DEPLOYER_KEY
            .parse::<alloy::signers::local::PrivateKeySigner>()
            .unwrap()
            .address();
        let challenger = CHALLENGER_KEY
            .parse::<alloy::signers::local::PrivateKeySigner>()
            .unwrap()
            .address();
        let rollup = GhostPlaneRollup::new(d.rollup, l1);
        let started = Instant::now();
        wait_for("the fraud proof", Duration::from_secs(90), || {
            let rollup = rollup.clone();
            async move {
                let info = rollup.proposerInfo(sequencer).call().await;
                info.is_ok_and(|i| i.bond_.is_zero())
            }
        })
        .await;
        let proofs = rollup
            .FraudProven_filter()
            .from_block(d.deploy_block)
            .query()
            .await
            .unwrap();
        let [(proven, log)] = proofs.as_slice() else {
            panic!("one fraud proof expected: {proofs:?}");
        };
        assert_eq!(proven.number, self.lying_batch, "the lying batch is proven");
        assert_eq!(proven.proposer, sequencer);
        assert_eq!(
            proven.prover, challenger,
            "proven by the challenger process"
        );
        let proven_at = l1
            .get_block_by_number(log.block_number.unwrap().into())
            .await
            .unwrap()
            .unwrap()
            .header
            .timestamp;
        let submitted_at = withdrawals::batch_on_l1(l1, d.rollup, self.lying_batch, d.deploy_block)
            .await
            .unwrap()
            .expect("the lying batch was posted")
            .submitted_at;
        println!(
            "{}: proven on L1 {} s after the lie was submitted (window {WINDOW} s); {:?} after \
             its L2 receipt",
            self.l1.dir.display(),
            proven_at - submitted_at,
            started.elapsed()
        );
        assert_eq!(
            rollup.tip().call().await.unwrap(),
            self.lying_batch - 1,
            "the lying batch is cut"
        );
        // Its ops loop refreshes /health once a second.
        let health = format!("http://127.0.0.1:{}/health", self.ports.challenger_ops);
        wait_for(
            "the challenger's /health to report the fraud",
            Duration::from_secs(10),
            || async {
                reqwest::get(&health)
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 503)
            },
        )
        .await;
    }

    /// Alice's withdrawal `honest` = (batch, recipient, amount) from a batch before the lie
    /// finalizes after its window; `lied`, from the cut batch, is refused.
    async fn assert_withdrawals(&self, honest: (u64, Address, u128), lied: (u64, Address, u128)) {
        let (l1, d) = (&self.l1, &self.l1.d);
        let proof = |(batch, to, amount): (u64, Address, u128)| {
            let l2 = self.l2.clone();
            let alice = self.alice;
            async move {
                l2.find_withdrawal(batch, alice, to, 0, amount)
                    .await
                    .unwrap()
                    .expect("the leaf")
            }
        };
        let on_l1 = |batch: u64| async move {
            withdrawals::batch_on_l1(&l1.deployer, d.rollup, batch, d.deploy_block)
                .await
                .unwrap()
                .expect("the batch was posted")
        };
        let (honest_proof, lied_proof) = (proof(honest).await, proof(lied).await);
        let (honest_on_l1, lied_on_l1) = (on_l1(honest.0).await, on_l1(lied.0).await);
        wait_for("the lying batch's window", Duration::from_secs(60), || {
            let l1 = l1.deployer.clone();
            let end = lied_on_l1.final_at.max(honest_on_l1.final_at);
            async move {
                let block = l1
                    .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                    .await
                    .ok()
                    .flatten();
                block.is_some_and(|b| b.header.timestamp > end)
            }
        })
        .await;
        withdrawals::finalize(&l1.user, d.portal, &honest_proof, &honest_on_l1)
            .await
            .expect("the earlier batch's withdrawal finalizes");
        let refused = withdrawals::finalize(&l1.user, d.portal, &lied_proof, &lied_on_l1).await;
        assert!(
            matches!(refused, Err(FinalizeError::Refused(_))),
            "a withdrawal of a cut batch was paid: {refused:?}"
        );
        let token = Erc20::new(d.tokens[0], &l1.deployer);
        assert_eq!(
            token.balanceOf(honest.1).call().await.unwrap(),
            U256::from(honest.2)
        );
        assert_eq!(token.balanceOf(lied.1).call().await.unwrap(), U256::ZERO);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_op_is_proven_wrong_cut_and_slashed() {
    let ports = Ports {
        l1: 29_845,
        l2: 29_846,
        node_ops: 29_847,
        challenger_ops: 29_848,
    };
    let t = Lying::start("l2-lie-invalid-op", ports, "invalid-op", 3, 300).await;
    // Batch 2 (honest): a withdrawal of 1 GCC; batch 3 (the lie): a withdrawal of 2 GCC.
    let r_honest = Address::repeat_byte(0x71);
    let r_lie = Address::repeat_byte(0x72);
    assert_eq!(t.withdraw(0, r_honest, ETHER).await, 2);
    t.challenger_caught_up().await;
    assert_eq!(
        t.withdraw(1, r_lie, 2 * ETHER).await,
        3,
        "one withdrawal per batch"
    );
    t.assert_caught().await;
    t.assert_withdrawals((2, r_honest, ETHER), (3, r_lie, 2 * ETHER))
        .await;
    t.l1.done();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_post_state_is_proven_wrong_cut_and_slashed() {
    let ports = Ports {
        l1: 29_860,
        l2: 29_861,
        node_ops: 29_862,
        challenger_ops: 29_863,
    };
    let t = Lying::start("l2-lie-wrong-post-state", ports, "wrong-post-state", 2, 300).await;
    // Batch 2 (the lie): two transfers sent back to back, sealed together; the second's
    // post-step commitment is posted wrong.
    t.challenger_caught_up().await;
    let mut hashes = Vec::new();
    for nonce in 0..2 {
        let raw = UnsignedTx {
            to: Address::repeat_byte(0x73),
            value: ETHER,
            token: 0,
            gas_limit: 21_000,
            gas_price: 50_000_000_000,
            nonce,
            data: vec![],
        }
        .sign(&t.alice_key)
        .unwrap();
        hashes.push(t.l2.send_transaction(&raw).await.unwrap());
    }
    for h in hashes {
        let batch = t.l2.wait_receipt(h, Duration::from_secs(30)).await.unwrap();
        assert_eq!(batch, 2, "both transfers in the lying batch");
    }
    t.assert_caught().await;
    t.l1.done();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_deposit_is_proven_wrong_cut_and_slashed() {
    let ports = Ports {
        l1: 29_864,
        l2: 29_865,
        node_ops: 29_866,
        challenger_ops: 29_867,
    };
    // A batch stays open 1.5 s after the deposit that opened it: room for the withdrawal.
    let t = Lying::start("l2-lie-skip-deposit", ports, "skip-deposit", 3, 1_500).await;
    let r_honest = Address::repeat_byte(0x74);
    let r_lie = Address::repeat_byte(0x75);
    // Batch 2 (honest): a withdrawal of 1 GCC.
    assert_eq!(t.withdraw(0, r_honest, ETHER).await, 2);
    t.challenger_caught_up().await;
    // Batch 3 (the lie): a portal deposit of 5 GCC for bob, then alice's withdrawal of 2 GCC,
    // sent as soon as the node has applied the deposit to its open batch.
    let bob = Address::repeat_byte(0xb0);
    t.deposit(bob, 5 * ETHER).await;
    let l2 = &t.l2;
    let start = Instant::now();
    while l2.deposit_cursor().await.unwrap() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the deposit never reached the node"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        t.withdraw(1, r_lie, 2 * ETHER).await,
        3,
        "the withdrawal sealed with the deposit"
    );
    t.assert_caught().await;
    t.assert_withdrawals((2, r_honest, ETHER), (3, r_lie, 2 * ETHER))
        .await;
    t.l1.done();
}
