import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Hex, compactSignatureToSignature, getAddress, keccak256, recoverAddress, toHex } from "viem";
import {
  BATCH_ATTESTATION_TYPEHASH,
  type BridgeMessage,
  MESSAGE_ATTESTATION_TYPEHASH,
  MESSAGE_VERSION,
  batchDigest,
  domainSeparator,
  encodeMessage,
  hashPair,
  merkleLeaf,
  merkleProof,
  merkleProofs,
  merkleRoot,
  messageDigest,
  messageId,
  pqKeySetHash,
  signerSetHash,
  verifyMerkleProof,
} from "../src/index.js";
import { type DevnetRun, type FixtureMessage, loadDevnetRun, loadFixture } from "./fixture.js";

const fixture = loadFixture();

function toMessage(m: FixtureMessage["message"]): BridgeMessage {
  return {
    version: m.version,
    srcChainId: BigInt(m.srcChainId),
    dstChainId: BigInt(m.dstChainId),
    srcContract: m.srcContract,
    nonce: BigInt(m.nonce),
    token: m.token,
    amount: BigInt(m.amount),
    sender: m.sender,
    recipient: m.recipient,
  };
}

describe("shared protocol fixture (written by the Rust core)", () => {
  it("has every section filled", () => {
    assert.ok(fixture.messages.length >= 4, "messages");
    assert.ok(fixture.digests.length >= 5, "digests");
    assert.ok(fixture.batches.length >= 9, "batches");
    assert.ok(fixture.signerSets.length >= 1, "signer sets");
  });

  it("typehashes", () => {
    assert.equal(MESSAGE_ATTESTATION_TYPEHASH, fixture.typehashes.messageAttestation);
    assert.equal(BATCH_ATTESTATION_TYPEHASH, fixture.typehashes.batchAttestation);
  });
});

describe("message id", () => {
  for (const entry of fixture.messages) {
    it(entry.name, () => {
      const message = toMessage(entry.message);
      assert.equal(message.version, MESSAGE_VERSION);
      assert.equal(encodeMessage(message), entry.encoded);
      assert.equal(messageId(message), entry.id);
    });
  }

  it("changes with every field", () => {
    const base = toMessage(fixture.messages[0]!.message);
    const id = messageId(base);
    const changed: BridgeMessage[] = [
      { ...base, version: 2 },
      { ...base, srcChainId: base.srcChainId + 1n },
      { ...base, dstChainId: base.dstChainId + 1n },
      { ...base, srcContract: getAddress("0x0000000000000000000000000000000000000001") },
      { ...base, nonce: base.nonce + 1n },
      { ...base, token: getAddress("0x0000000000000000000000000000000000000002") },
      { ...base, amount: base.amount + 1n },
      { ...base, sender: getAddress("0x0000000000000000000000000000000000000003") },
      { ...base, recipient: getAddress("0x0000000000000000000000000000000000000004") },
    ];
    assert.equal(new Set(changed.map(messageId).concat(id)).size, changed.length + 1);
    // @ts-expect-error: the ABI types `version` as uint8 (a number), not a bigint
    const wrong: BridgeMessage = { ...base, version: 1n };
    void wrong;
  });
});

describe("EIP-712 digests", () => {
  for (const d of fixture.digests) {
    it(d.name, () => {
      const domain = { chainId: BigInt(d.chainId), verifier: d.verifier };
      assert.equal(domainSeparator(domain), d.domainSeparator);
      const common = { ...domain, endpoint: d.endpoint, epoch: BigInt(d.epoch) };
      assert.equal(messageDigest({ ...common, messageId: d.messageId }), d.messageDigest);
      assert.equal(batchDigest({ ...common, root: d.root }), d.batchDigest);
    });
  }

  it("a number chain id and epoch give the same digest as bigints", () => {
    const d = fixture.digests[1]!;
    const digest = messageDigest({
      chainId: Number(d.chainId),
      verifier: d.verifier,
      endpoint: d.endpoint,
      epoch: Number(d.epoch),
      messageId: d.messageId,
    });
    assert.equal(digest, d.messageDigest);
  });
});

describe("batch Merkle tree", () => {
  for (const b of fixture.batches) {
    it(b.name, () => {
      assert.deepEqual(b.messageIds.map(merkleLeaf), b.leaves);
      assert.equal(merkleRoot(b.messageIds), b.root);
      assert.deepEqual(merkleProofs(b.messageIds), b.proofs);
      b.messageIds.forEach((id, i) => {
        assert.deepEqual(merkleProof(b.messageIds, i), b.proofs[i]);
        assert.ok(verifyMerkleProof(b.proofs[i]!, b.root, id), `member ${i} verifies`);
      });
    });
  }

  it("a foreign id, a wrong root or a tampered proof does not verify", () => {
    const b = fixture.batches.find((x) => x.messageIds.length >= 5)!;
    const foreign = keccak256(toHex("not in the batch"));
    assert.equal(verifyMerkleProof(b.proofs[0]!, b.root, foreign), false);
    assert.equal(verifyMerkleProof(b.proofs[0]!, foreign, b.messageIds[0]!), false);
    const tampered = [...b.proofs[0]!];
    tampered[0] = foreign;
    assert.equal(verifyMerkleProof(tampered, b.root, b.messageIds[0]!), false);
  });

  it("inner nodes are commutative, so swapping two siblings keeps the root", () => {
    const b = fixture.batches.find((x) => x.messageIds.length === 2)!;
    const [x, y] = b.messageIds as [Hex, Hex];
    assert.equal(merkleRoot([y, x]), merkleRoot([x, y]));
    assert.equal(hashPair(x, y), hashPair(y, x));
  });

  it("refuses an empty batch and an index outside it", () => {
    assert.throws(() => merkleRoot([]), RangeError);
    assert.throws(() => merkleProofs([]), RangeError);
    const ids = fixture.batches[0]!.messageIds;
    assert.throws(() => merkleProof(ids, ids.length), RangeError);
    assert.throws(() => merkleProof(ids, -1), RangeError);
  });
});

