//! The captured devnet run (`contracts/test/fixtures/protocol/devnet-run.json`, written by
//! `cli/examples/protocol_devnet_fixture.rs` through `./script/protocol-fixtures.sh --devnet`)
//! against the core: every message id the contracts emitted is recomputed from the message
//! fields, every release's EIP-712 digest from its domain and inputs, every signature recovered
//! to the signer it names (a member of the validator set), every batch root rebuilt from its
//! members and every Merkle proof the relayer sent verified. No devnet runs here; the same
//! checks run in `contracts/test/ProtocolFixtures.t.sol` and `packages/sdk/test/protocol.test.ts`.
// Test code: a panicking unwrap is the failure report.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

use std::collections::HashSet;
use std::path::PathBuf;

use alloy::primitives::{Address, B256, U256};
use ghostbridge_core::keys::recover_signer;
use ghostbridge_core::protocol::{
    merkle_root, merkle_verify, message_id, signer_set_hash, Domain, Message,
};
use serde_json::Value;

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../contracts/test/fixtures/protocol/devnet-run.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (capture it with ./script/protocol-fixtures.sh --devnet)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}
fn b256(v: &Value) -> B256 {
    s(v).parse().unwrap()
}
fn addr(v: &Value) -> Address {
    s(v).parse().unwrap()
}
fn u64_(v: &Value) -> u64 {
    s(v).parse().unwrap()
}
fn list(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
}
fn b256s(v: &Value) -> Vec<B256> {
    list(v).iter().map(b256).collect()
}

fn message(m: &Value) -> Message {
    Message {
        version: u8::try_from(m["version"].as_u64().unwrap()).unwrap(),
        srcChainId: u64_(&m["srcChainId"]),
        dstChainId: u64_(&m["dstChainId"]),
        srcContract: addr(&m["srcContract"]),
        nonce: u64_(&m["nonce"]),
        token: addr(&m["token"]),
        amount: s(&m["amount"]).parse::<U256>().unwrap(),
        sender: addr(&m["sender"]),
        recipient: addr(&m["recipient"]),
    }
}

/// `(r, vs)` (EIP-2098) as the 65-byte `r || s || v` the core's recovery takes.
fn sig65(r: B256, vs: B256) -> [u8; 65] {
    let mut out = [0u8; 65];
    out[..32].copy_from_slice(r.as_slice());
    out[32..64].copy_from_slice(vs.as_slice());
    out[32] &= 0x7f;
    out[64] = 27 + (vs[0] >> 7);
    out
}

#[test]
fn every_emitted_message_id_is_the_core_message_id_of_its_fields() {
    let f = fixture();
    let messages = list(&f["messages"]);
    assert!(
        messages.len() >= 3 + 2 * 8,
        "{} messages in the capture",
        messages.len()
    );
    let mut ids = HashSet::new();
    for m in messages {
        let id = message_id(&message(&m["message"]));
        assert_eq!(id, b256(&m["messageId"]), "{}", m["name"]);
        assert!(ids.insert(id), "message id {id} twice");
    }
}

