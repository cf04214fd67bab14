// The wire protocol of docs/PROTOCOL.md in TypeScript: message ids, EIP-712 domain and attestation
// digests, the batch Merkle tree and the validator-set hashes, computed as
// contracts/src/libraries/BridgeMessages.sol, AttestationVerifier.sol and core/src/protocol.rs do.
// test/protocol.test.ts checks every function against the fixture the Rust core writes
// (contracts/test/fixtures/protocol/bridge.json), which the Solidity tests read too.
import {
  type AbiParameterToPrimitiveType,
  type Address,
  type Hex,
  concat,
  encodeAbiParameters,
  encodePacked,
  hashDomain,
  hashTypedData,
  keccak256,
  toHex,
} from "viem";
import { bridgeVaultAbi } from "./generated/BridgeVault.js";

type VaultItem = (typeof bridgeVaultAbi)[number];
type LockedEvent = Extract<VaultItem, { type: "event"; name: "Locked" }>;
type MessageParameter = Extract<LockedEvent["inputs"][number], { name: "message" }>;

/** The `BridgeMessage` tuple exactly as the vault's ABI declares it (the `Locked` event's `message`). */
export const bridgeMessageParameter: MessageParameter = (() => {
  const locked = bridgeVaultAbi.find((i): i is LockedEvent => i.type === "event" && i.name === "Locked");
  const param = locked?.inputs.find((p): p is MessageParameter => p.name === "message");
  if (!param) throw new Error("BridgeVault ABI has no Locked(message) event: regenerate the bindings");
  return param;
})();

/**
 * One transfer between two chains (`BridgeMessage` of the contracts), typed from the ABI:
 * `version` is a number (uint8), chain ids, nonce and amount are bigints.
 */
export type BridgeMessage = AbiParameterToPrimitiveType<MessageParameter>;

/** The one message format version the contracts accept. */
export const MESSAGE_VERSION = 1;

/** EIP-712 domain name and version of every `AttestationVerifier`. */
export const EIP712_NAME = "GhostBridge";
export const EIP712_VERSION = "1";

/** `keccak256("MessageAttestation(bytes32 messageId,uint64 epoch,address endpoint)")`. */
export const MESSAGE_ATTESTATION_TYPEHASH: Hex = keccak256(
  toHex("MessageAttestation(bytes32 messageId,uint64 epoch,address endpoint)"),
);
/** `keccak256("BatchAttestation(bytes32 root,uint64 epoch,address endpoint)")`. */
export const BATCH_ATTESTATION_TYPEHASH: Hex = keccak256(
  toHex("BatchAttestation(bytes32 root,uint64 epoch,address endpoint)"),
);

/** EIP-712 types validators sign (for `signTypedData` / `hashTypedData`). */
export const attestationTypes = {
  MessageAttestation: [
    { name: "messageId", type: "bytes32" },
    { name: "epoch", type: "uint64" },
    { name: "endpoint", type: "address" },
  ],
  BatchAttestation: [
    { name: "root", type: "bytes32" },
    { name: "epoch", type: "uint64" },
    { name: "endpoint", type: "address" },
  ],
} as const;

/** The destination chain's `AttestationVerifier`, which every attestation is addressed to. */
export interface VerifierDomain {
  /** Destination chain id. */
  chainId: bigint | number;
  /** The destination's `AttestationVerifier`. */
  verifier: Address;
}

/** The EIP-712 domain of a destination chain's `AttestationVerifier`. */
export function eip712Domain(domain: VerifierDomain): {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: Address;
} {
  return {
    name: EIP712_NAME,
    version: EIP712_VERSION,
    chainId: BigInt(domain.chainId),
    verifyingContract: domain.verifier,
  };
}

/** `AttestationVerifier.domainSeparator()`. */
export function domainSeparator(domain: VerifierDomain): Hex {
  return hashDomain({
    domain: eip712Domain(domain),
    types: {
      EIP712Domain: [
        { name: "name", type: "string" },
        { name: "version", type: "string" },
        { name: "chainId", type: "uint256" },
        { name: "verifyingContract", type: "address" },
      ],
    },
  });
}

/** `abi.encode(message)`: the 9 fields, 9 x 32 bytes. */
export function encodeMessage(message: BridgeMessage): Hex {
  return encodeAbiParameters([bridgeMessageParameter], [message]);
}

/** `messageId = keccak256(abi.encode(message))`. */
export function messageId(message: BridgeMessage): Hex {
  return keccak256(encodeMessage(message));
}

