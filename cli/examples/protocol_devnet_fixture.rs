//! Captures a REAL devnet run into `contracts/test/fixtures/protocol/devnet-run.json`, the
//! protocol fixture that the Rust core (`core/tests/protocol_devnet_fixture.rs`), the contracts
//! (`contracts/test/ProtocolFixtures.t.sol`) and the TypeScript SDK
//! (`packages/sdk/test/protocol.test.ts`) each verify with their own code.
//!
//! Starts a devnet in this process (two anvil chains, the four validator daemons, the relayer),
//! sends real transfers with `ghostbridge_cli::transfer` (a 1 GCC lock A→B, a native ETH lock
//! A→B, a burn of the wrapped GCC B→A, then a burst of locks and a burst of burns with the
//! relayer held back until every validator admitted them, so it releases each burst as one
//! batch), waits until all are delivered, and then reads everything FROM THE CHAINS: each
//! `Locked`/`Burned` event (the message and the id the contract emitted), the release
//! transactions the relayer sent (their calldata decoded: the attestation's signer set and
//! `(r, vs)` signatures, batch members and Merkle proofs), `BatchRootVerified` (root, epoch),
//! each verifier's domain separator, digests, epoch, thresholds and validator set. Nothing in
//! the output is chosen by hand; a new run gives new transaction hashes (and timestamps), so the
//! file is regenerated on purpose only: `./script/protocol-fixtures.sh --devnet`.
//!
//! `cargo build -p ghostbridge-cli --bin ghostbridge && cargo run -p ghostbridge-cli --example
//! protocol_devnet_fixture -- [OUT.json] [--port-base N]` (port base also from
//! `GHOSTBRIDGE_FIXTURE_PORT_BASE`; default 23400; the devnet takes ports base..base+33).
#![allow(clippy::arithmetic_side_effects)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy::consensus::Transaction as _;
use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Log;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolEvent, SolInterface};
use anyhow::{bail, ensure, Context};
use ghostbridge_agent::attest::ValidatorClients;
use ghostbridge_agent::chain::{http_provider, scan_logs};
use ghostbridge_cli::devnet::{self, Devnet, DevnetOptions, USER_KEY};
use ghostbridge_cli::transfer::{self, End, Leg, Sent};
use ghostbridge_core::bindings::{
    minter::BridgeMinter, vault::BridgeVault, verifier::AttestationVerifier,
};
use ghostbridge_core::config::{Config, Role};
use ghostbridge_core::protocol::{from_minter, message_id, Attestation, CompactSignature, Message};
use serde_json::{json, Value};

const DEFAULT_PORT_BASE: u16 = 23_400;
/// Messages per burst: the devnet relayer's `batch_min` (8), so a burst is released as a batch.
const BURST: usize = 8;

fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default()
}

struct Args {
    out: PathBuf,
    port_base: u16,
}

fn args() -> anyhow::Result<Args> {
    let mut out = root().join("contracts/test/fixtures/protocol/devnet-run.json");
    let mut port_base = match std::env::var("GHOSTBRIDGE_FIXTURE_PORT_BASE") {
        Ok(v) => v.parse().context("GHOSTBRIDGE_FIXTURE_PORT_BASE")?,
        Err(_) => DEFAULT_PORT_BASE,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--port-base" {
            port_base = it.next().context("--port-base N")?.parse()?;
        } else if a.starts_with('-') {
            bail!("usage: protocol_devnet_fixture [OUT.json] [--port-base N]");
        } else {
            out = a.into();
        }
    }
    Ok(Args { out, port_base })
}

/// The daemons are the `ghostbridge` binary next to this example (`target/<profile>/`).
fn daemon_binary() -> anyhow::Result<()> {
    if std::env::var_os("GHOSTBRIDGE_BIN").is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("ghostbridge"))
        .context("no target directory above the example")?;
    ensure!(
        bin.exists(),
        "{} not built: cargo build -p ghostbridge-cli --bin ghostbridge",
        bin.display()
    );
    std::env::set_var("GHOSTBRIDGE_BIN", bin);
    Ok(())
}

fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(root())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn tool_version(name: &str) -> Option<String> {
    let local = root().join("node_modules/.bin").join(name);
    let exe = if local.exists() { local } else { name.into() };
    let out = std::process::Command::new(exe)
        .arg("--version")
        .output()
        .ok()?;
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()?
            .trim()
            .to_owned(),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    daemon_binary()?;
    let dir = root().join("deployments").join("fixture-run");
    let mut opts = DevnetOptions::new(root(), dir.clone());
    opts.port_base = args.port_base;
    opts.watcher = false;
    opts.ghostplane = false;
    let provenance = json!({
        "generator": "cli/examples/protocol_devnet_fixture.rs",
        "command": "./script/protocol-fixtures.sh --devnet",
        "run": format!(
            "ghostbridge devnet in-process (Devnet::start: 2 anvil chains {:?}, 4 validators, the relayer with batch_min {}, block time {} s, {} confirmation(s)); transfers sent with ghostbridge_cli::transfer; everything below read back from the chains",
            devnet::CHAIN_IDS, opts.batch_min, opts.block_time, opts.confirmations
        ),
        "ghostbridgeCommit": git(&["rev-parse", "HEAD"]),
        "worktreeDirty": git(&["status", "--porcelain"]).map(|s| !s.is_empty()),
        "anvil": tool_version("anvil"),
        "capturedAtUnix": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
    });
    let mut d = Devnet::start(opts).await.context("starting the devnet")?;
    let captured = run(&mut d).await;
    d.stop().await;
    let mut fixture = match captured {
        Ok(f) => f,
        Err(e) => {
            eprintln!("capture failed; logs kept in {}", dir.display());
            return Err(e);
        }
    };
    fixture["provenance"] = provenance;
    let mut text = serde_json::to_string_pretty(&fixture)?;
    text.push('\n');
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "wrote {} ({} messages, {} releases)",
        args.out.display(),
        fixture["messages"].as_array().map_or(0, Vec::len),
        fixture["releases"].as_array().map_or(0, Vec::len)
    );
    Ok(())
}

fn end(d: &Devnet, i: usize) -> End {
    End {
        chain_id: d.chains[i].chain_id,
        rpc: d.chains[i].rpc.clone(),
        deployment: d.chains[i].deployment.clone(),
    }
}

