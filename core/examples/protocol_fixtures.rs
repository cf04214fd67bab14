//! Writes the shared bridge-protocol fixture, `contracts/test/fixtures/protocol/bridge.json`:
//! message ids, EIP-712 domain separators and attestation digests, batch Merkle leaves, roots and
//! proofs, signer-set hashes, all computed by `ghostbridge_core::protocol` (the code the
//! validators and the relayer run). Solidity (`contracts/test/ProtocolFixtures.t.sol`) and the
//! TypeScript SDK (`packages/sdk/test/protocol.test.ts`) check their own implementations against
//! this one file. Fixed inputs, no randomness: the output is deterministic, and
//! `script/protocol-fixtures.sh --check` fails when the committed file differs.
//!
//! `cargo run -p ghostbridge-core --example protocol_fixtures -- OUT.json`

use alloy::primitives::{address, keccak256, Address, B256, U256};
use alloy::sol_types::SolValue;
use anyhow::Context;
use ghostbridge_core::protocol::{
    batch_attestation_typehash, merkle_leaf, merkle_proof, merkle_proofs, merkle_root,
    merkle_verify, message_attestation_typehash, message_id, pq_key_set_hash, signer_set_hash,
    Domain, Message, MESSAGE_VERSION,
};
use serde_json::{json, Value};

// Addresses of a devnet: anvil's deterministic deployments and dev accounts.
const VERIFIER_A: Address = address!("5FbDB2315678afecb367f032d93F642f64180aa3");
const VAULT_A: Address = address!("9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0");
const MINTER_A: Address = address!("Cf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9");
const VERIFIER_B: Address = address!("e7f1725E7734CE288F8367e1Bb143E90bb3F0512");
const VAULT_B: Address = address!("DC64a140Aa3E981100a9becA4E685f962f0cF6C9");
const MINTER_B: Address = address!("5FC8d32690cc91D4c39d9d3abcBD16989F875707");
const GCC: Address = address!("a513E6E4b8f2a923D98304ec87F64353C4D5C853");
const ALICE: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
const BOB: Address = address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
/// The endpoint of the known-answer vector pinned in core and in `EndpointBinding.t.sol`.
const KAT_ENDPOINT: Address = address!("e7f1725E7734CE288F8367e1Bb143E90bb3F0512");
const CHAIN_A: u64 = 31337;
const CHAIN_B: u64 = 31338;