/** What an attestation of one message says (the releasing `endpoint` and the verifier's epoch). */
export interface MessageAttestationInput extends VerifierDomain {
  /** The destination contract that releases: its minter for a lock, its vault for a burn. */
  endpoint: Address;
  /** The verifier's current epoch. */
  epoch: bigint | number;
  messageId: Hex;
}

/** What an attestation of a batch root says. */
export interface BatchAttestationInput extends VerifierDomain {
  endpoint: Address;
  epoch: bigint | number;
  /** Merkle root over the batch's message ids ({@link merkleRoot}). */
  root: Hex;
}

/** Digest validators sign for one message (`AttestationVerifier.messageDigest(endpoint, messageId)`). */
export function messageDigest(input: MessageAttestationInput): Hex {
  return hashTypedData({
    domain: eip712Domain(input),
    types: attestationTypes,
    primaryType: "MessageAttestation",
    message: { messageId: input.messageId, epoch: BigInt(input.epoch), endpoint: input.endpoint },
  });
}

/** Digest validators sign for a batch root (`AttestationVerifier.batchDigest(endpoint, root)`). */
export function batchDigest(input: BatchAttestationInput): Hex {
  return hashTypedData({
    domain: eip712Domain(input),
    types: attestationTypes,
    primaryType: "BatchAttestation",
    message: { root: input.root, epoch: BigInt(input.epoch), endpoint: input.endpoint },
  });
}

// ------------------------------------------------------------------ batch Merkle tree

/** Leaf of a message id: `keccak256(bytes.concat(keccak256(abi.encode(id))))` (double hash). */
export function merkleLeaf(id: Hex): Hex {
  return keccak256(keccak256(encodeAbiParameters([{ type: "bytes32" }], [id])));
}

/** OpenZeppelin `Hashes.commutativeKeccak256`: the smaller word first. */
export function hashPair(a: Hex, b: Hex): Hex {
  return BigInt(a) <= BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

function nextLevel(level: readonly Hex[]): Hex[] {
  const next: Hex[] = [];
  for (let i = 0; i < level.length; i += 2) {
    // An odd node is carried up unchanged.
    next.push(i + 1 < level.length ? hashPair(level[i]!, level[i + 1]!) : level[i]!);
  }
  return next;
}

function leaves(ids: readonly Hex[]): Hex[] {
  if (ids.length === 0) throw new RangeError("a batch needs at least one message");
  return ids.map(merkleLeaf);
}

/** Root over the batch's message ids, in the given order. Throws on an empty batch. */
export function merkleRoot(ids: readonly Hex[]): Hex {
  let level = leaves(ids);
  while (level.length > 1) level = nextLevel(level);
  return level[0]!;
}

/** Every member's proof at once (sibling hashes, bottom-up), one tree build. */
export function merkleProofs(ids: readonly Hex[]): Hex[][] {
  let level = leaves(ids);
  const positions = ids.map((_, i) => i);
  const proofs: Hex[][] = ids.map(() => []);
  while (level.length > 1) {
    positions.forEach((position, i) => {
      const sibling = position ^ 1;
      if (sibling < level.length) proofs[i]!.push(level[sibling]!);
      positions[i] = position >> 1;
    });
    level = nextLevel(level);
  }
  return proofs;
}

/** The proof of `ids[index]` under {@link merkleRoot}. Throws if `index` is outside the batch. */
export function merkleProof(ids: readonly Hex[], index: number): Hex[] {
  if (!Number.isInteger(index) || index < 0 || index >= ids.length) {
    throw new RangeError(`index ${index} is outside a batch of ${ids.length}`);
  }
  let level = leaves(ids);
  let position = index;
  const proof: Hex[] = [];
  while (level.length > 1) {
    const sibling = position ^ 1;
    if (sibling < level.length) proof.push(level[sibling]!);
    level = nextLevel(level);
    position >>= 1;
  }
  return proof;
}

/** OpenZeppelin `MerkleProof.verify` for a message id. */
export function verifyMerkleProof(proof: readonly Hex[], root: Hex, id: Hex): boolean {
  return BigInt(proof.reduce<Hex>((acc, p) => hashPair(acc, p), merkleLeaf(id))) === BigInt(root);
}

// ------------------------------------------------------------------ validator sets

/** `signerSetHash = keccak256(abi.encodePacked(address[]))`: each address padded to 32 bytes. */
export function signerSetHash(signers: readonly Address[]): Hex {
  return keccak256(encodePacked(["address[]"], [signers]));
}

/** `pqKeySetHash = keccak256(abi.encodePacked(bytes32[] pqKeyHashes))`. */
export function pqKeySetHash(pqKeyHashes: readonly Hex[]): Hex {
  return keccak256(encodePacked(["bytes32[]"], [pqKeyHashes]));
}
