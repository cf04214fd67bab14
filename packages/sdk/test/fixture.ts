// The shared protocol fixture the Rust core writes (script/protocol-fixtures.sh) and the Solidity
// tests read too: contracts/test/fixtures/protocol/bridge.json. Read from the repo, never copied.
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