describe("validator-set hashes", () => {
  for (const s of fixture.signerSets) {
    it(`${s.signers.length} signers`, () => {
      assert.equal(signerSetHash(s.signers), s.signerSetHash);
      assert.equal(pqKeySetHash(s.pqKeyHashes), s.pqKeySetHash);
    });
  }
});

describe("captured devnet run (devnet-run.json: ids, attestations and proofs read from the chains)", () => {
  // Read in each test, so a missing capture fails every one of them (not the suite's set-up).
  let loaded: DevnetRun | undefined;
  const devnetRun = (): DevnetRun => {
    loaded ??= loadDevnetRun();
    return loaded;
  };

  it("holds the run's transfers, single and batch releases", () => {
    const run = devnetRun();
    assert.ok(run.messages.length >= 3 + 2 * 8, "messages");
    assert.ok(run.releases.filter((r) => r.kind === "single").length >= 3, "single releases");
    assert.ok(run.releases.some((r) => r.kind === "batch" && (r.proofs ?? []).length === 0), "a whole-batch mint");
    assert.ok(run.releases.some((r) => r.kind === "batch" && (r.proofs ?? []).length > 0), "a batch released by proofs");
    assert.equal(run.validators.length, 4, "validators");
  });

  it("every emitted message id is the SDK's message id of its fields", () => {
    const run = devnetRun();
    for (const m of run.messages) {
      const message = toMessage(m.message);
      assert.equal(message.version, MESSAGE_VERSION);
      assert.equal(messageId(message), m.messageId, m.name);
    }
  });

  it("every release digest is the SDK's, and every signature recovers to its validator", async () => {
    const run = devnetRun();
    let signatures = 0;
    for (const [i, r] of run.releases.entries()) {
      const chain = run.chains.find((c) => c.chainId === r.chainId);
      assert.ok(chain, `release ${i}: its chain`);
      assert.equal(getAddress(r.verifier), getAddress(chain.verifier), `release ${i}: verifier`);
      const domain = { chainId: BigInt(r.chainId), verifier: r.verifier };
      assert.equal(domainSeparator(domain), r.domainSeparator, `release ${i}: domain separator`);
      const digest =
        r.kind === "single"
          ? messageDigest({ ...domain, endpoint: r.endpoint, epoch: BigInt(r.epoch), messageId: r.messageId as Hex })
          : batchDigest({ ...domain, endpoint: r.endpoint, epoch: BigInt(r.epoch), root: r.root as Hex });
      assert.equal(digest, r.digest, `release ${i}: digest`);
      assert.deepEqual(r.signers.map(getAddress), run.validators.map(getAddress), `release ${i}: signer set`);
      assert.equal(signerSetHash(r.signers), chain.signerSetHash, `release ${i}: signer set hash`);
      assert.ok(r.signatures.length >= Number(chain.threshold), `release ${i}: threshold`);
      for (const s of r.signatures) {
        assert.equal(getAddress(r.signers[s.signerIndex]!), getAddress(s.signer), `release ${i}: index`);
        const recovered = await recoverAddress({
          hash: digest,
          signature: compactSignatureToSignature({ r: s.r, yParityAndS: s.vs }),
        });
        assert.equal(getAddress(recovered), getAddress(s.signer), `release ${i}: recovered signer`);
        signatures += 1;
      }
    }
    assert.ok(signatures >= 5 * 3, `${signatures} signatures`);
  });

  it("every batch root and Merkle proof verifies under the SDK", () => {
    const run = devnetRun();
    for (const [i, r] of run.releases.entries()) {
      if (r.kind !== "batch") continue;
      const ids = r.messageIds ?? [];
      const proofs = r.proofs ?? [];
      assert.ok(ids.length >= 2, `release ${i}: members`);
      if (proofs.length === 0) {
        // mintWholeBatch: the minter rebuilt the root from the messages, in calldata order.
        assert.equal(merkleRoot(ids), r.root, `release ${i}: root`);
        continue;
      }
      assert.equal(proofs.length, ids.length, `release ${i}: one proof per member`);
      ids.forEach((id, j) => {
        assert.equal(verifyMerkleProof(proofs[j]!, r.root as Hex, id), true, `release ${i}: proof ${j}`);
        const other = `${id.slice(0, -1)}${id.endsWith("0") ? "1" : "0"}` as Hex;
        assert.equal(verifyMerkleProof(proofs[j]!, r.root as Hex, other), false, `release ${i}: foreign id`);
      });
    }
  });
});