/// Waits until every message is consumed on `to`.
async fn wait_delivered(from: &End, to: &End, sent: &[Sent]) -> anyhow::Result<()> {
    let p = http_provider(&to.rpc)?;
    let start = Instant::now();
    for s in sent {
        while !transfer::delivered(to, &p, from.chain_id, s.leg, s.nonce).await? {
            ensure!(
                start.elapsed() < Duration::from_secs(180),
                "message {} not delivered",
                s.id
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(())
}

/// Waits until every validator signs each message for chain `dst` (each signs once it has seen
/// the source event confirmed), so a relayer started afterwards finds the whole burst pending
/// and the validators ready to sign its root.
async fn wait_admitted(clients: &ValidatorClients, dst: u64, sent: &[Sent]) -> anyhow::Result<()> {
    let start = Instant::now();
    for s in sent {
        loop {
            let answers = clients
                .ask(&ValidatorClients::message_path(dst, s.id), None)
                .await;
            if answers.iter().all(Result::is_ok) {
                break;
            }
            ensure!(
                start.elapsed() < Duration::from_secs(90),
                "validators did not admit {}",
                s.id
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    Ok(())
}

/// Sends the transfers, waits for delivery, reads the run back from the chains.
async fn run(d: &mut Devnet) -> anyhow::Result<Value> {
    let (a, b) = (end(d, 0), end(d, 1));
    let key: PrivateKeySigner = USER_KEY.parse()?;
    let me = key.address();
    let gcc = *a
        .deployment
        .tokens
        .get("GCC")
        .context("no GCC on chain A")?;
    let mut names: HashMap<B256, String> = HashMap::new();

    eprintln!("==> fixture: lock 1 GCC A→B");
    let s = transfer::send(&a, &b, Leg::Lock(gcc), ether(1), me, &key).await?;
    transfer::follow(&a, &b, &s, Duration::from_secs(90), false).await?;
    names.insert(s.id, "lock 1 GCC on A, minted on B".into());

    eprintln!("==> fixture: lock 0.25 native ETH A→B");
    let s = transfer::send(
        &a,
        &b,
        Leg::Lock(Address::ZERO),
        ether(1) / U256::from(4u64),
        me,
        &key,
    )
    .await?;
    transfer::follow(&a, &b, &s, Duration::from_secs(90), false).await?;
    names.insert(s.id, "lock 0.25 native ETH on A, minted on B".into());

    eprintln!("==> fixture: burn 0.5 wrapped GCC B→A");
    let leg = transfer::resolve_leg(&b, &a, "wGCC").await?;
    ensure!(matches!(leg, Leg::Burn(_)), "wGCC is not a wrapped token");
    let s = transfer::send(&b, &a, leg, ether(1) / U256::from(2u64), me, &key).await?;
    transfer::follow(&b, &a, &s, Duration::from_secs(90), false).await?;
    names.insert(
        s.id,
        "burn 0.5 wrapped GCC on B, unlocked on A (token = the canonical GCC)".into(),
    );

    // Bursts: the relayer is stopped while they are sent and admitted, so its first round finds
    // each burst pending together (>= batch_min) and releases it as one batch.
    eprintln!("==> fixture: {BURST} locks A→B and {BURST} burns B→A with the relayer stopped");
    d.terminate("relayer").await?;
    let hundredth = ether(1) / U256::from(100u64);
    let locks = transfer::send_many(
        &a,
        &b,
        Leg::Lock(gcc),
        ether(1) / U256::from(10u64),
        me,
        &key,
        BURST,
    )
    .await?;
    let burns = transfer::send_many(&b, &a, leg, hundredth, me, &key, BURST).await?;
    for (i, s) in locks.iter().enumerate() {
        names.insert(s.id, format!("lock 0.1 GCC on A, burst of {BURST}: #{i}"));
    }
    for (i, s) in burns.iter().enumerate() {
        names.insert(
            s.id,
            format!("burn 0.01 wrapped GCC on B, burst of {BURST}: #{i}"),
        );
    }
    let (config, _) = Config::load(&d.config_path("relayer"), Role::Relayer)?;
    let clients = ValidatorClients::from_config(&config)?;
    wait_admitted(&clients, b.chain_id, &locks).await?;
    wait_admitted(&clients, a.chain_id, &burns).await?;
    d.spawn_daemon(
        "relayer",
        "relay",
        &[("GHOSTBRIDGE_RELAYER_KEY", devnet::RELAYER_KEY.into())],
    )?;
    wait_delivered(&a, &b, &locks).await?;
    wait_delivered(&b, &a, &burns).await?;
    eprintln!("==> fixture: all delivered; reading the run back from the chains");
    read_back(&a, &b, &names).await
}

async fn logs(p: &DynProvider, at: Address, event: B256, from: u64) -> anyhow::Result<Vec<Log>> {
    let head = p.get_block_number().await?;
    Ok(scan_logs(p, at, &[event], from, head, 1000).await?)
}

fn message_json(m: &Message) -> Value {
    json!({
        "version": m.version,
        "srcChainId": m.srcChainId.to_string(),
        "dstChainId": m.dstChainId.to_string(),
        "srcContract": m.srcContract.to_string(),
        "nonce": m.nonce.to_string(),
        "token": m.token.to_string(),
        "amount": m.amount.to_string(),
        "sender": m.sender.to_string(),
        "recipient": m.recipient.to_string(),
    })
}

fn hexes(v: &[B256]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

/// What one chain's verifier says about itself (at the head).
async fn chain_json(end: &End) -> anyhow::Result<Value> {
    let p = http_provider(&end.rpc)?;
    let v = AttestationVerifier::new(end.deployment.verifier, p);
    let set = v.validators().call().await?;
    Ok(json!({
        "chainId": end.chain_id.to_string(),
        "verifier": end.deployment.verifier.to_string(),
        "vault": end.deployment.vault.to_string(),
        "minter": end.deployment.minter.to_string(),
        "domainSeparator": v.domainSeparator().call().await?.to_string(),
        "epoch": v.epoch().call().await?.to_string(),
        "threshold": v.threshold().call().await?.to_string(),
        "largeThreshold": v.largeThreshold().call().await?.to_string(),
        "validators": set.signers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "pqKeyHashes": hexes(&set.pqKeyHashes),
        "signerSetHash": v.signerSetHash().call().await?.to_string(),
    }))
}

fn attestation_json(a: &Attestation) -> anyhow::Result<(Value, Value)> {
    let signatures = a
        .signatures
        .iter()
        .map(|s: &CompactSignature| {
            let signer = a
                .signers
                .get(usize::from(s.signer_index))
                .context("signer index outside the set")?;
            Ok(json!({
                "signerIndex": s.signer_index,
                "signer": signer.to_string(),
                "r": s.r.to_string(),
                "vs": s.vs.to_string(),
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((
        json!(a
            .signers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()),
        Value::Array(signatures),
    ))
}

fn from_verifier_attestation(a: &AttestationVerifier::Attestation) -> Attestation {
    Attestation {
        signers: a.signers.clone(),
        signatures: a
            .signatures
            .iter()
            .map(|s| CompactSignature {
                signer_index: s.signerIndex,
                r: s.r,
                vs: s.vs,
            })
            .collect(),
    }
}

fn recast_attestation<A: alloy::sol_types::SolValue>(a: &A) -> Attestation {
    from_verifier_attestation(&ghostbridge_core::protocol::recast::<
        _,
        AttestationVerifier::Attestation,
    >(a))
}

/// One release the relayer sent, as its calldata and the chain tell it.
struct Release {
    kind: &'static str,
    call: &'static str,
    chain: End,
    endpoint: Address,
    /// The transaction carrying the attestation, and its block.
    tx: B256,
    block: u64,
    attestation: Attestation,
    /// Single: the message id; batch: the root.
    subject: B256,
    /// Batch members in calldata (whole batch) or transaction order (per-member releases).
    members: Vec<B256>,
    /// Per member (unlockFromBatch only): its Merkle proof and its release transaction.
    proofs: Vec<Vec<B256>>,
    member_txs: Vec<B256>,
    epoch: Option<u64>,
}

async fn tx_input(
    p: &DynProvider,
    hash: B256,
) -> anyhow::Result<(Address, alloy::primitives::Bytes, u64)> {
    let tx = p
        .get_transaction_by_hash(hash)
        .await?
        .with_context(|| format!("no transaction {hash}"))?;
    let to = tx
        .inner
        .inner()
        .to()
        .context("a release creates no contract")?;
    let block = tx.block_number.context("release not mined")?;
    Ok((to, tx.inner.inner().input().clone(), block))
}

async fn read_back(a: &End, b: &End, names: &HashMap<B256, String>) -> anyhow::Result<Value> {
    let (pa, pb) = (http_provider(&a.rpc)?, http_provider(&b.rpc)?);
    let provider = |e: &End| {
        if e.chain_id == a.chain_id {
            pa.clone()
        } else {
            pb.clone()
        }
    };

    // Sent messages: Locked on A's vault, Burned on B's minter.
    let mut messages: Vec<(Message, B256, B256, u64, &'static str)> = Vec::new();
    for l in logs(
        &pa,
        a.deployment.vault,
        BridgeVault::Locked::SIGNATURE_HASH,
        a.deployment.deploy_block,
    )
    .await?
    {
        let e = BridgeVault::Locked::decode_log_data(l.data())?;
        messages.push((
            e.message,
            e.messageId,
            l.transaction_hash.unwrap_or_default(),
            l.block_number.unwrap_or_default(),
            "lock",
        ));
    }
    for l in logs(
        &pb,
        b.deployment.minter,
        BridgeMinter::Burned::SIGNATURE_HASH,
        b.deployment.deploy_block,
    )
    .await?
    {
        let e = BridgeMinter::Burned::decode_log_data(l.data())?;
        messages.push((
            from_minter(&e.message),
            e.messageId,
            l.transaction_hash.unwrap_or_default(),
            l.block_number.unwrap_or_default(),
            "burn",
        ));
    }
    ensure!(
        messages.len() == names.len(),
        "{} messages on chain, {} sent",
        messages.len(),
        names.len()
    );

    // Releases: Minted on B's minter, Unlocked on A's vault (message id -> release tx).
    let mut released: BTreeMap<B256, B256> = BTreeMap::new();
    for l in logs(
        &pb,
        b.deployment.minter,
        BridgeMinter::Minted::SIGNATURE_HASH,
        b.deployment.deploy_block,
    )
    .await?
    {
        released.insert(
            BridgeMinter::Minted::decode_log_data(l.data())?.messageId,
            l.transaction_hash.unwrap_or_default(),
        );
    }
    for l in logs(
        &pa,
        a.deployment.vault,
        BridgeVault::Unlocked::SIGNATURE_HASH,
        a.deployment.deploy_block,
    )
    .await?
    {
        released.insert(
            BridgeVault::Unlocked::decode_log_data(l.data())?.messageId,
            l.transaction_hash.unwrap_or_default(),
        );
    }
    // Batch roots the verifiers cached: (endpoint, root) -> (epoch, tx).
    let mut roots: HashMap<(Address, B256), (u64, B256)> = HashMap::new();
    for (p, e) in [(&pa, a), (&pb, b)] {
        for l in logs(
            p,
            e.deployment.verifier,
            AttestationVerifier::BatchRootVerified::SIGNATURE_HASH,
            e.deployment.deploy_block,
        )
        .await?
        {
            let v = AttestationVerifier::BatchRootVerified::decode_log_data(l.data())?;
            roots.insert(
                (v.endpoint, v.root),
                (v.epoch, l.transaction_hash.unwrap_or_default()),
            );
        }
    }

    // Decode each release transaction (in chain order: block, then position).
    let mut release_txs: Vec<(End, B256)> = Vec::new();
    for (m, id, ..) in &messages {
        let tx = *released
            .get(id)
            .with_context(|| format!("message {id} has no release event"))?;
        let dst = if m.dstChainId == b.chain_id {
            b.clone()
        } else {
            a.clone()
        };
        if !release_txs.iter().any(|(_, h)| *h == tx) {
            release_txs.push((dst, tx));
        }
    }
    let mut located = Vec::new();
    for (dst, tx) in release_txs {
        let r = provider(&dst)
            .get_transaction_receipt(tx)
            .await?
            .context("no receipt")?;
        located.push((
            r.block_number.unwrap_or_default(),
            r.transaction_index.unwrap_or_default(),
            dst,
            tx,
        ));
    }
    located.sort_by_key(|(block, index, dst, _)| (dst.chain_id, *block, *index));

    let mut releases: Vec<Release> = Vec::new();
    for (_, _, dst, tx) in located {
        let p = provider(&dst);
        let (to, input, block) = tx_input(&p, tx).await?;
        if to == dst.deployment.minter {
            match BridgeMinter::BridgeMinterCalls::abi_decode(&input)? {
                BridgeMinter::BridgeMinterCalls::mint(c) => releases.push(Release {
                    kind: "single",
                    call: "mint",
                    chain: dst.clone(),
                    endpoint: to,
                    tx,
                    block,
                    attestation: recast_attestation(&c.attestation),
                    subject: message_id(&from_minter(&c.message)),
                    members: Vec::new(),
                    proofs: Vec::new(),
                    member_txs: Vec::new(),
                    epoch: None,
                }),
                BridgeMinter::BridgeMinterCalls::mintWholeBatch(c) => {
                    let members: Vec<B256> = c
                        .messages
                        .iter()
                        .map(|m| message_id(&from_minter(m)))
                        .collect();
                    // The minter rebuilds the root from the messages; the verifier's event names it.
                    let (root, (epoch, _)) = roots
                        .iter()
                        .find(|((endpoint, _), (_, t))| *endpoint == to && *t == tx)
                        .map(|((_, root), v)| (*root, *v))
                        .context("no BatchRootVerified in the mintWholeBatch transaction")?;
                    releases.push(Release {
                        kind: "batch",
                        call: "mintWholeBatch",
                        chain: dst.clone(),
                        endpoint: to,
                        tx,
                        block,
                        attestation: recast_attestation(&c.attestation),
                        subject: root,
                        member_txs: vec![tx; members.len()],
                        members,
                        proofs: Vec::new(),
                        epoch: Some(epoch),
                    });
                }
                other => bail!(
                    "release {tx}: unexpected minter call {:?}",
                    other.selector()
                ),
            }
        } else if to == dst.deployment.vault {
            match BridgeVault::BridgeVaultCalls::abi_decode(&input)? {
                BridgeVault::BridgeVaultCalls::unlock(c) => releases.push(Release {
                    kind: "single",
                    call: "unlock",
                    chain: dst.clone(),
                    endpoint: to,
                    tx,
                    block,
                    attestation: recast_attestation(&c.attestation),
                    subject: message_id(&c.message),
                    members: Vec::new(),
                    proofs: Vec::new(),
                    member_txs: Vec::new(),
                    epoch: None,
                }),
                BridgeVault::BridgeVaultCalls::unlockFromBatch(c) => {
                    let id = message_id(&c.message);
                    if let Some(r) = releases.iter_mut().find(|r| {
                        r.call == "verifyBatchRoot + unlockFromBatch"
                            && r.subject == c.root
                            && r.chain.chain_id == dst.chain_id
                    }) {
                        r.members.push(id);
                        r.proofs.push(c.proof);
                        r.member_txs.push(tx);
                        continue;
                    }
                    let &(epoch, root_tx) = roots
                        .get(&(to, c.root))
                        .context("unlockFromBatch of a root never verified")?;
                    let (root_to, root_input, root_block) = tx_input(&p, root_tx).await?;
                    ensure!(
                        root_to == to,
                        "the root of {tx} was verified through {root_to}"
                    );
                    let BridgeVault::BridgeVaultCalls::verifyBatchRoot(v) =
                        BridgeVault::BridgeVaultCalls::abi_decode(&root_input)?
                    else {
                        bail!("{root_tx} is not verifyBatchRoot");
                    };
                    ensure!(v.root == c.root, "verifyBatchRoot of another root");
                    releases.push(Release {
                        kind: "batch",
                        call: "verifyBatchRoot + unlockFromBatch",
                        chain: dst.clone(),
                        endpoint: to,
                        tx: root_tx,
                        block: root_block,
                        attestation: recast_attestation(&v.attestation),
                        subject: c.root,
                        members: vec![id],
                        proofs: vec![c.proof],
                        member_txs: vec![tx],
                        epoch: Some(epoch),
                    });
                }
                other => bail!("release {tx}: unexpected vault call {:?}", other.selector()),
            }
        } else {
            bail!("release {tx} went to {to}, neither minter nor vault");
        }
    }

    // The JSON, with the chain's own digests (views at the attestation's block).
    let mut release_json = Vec::new();
    let mut release_of: HashMap<B256, usize> = HashMap::new();
    for (i, r) in releases.iter().enumerate() {
        let p = provider(&r.chain);
        let v = AttestationVerifier::new(r.chain.deployment.verifier, p);
        let at = BlockId::number(r.block);
        let epoch = match r.epoch {
            Some(e) => e,
            None => v.epoch().block(at).call().await?,
        };
        ensure!(epoch == v.epoch().block(at).call().await?, "epoch moved");
        let (digest, subject_key) = if r.kind == "single" {
            (
                v.messageDigest(r.endpoint, r.subject)
                    .block(at)
                    .call()
                    .await?,
                "messageId",
            )
        } else {
            (
                v.batchDigest(r.endpoint, r.subject)
                    .block(at)
                    .call()
                    .await?,
                "root",
            )
        };
        let (signers, signatures) = attestation_json(&r.attestation)?;
        let members = if r.kind == "single" {
            vec![r.subject]
        } else {
            r.members.clone()
        };
        for id in &members {
            release_of.insert(*id, i);
        }
        let mut o = json!({
            "kind": r.kind,
            "call": r.call,
            "chainId": r.chain.chain_id.to_string(),
            "verifier": r.chain.deployment.verifier.to_string(),
            "endpoint": r.endpoint.to_string(),
            "epoch": epoch.to_string(),
            "domainSeparator": v.domainSeparator().block(at).call().await?.to_string(),
            "digest": digest.to_string(),
            "attestationTx": r.tx.to_string(),
            "block": r.block.to_string(),
            "signers": signers,
            "signatures": signatures,
        });
        o[subject_key] = json!(r.subject.to_string());
        if r.kind == "batch" {
            o["messageIds"] = json!(hexes(&r.members));
            o["proofs"] = json!(r.proofs.iter().map(|p| hexes(p)).collect::<Vec<_>>());
            o["memberTxs"] = json!(hexes(&r.member_txs));
        }
        release_json.push(o);
    }

    let mut message_json_list = Vec::new();
    messages.sort_by_key(|(m, _, _, block, _)| (*block, m.srcChainId, m.nonce));
    for (m, id, tx, block, leg) in &messages {
        let release = *release_of
            .get(id)
            .with_context(|| format!("{id} in no decoded release"))?;
        message_json_list.push(json!({
            "name": names.get(id).cloned().with_context(|| format!("{id} was not sent by this run"))?,
            "leg": leg,
            "message": message_json(m),
            "messageId": id.to_string(),
            "sourceTx": tx.to_string(),
            "sourceBlock": block.to_string(),
            "releaseTx": released[id].to_string(),
            "release": release,
        }));
    }

    let singles = releases.iter().filter(|r| r.kind == "single").count();
    let whole = releases
        .iter()
        .filter(|r| r.call == "mintWholeBatch")
        .count();
    let proved = releases.iter().filter(|r| !r.proofs.is_empty()).count();
    ensure!(singles >= 3, "only {singles} single releases");
    ensure!(whole >= 1, "the lock burst was not released as a batch");
    ensure!(
        proved >= 1,
        "the burn burst was not released from a batch root"
    );

    let chains = vec![chain_json(a).await?, chain_json(b).await?];
    ensure!(
        chains[0]["validators"] == chains[1]["validators"],
        "the chains' validator sets differ"
    );
    Ok(json!({
        "comment": "Captured from a real devnet run by cli/examples/protocol_devnet_fixture.rs (./script/protocol-fixtures.sh --devnet); do not edit. Verified by core/tests/protocol_devnet_fixture.rs, contracts/test/ProtocolFixtures.t.sol and packages/sdk/test/protocol.test.ts.",
        "validators": chains[0]["validators"].clone(),
        "chains": chains,
        "messages": message_json_list,
        "releases": release_json,
    }))
}