#[test]
fn every_release_digest_and_signature_checks_out_under_the_core() {
    let f = fixture();
    let validators: Vec<Address> = list(&f["validators"]).iter().map(addr).collect();
    assert_eq!(validators.len(), 4, "the devnet's validators");
    let releases = list(&f["releases"]);
    let mut signatures_checked = 0;
    for (i, r) in releases.iter().enumerate() {
        let chain = list(&f["chains"])
            .iter()
            .find(|c| c["chainId"] == r["chainId"])
            .unwrap();
        let domain = Domain {
            chain_id: u64_(&r["chainId"]),
            verifier: addr(&r["verifier"]),
        };
        assert_eq!(addr(&chain["verifier"]), domain.verifier, "release {i}");
        assert_eq!(
            domain.separator(),
            b256(&r["domainSeparator"]),
            "release {i}: domain separator"
        );
        let endpoint = addr(&r["endpoint"]);
        let epoch = u64_(&r["epoch"]);
        let digest = match s(&r["kind"]) {
            "single" => domain.message_digest(endpoint, b256(&r["messageId"]), epoch),
            "batch" => domain.batch_digest(endpoint, b256(&r["root"]), epoch),
            other => panic!("release {i}: kind {other}"),
        };
        assert_eq!(digest, b256(&r["digest"]), "release {i}: digest");

        let signers: Vec<Address> = list(&r["signers"]).iter().map(addr).collect();
        assert_eq!(signers, validators, "release {i}: the attested signer set");
        assert_eq!(
            signer_set_hash(&signers),
            b256(&chain["signerSetHash"]),
            "release {i}: signer set hash"
        );
        let sigs = list(&r["signatures"]);
        assert!(
            sigs.len() as u64 >= u64_(&chain["threshold"]),
            "release {i}: {} signatures",
            sigs.len()
        );
        let mut last: Option<u64> = None;
        for sig in sigs {
            let index = sig["signerIndex"].as_u64().unwrap();
            assert!(
                last.is_none_or(|l| index > l),
                "release {i}: indices ascend"
            );
            last = Some(index);
            let signer = addr(&sig["signer"]);
            assert_eq!(signers[usize::try_from(index).unwrap()], signer);
            assert!(validators.contains(&signer), "release {i}: {signer}");
            let recovered = recover_signer(digest, &sig65(b256(&sig["r"]), b256(&sig["vs"])))
                .unwrap_or_else(|e| panic!("release {i}: {e}"));
            assert_eq!(recovered, signer, "release {i}: recovered signer");
            signatures_checked += 1;
        }
    }
    assert!(
        signatures_checked >= 5 * 3,
        "{signatures_checked} signatures"
    );
}

#[test]
fn every_batch_root_and_merkle_proof_verifies_under_the_core() {
    let f = fixture();
    let known: HashSet<B256> = list(&f["messages"])
        .iter()
        .map(|m| b256(&m["messageId"]))
        .collect();
    let (mut whole, mut proved, mut proofs) = (0, 0, 0);
    for (i, r) in list(&f["releases"]).iter().enumerate() {
        if r["kind"] != "batch" {
            continue;
        }
        let root = b256(&r["root"]);
        let ids = b256s(&r["messageIds"]);
        assert!(ids.len() >= 2, "release {i}: a batch of {}", ids.len());
        assert!(ids.iter().all(|id| known.contains(id)), "release {i}");
        let batch_proofs = list(&r["proofs"]);
        if batch_proofs.is_empty() {
            // mintWholeBatch: the minter rebuilt the root from the messages, in calldata order.
            assert_eq!(merkle_root(&ids).unwrap(), root, "release {i}: root");
            whole += 1;
        } else {
            assert_eq!(batch_proofs.len(), ids.len(), "release {i}");
            for (id, proof) in ids.iter().zip(batch_proofs) {
                let proof = b256s(proof);
                assert!(
                    merkle_verify(&proof, root, *id),
                    "release {i}: proof of {id}"
                );
                let mut other = *id;
                other.0[31] ^= 1;
                assert!(!merkle_verify(&proof, root, other), "release {i}");
                proofs += 1;
            }
            proved += 1;
        }
    }
    assert!(whole >= 1, "no whole-batch mint in the capture");
    assert!(proved >= 1 && proofs >= 2, "no batch released by proofs");
}

#[test]
fn every_message_names_the_release_that_delivered_it() {
    let f = fixture();
    let releases = list(&f["releases"]);
    for m in list(&f["messages"]) {
        let id = &m["messageId"];
        let r = &releases[usize::try_from(m["release"].as_u64().unwrap()).unwrap()];
        assert_eq!(
            r["chainId"], m["message"]["dstChainId"],
            "released on the destination"
        );
        let tx = &m["releaseTx"];
        if r["kind"] == "single" {
            assert_eq!(&r["messageId"], id);
            assert_eq!(&r["attestationTx"], tx);
        } else {
            let at = list(&r["messageIds"])
                .iter()
                .position(|x| x == id)
                .unwrap_or_else(|| panic!("{id} not in its batch"));
            assert_eq!(&list(&r["memberTxs"])[at], tx, "{id}: release transaction");
        }
    }
}
