// One chain of the bridge as a client needs it, read from the deployment JSON that
// script/Deploy.s.sol writes (`deployments/<dir>/<chainId>.json`, what `ghostbridge devnet`
// leaves in its --dir), e.g.
//   {"chainId":31337,"verifier":"0x…","feeManager":"0x…","vault":"0x…","minter":"0x…",
//    "guardian":"0x…","deployBlock":5,"tokens":{"GCC":"0x…","SPIRIT":"0x…","MANA":"0x…","GHOST":"0x…"}}
import { type Address, type PublicClient } from "viem";
import { bridgeMinterAbi } from "./generated/index.js";
import { InputError, checkAddress } from "./inputs.js";

/** One chain of the bridge: its RPC and contracts. */
export interface BridgeChain {
  chainId: number;
  name?: string;
  rpcUrl: string;
  vault: Address;
  minter: Address;
  verifier: Address;
  /** The FeeManager the deployment wired (the endpoints' `feeManager()` is what counts). */
  feeManager?: Address;
  guardian?: Address;
  deployBlock?: bigint;
  /** Canonical tokens of this chain by symbol (`GCC`, `SPIRIT`, `MANA`, `GHOST`); zero entries left out. */
  tokens: Record<string, Address>;
  /** Wrapped tokens on this chain by symbol (`wGCC`), when known (see `wrappedTokens`). */
  wrapped?: Record<string, Address>;
}

const ZERO = "0x0000000000000000000000000000000000000000";

/**
 * Reads a deployment JSON (the parsed object or its text) into a `BridgeChain` served at `rpcUrl`.
 * Throws `InputError` (field `deployment`) when a required field is missing or not an address.
 */
export function chainFromDeployment(json: unknown, rpcUrl: string): BridgeChain {
  let d: unknown = json;
  if (typeof d === "string") {
    try {
      d = JSON.parse(d);
    } catch {
      throw new InputError("deployment", "the deployment is not JSON");
    }
  }
  if (d === null || typeof d !== "object" || Array.isArray(d)) throw new InputError("deployment", "the deployment is not a JSON object");
  const o = d as Record<string, unknown>;
  const addr = (k: string, required: boolean): Address | undefined => {
    const v = o[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== "string") throw new InputError("deployment", `the deployment has no "${k}" address`);
    try {
      return checkAddress(v, "deployment");
    } catch {
      throw new InputError("deployment", `the deployment's "${k}" is not an address: ${v.slice(0, 44)}`);
    }
  };
  const chainId = Number(o.chainId);
  if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new InputError("deployment", 'the deployment has no valid "chainId"');
  if (typeof rpcUrl !== "string" || !/^(https?|wss?):\/\//.test(rpcUrl)) {
    throw new InputError("deployment", `the RPC URL must be http(s):// or ws(s)://, not ${String(rpcUrl).slice(0, 40)}`);
  }
  const tokens: Record<string, Address> = {};
  if (o.tokens !== undefined) {
    if (o.tokens === null || typeof o.tokens !== "object") throw new InputError("deployment", 'the deployment\'s "tokens" is not an object');
    for (const [sym, a] of Object.entries(o.tokens as Record<string, unknown>)) {
      if (typeof a !== "string") throw new InputError("deployment", `token ${sym} is not an address`);
      const t = checkAddress(a, "deployment", true);
      if (t !== ZERO) tokens[sym] = t;
    }
  }
  const chain: BridgeChain = {
    chainId,
    rpcUrl,
    vault: addr("vault", true)!,
    minter: addr("minter", true)!,
    verifier: addr("verifier", true)!,
    tokens,
  };
  const fm = addr("feeManager", false);
  if (fm !== undefined) chain.feeManager = fm;
  const g = addr("guardian", false);
  if (g !== undefined) chain.guardian = g;
  if (o.deployBlock !== undefined) {
    const b = o.deployBlock;
    if ((typeof b !== "number" && typeof b !== "string") || !/^\d+$/.test(String(b))) {
      throw new InputError("deployment", 'the deployment\'s "deployBlock" is not a block number');
    }
    chain.deployBlock = BigInt(b);
  }
  if (typeof o.name === "string") chain.name = o.name;
  return chain;
}

/**
 * The wrapped tokens `chain`'s minter holds for the canonical tokens of `origin` (by `w` + symbol,
 * e.g. `wGCC`, and `wETH` for native ETH), read from `wrappedTokenOf`; routes without a wrapped
 * token yet are left out. Assign the result to `chain.wrapped`.
 */
export async function wrappedTokens(publicClient: PublicClient, chain: BridgeChain, origin: BridgeChain): Promise<Record<string, Address>> {
  const entries: [string, Address][] = [...Object.entries(origin.tokens), ["ETH", ZERO as Address]];
  const out: Record<string, Address> = {};
  for (const [sym, token] of entries) {
    const w = await publicClient.readContract({
      address: chain.minter,
      abi: bridgeMinterAbi,
      functionName: "wrappedTokenOf",
      args: [BigInt(origin.chainId), token],
    });
    if (w !== ZERO) out[`w${sym}`] = w;
  }
  return out;
}
