// The devnet the integration tests run against: GHOSTBRIDGE_DEVNET_DIR (the devnet's --dir, with
// 31337.json, 31338.json, ghostplane.json) and GHOSTBRIDGE_DEVNET_PORT_BASE (its --port-base).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Address, type PublicClient, type WalletClient, createPublicClient, createWalletClient, defineChain, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type BridgeChain, chainFromDeployment } from "../src/index.js";

/** The devnet's demo user (cli/src/devnet.rs USER_KEY, anvil account 1), funded on both chains. */
export const USER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === "") throw new Error(`set ${name} (see the header of test-devnet/bridge.test.ts)`);
  return v;
}

export interface Devnet {
  dir: string;
  base: number;
  api: string;
  a: BridgeChain;
  b: BridgeChain;
  pa: PublicClient;
  pb: PublicClient;
  wa: WalletClient;
  wb: WalletClient;
  me: Address;
}

export function devnet(): Devnet {
  const dir = env("GHOSTBRIDGE_DEVNET_DIR");
  const base = Number(env("GHOSTBRIDGE_DEVNET_PORT_BASE"));
  assert.ok(Number.isInteger(base) && base > 0 && base < 65000, "GHOSTBRIDGE_DEVNET_PORT_BASE is a port");
  const read = (id: number, port: number) => chainFromDeployment(readFileSync(join(dir, `${id}.json`), "utf8"), `http://127.0.0.1:${port}`);
  const a = read(31337, base);
  const b = read(31338, base + 1);
  const account = privateKeyToAccount(USER_KEY);
  const viemChain = (c: BridgeChain) =>
    defineChain({ id: c.chainId, name: `devnet-${c.chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [c.rpcUrl] } } });
  const pub = (c: BridgeChain) => createPublicClient({ chain: viemChain(c), transport: http(c.rpcUrl), pollingInterval: 200 }) as PublicClient;
  const wal = (c: BridgeChain) => createWalletClient({ account, chain: viemChain(c), transport: http(c.rpcUrl) });
  return { dir, base, api: `http://127.0.0.1:${base + 23}`, a, b, pa: pub(a), pb: pub(b), wa: wal(a), wb: wal(b), me: account.address };
}