fn hex32(values: &[B256]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

/// The messages: both legs, ERC20 and native, edge values of every field.
fn messages() -> Vec<(&'static str, Message)> {
    let one_gcc = U256::from(10u64).pow(U256::from(18u64));
    vec![
        (
            "lock 1 GCC on A, minted on B",
            Message {
                version: MESSAGE_VERSION,
                srcChainId: CHAIN_A,
                dstChainId: CHAIN_B,
                srcContract: VAULT_A,
                nonce: 1,
                token: GCC,
                amount: one_gcc,
                sender: ALICE,
                recipient: BOB,
            },
        ),
        (
            "lock 0.25 native ETH on A, minted on B",
            Message {
                version: MESSAGE_VERSION,
                srcChainId: CHAIN_A,
                dstChainId: CHAIN_B,
                srcContract: VAULT_A,
                nonce: 2,
                token: Address::ZERO,
                amount: U256::from(250_000_000_000_000_000u64),
                sender: ALICE,
                recipient: ALICE,
            },
        ),
        (
            "burn wrapped GCC on B, unlocked on A (token = the canonical GCC)",
            Message {
                version: MESSAGE_VERSION,
                srcChainId: CHAIN_B,
                dstChainId: CHAIN_A,
                srcContract: MINTER_B,
                nonce: 1,
                token: GCC,
                amount: U256::from(123_456_789u64),
                sender: BOB,
                recipient: ALICE,
            },
        ),
        (
            "edge values: max nonce, max amount, max chain ids",
            Message {
                version: MESSAGE_VERSION,
                srcChainId: u64::MAX,
                dstChainId: u64::MAX,
                srcContract: Address::repeat_byte(0xff),
                nonce: u64::MAX,
                token: Address::repeat_byte(0xee),
                amount: U256::MAX,
                sender: Address::repeat_byte(0x01),
                recipient: Address::ZERO,
            },
        ),
    ]
}

fn message_json(name: &str, m: &Message) -> Value {
    json!({
        "name": name,
        "message": {
            "version": m.version,
            "srcChainId": m.srcChainId.to_string(),
            "dstChainId": m.dstChainId.to_string(),
            "srcContract": m.srcContract.to_string(),
            "nonce": m.nonce.to_string(),
            "token": m.token.to_string(),
            "amount": m.amount.to_string(),
            "sender": m.sender.to_string(),
            "recipient": m.recipient.to_string(),
        },
        "encoded": alloy::primitives::hex::encode_prefixed(m.abi_encode()),
        "id": message_id(m).to_string(),
    })
}

fn digest_json(
    name: &str,
    domain: Domain,
    endpoint: Address,
    epoch: u64,
    id: B256,
    root: B256,
) -> Value {
    json!({
        "name": name,
        "chainId": domain.chain_id.to_string(),
        "verifier": domain.verifier.to_string(),
        "endpoint": endpoint.to_string(),
        "epoch": epoch.to_string(),
        "domainSeparator": domain.separator().to_string(),
        "messageId": id.to_string(),
        "messageDigest": domain.message_digest(endpoint, id, epoch).to_string(),
        "root": root.to_string(),
        "batchDigest": domain.batch_digest(endpoint, root, epoch).to_string(),
    })
}

fn batch_json(name: &str, ids: &[B256]) -> anyhow::Result<Value> {
    let root = merkle_root(ids)?;
    let proofs = merkle_proofs(ids)?;
    for (i, id) in ids.iter().enumerate() {
        anyhow::ensure!(proofs[i] == merkle_proof(ids, i)?, "proof {i} differs");
        anyhow::ensure!(merkle_verify(&proofs[i], root, *id), "proof {i} fails");
    }
    let leaves: Vec<B256> = ids.iter().map(|id| merkle_leaf(*id)).collect();
    Ok(json!({
        "name": name,
        "messageIds": hex32(ids),
        "leaves": hex32(&leaves),
        "root": root.to_string(),
        "proofs": proofs.iter().map(|p| hex32(p)).collect::<Vec<_>>(),
    }))
}

fn fixtures() -> anyhow::Result<Value> {
    let messages = messages();
    let ids: Vec<B256> = messages.iter().map(|(_, m)| message_id(m)).collect();
    let lock_ids: Vec<B256> = messages
        .iter()
        .filter(|(_, m)| m.srcContract == VAULT_A)
        .map(|(_, m)| message_id(m))
        .collect();

    let mut batches = vec![
        batch_json("the two locks on A (released by B's minter)", &lock_ids)?,
        batch_json("the four messages", &ids)?,
    ];
    // Synthetic ids `keccak256(uint256(i))`: every shape of an odd node carried up.
    for n in [1usize, 2, 3, 5, 7, 8, 13] {
        let synthetic: Vec<B256> = (0..n)
            .map(|i| keccak256(U256::from(i).abi_encode()))
            .collect();
        batches.push(batch_json(
            &format!("{n} synthetic ids keccak256(abi.encode(uint256(i)))"),
            &synthetic,
        )?);
    }

    let on_b = Domain {
        chain_id: CHAIN_B,
        verifier: VERIFIER_B,
    };
    let on_a = Domain {
        chain_id: CHAIN_A,
        verifier: VERIFIER_A,
    };
    let lock_root = merkle_root(&lock_ids)?;
    let kat = Domain {
        chain_id: CHAIN_A,
        verifier: VERIFIER_A,
    };
    let digests = vec![
        digest_json(
            "the known-answer vector of core/src/protocol.rs and EndpointBinding.t.sol",
            kat,
            KAT_ENDPOINT,
            1,
            keccak256("ghostbridge kat message"),
            keccak256("ghostbridge kat batch"),
        ),
        digest_json(
            "lock leg: released by B's minter, epoch 1",
            on_b,
            MINTER_B,
            1,
            ids[0],
            lock_root,
        ),
        digest_json(
            "the same on B's vault: another endpoint, other digests",
            on_b,
            VAULT_B,
            1,
            ids[0],
            lock_root,
        ),
        digest_json(
            "burn leg: released by A's vault, epoch 7",
            on_a,
            VAULT_A,
            7,
            ids[2],
            merkle_root(&ids[2..3])?,
        ),
        digest_json(
            "edge values: max epoch, max chain id",
            Domain {
                chain_id: u64::MAX,
                verifier: Address::repeat_byte(0xab),
            },
            MINTER_A,
            u64::MAX,
            ids[3],
            merkle_root(&ids)?,
        ),
    ];

    let signers = vec![ALICE, BOB, VAULT_A, MINTER_A];
    let pq: Vec<B256> = (0u8..4).map(|i| keccak256([i])).collect();

    Ok(json!({
        "comment": "Generated by core/examples/protocol_fixtures.rs (./script/protocol-fixtures.sh); do not edit. Read by core, contracts/test/ProtocolFixtures.t.sol and packages/sdk.",
        "typehashes": {
            "messageAttestation": message_attestation_typehash().to_string(),
            "batchAttestation": batch_attestation_typehash().to_string(),
        },
        "messages": messages.iter().map(|(name, m)| message_json(name, m)).collect::<Vec<_>>(),
        "digests": digests,
        "batches": batches,
        "signerSets": [{
            "signers": signers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "signerSetHash": signer_set_hash(&signers).to_string(),
            "pqKeyHashes": hex32(&pq),
            "pqKeySetHash": pq_key_set_hash(&pq).to_string(),
        }],
    }))
}

fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .context("usage: protocol_fixtures OUT.json")?;
    let mut text = serde_json::to_string_pretty(&fixtures()?)?;
    text.push('\n');
    std::fs::write(&out, text).with_context(|| format!("writing {out}"))?;
    Ok(())
}
