// The shared protocol fixtures, read from the repo (never copied) by the Rust core, the Solidity
// tests (contracts/test/ProtocolFixtures.t.sol) and these tests:
// - contracts/test/fixtures/protocol/bridge.json: vectors the Rust core computes from fixed
//   inputs (script/protocol-fixtures.sh; --check in CI);
// - contracts/test/fixtures/protocol/devnet-run.json: a real devnet run captured from the chains
//   (script/protocol-fixtures.sh --devnet): emitted message ids, the relayer's attestations and
//   Merkle proofs.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Address, Hex } from "viem";

function findUp(start: string, marker: string): string {
  let dir = start;
  while (!existsSync(join(dir, marker))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no ${marker} above ${start}`);
    dir = up;
  }
  return dir;
}

const here = dirname(fileURLToPath(import.meta.url));
/** packages/sdk (the tests run from dist/test/). */
export const sdkRoot = findUp(here, "scripts/generate-abi.mjs");
/** The repository root. */
export const repoRoot = findUp(sdkRoot, "contracts/abi");
export const FIXTURE_PATH = join(repoRoot, "contracts/test/fixtures/protocol/bridge.json");

export interface FixtureMessage {
  name: string;
  message: {
    version: number;
    srcChainId: string;
    dstChainId: string;
    srcContract: Address;
    nonce: string;
    token: Address;
    amount: string;
    sender: Address;
    recipient: Address;
  };
  encoded: Hex;
  id: Hex;
}

export interface FixtureDigest {
  name: string;
  chainId: string;
  verifier: Address;
  endpoint: Address;
  epoch: string;
  domainSeparator: Hex;
  messageId: Hex;
  messageDigest: Hex;
  root: Hex;
  batchDigest: Hex;
}

export interface FixtureBatch {
  name: string;
  messageIds: Hex[];
  leaves: Hex[];
  root: Hex;
  proofs: Hex[][];
}

export interface ProtocolFixture {
  typehashes: { messageAttestation: Hex; batchAttestation: Hex };
  messages: FixtureMessage[];
  digests: FixtureDigest[];
  batches: FixtureBatch[];
  signerSets: { signers: Address[]; signerSetHash: Hex; pqKeyHashes: Hex[]; pqKeySetHash: Hex }[];
}

export function loadFixture(): ProtocolFixture {
  return JSON.parse(readFileSync(FIXTURE_PATH, "utf8")) as ProtocolFixture;
}

export const DEVNET_RUN_PATH = join(repoRoot, "contracts/test/fixtures/protocol/devnet-run.json");

export interface DevnetRunSignature {
  signerIndex: number;
  signer: Address;
  r: Hex;
  vs: Hex;
}

export interface DevnetRunRelease {
  kind: "single" | "batch";
  call: string;
  chainId: string;
  verifier: Address;
  endpoint: Address;
  epoch: string;
  domainSeparator: Hex;
  digest: Hex;
  attestationTx: Hex;
  block: string;
  /** Single releases. */
  messageId?: Hex;
  /** Batches: the root, members, proofs (none for mintWholeBatch) and member transactions. */
  root?: Hex;
  messageIds?: Hex[];
  proofs?: Hex[][];
  memberTxs?: Hex[];
  signers: Address[];
  signatures: DevnetRunSignature[];
}

export interface DevnetRun {
  provenance: Record<string, unknown>;
  validators: Address[];
  chains: {
    chainId: string;
    verifier: Address;
    vault: Address;
    minter: Address;
    domainSeparator: Hex;
    epoch: string;
    threshold: string;
    largeThreshold: string;
    validators: Address[];
    pqKeyHashes: Hex[];
    signerSetHash: Hex;
  }[];
  messages: {
    name: string;
    leg: "lock" | "burn";
    message: FixtureMessage["message"];
    messageId: Hex;
    sourceTx: Hex;
    sourceBlock: string;
    releaseTx: Hex;
    release: number;
  }[];
  releases: DevnetRunRelease[];
}

/** Throws when the capture is missing (./script/protocol-fixtures.sh --devnet writes it). */
export function loadDevnetRun(): DevnetRun {
  return JSON.parse(readFileSync(DEVNET_RUN_PATH, "utf8")) as DevnetRun;
}
