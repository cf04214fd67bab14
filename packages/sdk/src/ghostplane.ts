// GhostPlane, the L2 settling on chain A, from a user's seat (as `ghostbridge l2` does,
// cli/src/l2.rs): `deposit` on the L1 Portal, `withdraw` (a signed L2 withdrawal, zig/SPEC.md
// "Op records"), `finalize` (the Portal's `finalizeWithdrawal` with the leaf's proof, checked
// against the batch as the Rollup's `BatchSubmitted` event recorded it: l2node/src/withdrawals.rs).
import {
  type Address,
  type Hash,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
  concat,
  encodeErrorResult,
  hexToBytes,
  keccak256,
  numberToHex,
  parseEventLogs,
  toHex,
} from "viem";
import { type AnyBridgeContractError, decodeBridgeError, toBridgeError } from "./errors.js";
import { ghostPlanePortalAbi, ghostPlaneRollupAbi, ghostTokenAbi } from "./generated/index.js";
import { bridgeErrorsAbi } from "./generated/errors.js";
import { InputError, checkAddress, checkAmount } from "./inputs.js";

const ZERO: Address = "0x0000000000000000000000000000000000000000";
const MAX_U128 = (1n << 128n) - 1n;

/** GhostPlane as `script/DeployGhostPlane.s.sol` writes it (`ghostplane.json` in the devnet's --dir). */
export interface GhostPlane {
  /** The L1 chain id (chain A). */
  chainId: number;
  l1RpcUrl: string;
  l2RpcUrl: string;
  portal: Address;
  rollup: Address;
  sequencer?: Address;
  deployBlock: bigint;
  /** L1 tokens by symbol (ids 0..3: GCC, SPIRIT, MANA, GHOST). */
  tokens: Record<string, Address>;
}

/** Fixed L2 token ids (zig/SPEC.md); others (the devnet's ETH is 4) are mapped on the Portal (`tokenId`). */
export const GHOSTPLANE_TOKEN_IDS: Readonly<Record<string, number>> = { GCC: 0, SPIRIT: 1, MANA: 2, GHOST: 3 };

/** Reads `ghostplane.json` (object or text). */
export function ghostPlaneFromDeployment(json: unknown, l1RpcUrl: string, l2RpcUrl: string): GhostPlane {
  let d: unknown = json;
  if (typeof d === "string") {
    try {
      d = JSON.parse(d);
    } catch {
      throw new InputError("deployment", "the GhostPlane deployment is not JSON");
    }
  }
  if (d === null || typeof d !== "object") throw new InputError("deployment", "the GhostPlane deployment is not a JSON object");
  const o = d as Record<string, unknown>;
  const addr = (k: string): Address => {
    const v = o[k];
    if (typeof v !== "string") throw new InputError("deployment", `the GhostPlane deployment has no "${k}" address`);
    return checkAddress(v, "deployment");
  };
  const chainId = Number(o.chainId);
  if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new InputError("deployment", 'the GhostPlane deployment has no valid "chainId"');
  const tokens: Record<string, Address> = {};
  for (const [sym, a] of Object.entries((o.tokens ?? {}) as Record<string, unknown>)) {
    if (typeof a === "string") tokens[sym] = checkAddress(a, "deployment", true);
  }
  const gp: GhostPlane = {
    chainId,
    l1RpcUrl,
    l2RpcUrl,
    portal: addr("portal"),
    rollup: addr("rollup"),
    deployBlock: BigInt(String(o.deployBlock ?? 0)),
    tokens,
  };
  if (typeof o.sequencer === "string") gp.sequencer = checkAddress(o.sequencer, "deployment");
  return gp;
}

// ---------------------------------------------------------------- the L2 JSON-RPC

/** An error object of the L2 JSON-RPC (a refused withdrawal carries the engine's reason). */
export class L2RpcError extends Error {
  override readonly name = "L2RpcError";
  readonly method: string;
  readonly code: number | undefined;
  constructor(method: string, message: string, code?: number) {
    super(`${method}: ${message}`);
    this.method = method;
    this.code = code;
  }
}

/** The L2 refused a transaction or withdrawal (its receipt says `rejected`, with the reason). */
export class L2RejectedError extends Error {
  override readonly name = "L2RejectedError";
  readonly hash: Hash;
  readonly reason: string;
  constructor(hash: Hash, reason: string) {
    super(`L2 transaction ${hash} rejected: ${reason}`);
    this.hash = hash;
    this.reason = reason;
  }
}

/** A withdrawal leaf (zig/SPEC.md) with its proof, as `gp_getWithdrawalProof` gives it. */
export interface WithdrawalProof {
  withdrawal: { batchNumber: bigint; index: number; from: Address; l1Recipient: Address; token: number; amount: bigint };
  siblings: Hash[];
  withdrawalsRoot: Hash;
}

export type L2Receipt = { status: "pending" } | { status: "applied"; batchNumber: bigint } | { status: "rejected"; reason: string };

const hexOrDec = (v: unknown, what: string): bigint => {
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^(0x[0-9a-fA-F]+|\d+)$/.test(v)) return BigInt(v);
  throw new L2RpcError(what, `unexpected value ${JSON.stringify(v)}`);
};

/** A client of GhostPlane's L2 JSON-RPC (`gp_*`, sequencer/src/rpc.rs; the Rust `L2Client`). */
export class L2Client {
  readonly url: string;
  private readonly fetchFn: typeof fetch;
  constructor(url: string, opts?: { fetch?: typeof fetch }) {
    this.url = url;
    this.fetchFn = opts?.fetch ?? globalThis.fetch;
  }

  async call(method: string, params: unknown[]): Promise<unknown> {
    const res = await this.fetchFn(this.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const text = await res.text();
    let answer: { result?: unknown; error?: { message?: string; code?: number } };
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      throw new L2RpcError(method, `HTTP ${res.status}: not JSON: ${text.slice(0, 80)}`);
    }
    if (answer.error !== undefined && answer.error !== null) throw new L2RpcError(method, answer.error.message ?? "error", answer.error.code);
    return answer.result;
  }

  /** Balance of L2 token `token` (0 GCC .. 7). */
  async getBalance(who: Address, token: number): Promise<bigint> {
    return hexOrDec(await this.call("gp_getBalance", [who, token]), "gp_getBalance");
  }
  /** The account's next nonce. */
  async getNonce(who: Address): Promise<bigint> {
    return hexOrDec(await this.call("gp_getNonce", [who]), "gp_getNonce");
  }
  /** The next Portal deposit index the L2 expects (deposit `i` is applied once this is above `i`). */
  async getDepositCursor(): Promise<bigint> {
    return hexOrDec(await this.call("gp_getDepositCursor", []), "gp_getDepositCursor");
  }
  /** Number of the last sealed batch (0: none). */
  async getLatestBatch(): Promise<bigint> {
    const h = (await this.call("gp_getLatestBatch", [])) as { batchNumber?: unknown } | null;
    return h?.batchNumber === undefined || h.batchNumber === null ? 0n : hexOrDec(h.batchNumber, "gp_getLatestBatch");
  }
  /** Sends a raw signed withdrawal (116 bytes); returns its hash. */
  async sendRawWithdrawal(raw: Hex): Promise<Hash> {
    return (await this.call("gp_sendRawWithdrawal", [raw])) as Hash;
  }
  /** The receipt of `hash` (`null`: unknown). */
  async getReceipt(hash: Hash): Promise<L2Receipt | null> {
    const r = (await this.call("gp_getReceipt", [hash])) as { status?: string; batchNumber?: unknown; reason?: string } | null;
    if (r === null || r.status === undefined) return null;
    if (r.status === "pending") return { status: "pending" };
    if (r.status === "applied") return { status: "applied", batchNumber: hexOrDec(r.batchNumber, "gp_getReceipt") };
    return { status: "rejected", reason: r.reason ?? "rejected" };
  }
  /** Waits until `hash` is applied (returns its batch) or rejected (throws `L2RejectedError`). */
  async waitReceipt(hash: Hash, opts?: { timeoutMs?: number; intervalMs?: number }): Promise<bigint> {
    const timeout = opts?.timeoutMs ?? 60_000;
    const started = Date.now();
    for (;;) {
      const r = await this.getReceipt(hash);
      if (r?.status === "applied") return r.batchNumber;
      if (r?.status === "rejected") throw new L2RejectedError(hash, r.reason);
      if (Date.now() - started > timeout) throw new Error(`L2 transaction ${hash} still pending after ${timeout} ms`);
      await new Promise((res) => setTimeout(res, opts?.intervalMs ?? 100));
    }
  }
  /** Withdrawal `index` of batch `batch` with its proof (`null`: no such withdrawal). */
  async getWithdrawalProof(batch: bigint, index: number): Promise<WithdrawalProof | null> {
    const p = (await this.call("gp_getWithdrawalProof", [Number(batch), index])) as {
      withdrawal: Record<string, unknown>;
      siblings: unknown[];
      withdrawalsRoot: string;
    } | null;
    if (p === null) return null;
    const w = p.withdrawal;
    return {
      withdrawal: {
        batchNumber: hexOrDec(w.batchNumber, "batchNumber"),
        index: Number(hexOrDec(w.index, "index")),
        from: checkAddress(String(w.from), "recipient", true),
        l1Recipient: checkAddress(String(w.l1Recipient), "recipient", true),
        token: Number(hexOrDec(w.token, "token")),
        amount: hexOrDec(w.amount, "amount"),
      },
      siblings: p.siblings.map((s) => s as Hash),
      withdrawalsRoot: p.withdrawalsRoot as Hash,
    };
  }
  /** The first withdrawal of `batch` by `from` to `l1Recipient` of `amount` of `token` (equal leaves pay the same). */
  async findWithdrawal(batch: bigint, w: { from: Address; l1Recipient: Address; token: number; amount: bigint }): Promise<WithdrawalProof | null> {
    for (let index = 0; index <= 0xffff; index++) {
      const p = await this.getWithdrawalProof(batch, index);
      if (p === null) return null;
      const x = p.withdrawal;
      if (x.from.toLowerCase() === w.from.toLowerCase() && x.l1Recipient.toLowerCase() === w.l1Recipient.toLowerCase() && x.token === w.token && x.amount === w.amount) {
        return p;
      }
    }
    return null;
  }
}

const l2Of = (l2: L2Client | string): L2Client => (typeof l2 === "string" ? new L2Client(l2) : l2);

// ---------------------------------------------------------------- signed withdrawals

/** The fields of an unsigned L2 → L1 withdrawal. */
export interface UnsignedWithdrawal {
  l1Recipient: Address;
  /** L2 token id (0..7). */
  token: number;
  /** Base units (u128). */
  amount: bigint;
  /** The withdrawing account's L2 nonce (a withdrawal consumes it like a transfer). */
  nonce: bigint;
}

/** `0x475701` ("GW", version 1). */
export const WITHDRAWAL_MAGIC: Hex = "0x475701";

/**
 * The 51-byte payload: `0x475701 || l1_recipient (20) || token (u32 BE) || amount (u128 BE) ||
 * nonce (u64 BE)` (zig/SPEC.md, sequencer/src/tx.rs `UnsignedWithdrawal::encode`).
 */
export function encodeWithdrawal(w: UnsignedWithdrawal): Hex {
  const recipient = checkAddress(w.l1Recipient, "recipient", true);
  if (!Number.isInteger(w.token) || w.token < 0 || w.token > 7) throw new InputError("token", `L2 token id must be 0..7, not ${String(w.token)}`);
  if (typeof w.amount !== "bigint" || w.amount < 0n || w.amount > MAX_U128) throw new InputError("amount", "the amount must fit in u128");
  if (typeof w.nonce !== "bigint" || w.nonce < 0n || w.nonce >= 1n << 64n) throw new InputError("amount", "the nonce must fit in u64");
  return concat([WITHDRAWAL_MAGIC, recipient, numberToHex(w.token, { size: 4 }), numberToHex(w.amount, { size: 16 }), numberToHex(w.nonce, { size: 8 })]).toLowerCase() as Hex;
}

/** keccak256 of the payload: what is signed (no EIP-191 prefix). */
export function withdrawalSigningHash(w: UnsignedWithdrawal): Hash {
  return keccak256(encodeWithdrawal(w));
}

/**
 * Something that signs a raw 32-byte hash (secp256k1, RFC 6979, low-s): a viem local account
 * (`privateKeyToAccount`). Browser wallets do not sign raw hashes (no `eth_sign`), so an L2
 * withdrawal needs a local key, as the L2's own accounts are.
 */
export interface HashSigner {
  address: Address;
  sign: (p: { hash: Hash }) => Promise<Hex>;
}

/** Signs: `payload || r (32) || s (32) || v (1: 0 or 1)`, 116 bytes. */
export async function signWithdrawal(w: UnsignedWithdrawal, signer: HashSigner): Promise<Hex> {
  const payload = encodeWithdrawal(w);
  const sig = hexToBytes(await signer.sign({ hash: keccak256(payload) }));
  if (sig.length !== 65) throw new Error(`expected a 65-byte signature, got ${sig.length}`);
  const vByte = sig[64]!;
  const v = vByte >= 27 ? vByte - 27 : vByte;
  if (v !== 0 && v !== 1) throw new Error(`bad recovery id ${vByte}`);
  return concat([payload, toHex(sig.slice(0, 64)), numberToHex(v, { size: 1 })]);
}

// ---------------------------------------------------------------- L1 calls

function contractError(errorName: string, args: readonly unknown[]): AnyBridgeContractError {
  const e = decodeBridgeError(encodeErrorResult({ abi: bridgeErrorsAbi, errorName, args } as Parameters<typeof encodeErrorResult>[0]));
  if (e === undefined) throw new Error(`cannot encode ${errorName}`);
  return e;
}

async function l1Account(wallet: WalletClient, publicClient: PublicClient, gp: GhostPlane) {
  const account = wallet.account;
  if (account === undefined) throw new InputError("wallet", "the wallet client has no account (connect a wallet first)");
  const [wc, pc] = await Promise.all([wallet.getChainId(), publicClient.getChainId()]);
  if (wc !== gp.chainId) throw new InputError("wallet", `the wallet is on chain ${wc}; switch it to chain ${gp.chainId}`);
  if (pc !== gp.chainId) throw new InputError("chain", `the public client reads chain ${pc}, not ${gp.chainId}`);
  return account;
}

async function send(wallet: WalletClient, publicClient: PublicClient, account: NonNullable<WalletClient["account"]>, call: Record<string, unknown>): Promise<{ hash: Hash; receipt: TransactionReceipt }> {
  let request;
  try {
    ({ request } = await publicClient.simulateContract({ ...(call as unknown as Parameters<PublicClient["simulateContract"]>[0]), account }));
  } catch (e) {
    throw toBridgeError(e) ?? e;
  }
  let hash: Hash;
  try {
    hash = await wallet.writeContract({ ...(request as unknown as Parameters<WalletClient["writeContract"]>[0]), account, chain: wallet.chain ?? null });
  } catch (e) {
    throw toBridgeError(e) ?? e;
  }
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
  return { hash, receipt };
}

/** The L2 token id of an L1 token (`"native"`: ETH) on the Portal; a typed `UnmappedToken` when it has none. */
export async function ghostPlaneTokenId(publicClient: PublicClient, gp: GhostPlane, token: Address | "native"): Promise<number> {
  try {
    const id = await publicClient.readContract({ address: gp.portal, abi: ghostPlanePortalAbi, functionName: "tokenId", args: [token === "native" ? ZERO : token] });
    return Number(id);
  } catch (e) {
    throw toBridgeError(e) ?? e;
  }
}

export interface Deposited {
  txHash: Hash;
  /** The Portal's deposit index (the L2 applies deposits in this order). */
  index: bigint;
  /** The L2 token id credited. */
  tokenId: number;
  /** What the Portal credited (what arrived, for a fee-on-transfer token). */
  amount: bigint;
  l2Recipient: Address;
  approvals: Hash[];
  receipt: TransactionReceipt;
}

/**
 * Deposits `amount` of an ERC20 `token` (approving the Portal first when short) or of native ETH
 * on the L1 Portal for `l2Recipient`. Refuses bad inputs (`InputError`), an unmapped token
 * (`UnmappedToken`) and a paused Portal (`EnforcedPause`) before sending; a revert of the
 * simulated deposit is thrown typed. `waitForDeposit` then waits until the L2 applied it.
 */
export async function deposit(p: {
  wallet: WalletClient;
  publicClient: PublicClient;
  ghostplane: GhostPlane;
  token: Address | "native";
  amount: bigint;
  l2Recipient: Address;
  approval?: "exact" | "max";
}): Promise<Deposited> {
  checkAmount(p.amount);
  if (p.amount > MAX_U128) throw new InputError("amount", "a deposit is at most 2^128 - 1 base units");
  const recipient = checkAddress(p.l2Recipient, "recipient");
  const token = p.token === "native" ? ZERO : checkAddress(p.token, "token");
  const account = await l1Account(p.wallet, p.publicClient, p.ghostplane);
  const paused = await p.publicClient.readContract({ address: p.ghostplane.portal, abi: ghostPlanePortalAbi, functionName: "paused" });
  if (paused) throw contractError("EnforcedPause", []);
  // A token the Portal does not map is refused typed (UnmappedToken) before any approval.
  await ghostPlaneTokenId(p.publicClient, p.ghostplane, p.token === "native" ? "native" : token);
  const have =
    token === ZERO
      ? await p.publicClient.getBalance({ address: account.address })
      : await p.publicClient.readContract({ address: token, abi: ghostTokenAbi, functionName: "balanceOf", args: [account.address] });
  if (have < p.amount) throw new InputError("balance", `balance ${have} is short of ${p.amount}`);
  const approvals: Hash[] = [];
  if (token !== ZERO) {
    const allowance = await p.publicClient.readContract({ address: token, abi: ghostTokenAbi, functionName: "allowance", args: [account.address, p.ghostplane.portal] });
    if (allowance < p.amount) {
      const value = p.approval === "max" ? (1n << 256n) - 1n : p.amount;
      const { hash } = await send(p.wallet, p.publicClient, account, { address: token, abi: ghostTokenAbi, functionName: "approve", args: [p.ghostplane.portal, value] });
      approvals.push(hash);
    }
  }
  const call =
    token === ZERO
      ? { address: p.ghostplane.portal, abi: ghostPlanePortalAbi, functionName: "depositETH", args: [recipient], value: p.amount }
      : { address: p.ghostplane.portal, abi: ghostPlanePortalAbi, functionName: "deposit", args: [token, p.amount, recipient] };
  const { hash, receipt } = await send(p.wallet, p.publicClient, account, call);
  const ev = parseEventLogs({
    abi: ghostPlanePortalAbi,
    eventName: "Deposited",
    logs: receipt.logs.filter((l) => l.address.toLowerCase() === p.ghostplane.portal.toLowerCase()),
  })[0];
  if (ev === undefined) throw new Error(`no Deposited event in ${hash}`);
  const a = ev.args as { index: bigint; token: number; amount: bigint; recipient: Address };
  return { txHash: hash, index: a.index, tokenId: Number(a.token), amount: a.amount, l2Recipient: a.recipient, approvals, receipt };
}

/** Waits until the L2 applied Portal deposit `index` (its deposit cursor passed it). */
export async function waitForDeposit(l2: L2Client | string, index: bigint, opts?: { timeoutMs?: number; intervalMs?: number }): Promise<void> {
  const c = l2Of(l2);
  const started = Date.now();
  const timeout = opts?.timeoutMs ?? 120_000;
  while ((await c.getDepositCursor()) <= index) {
    if (Date.now() - started > timeout) throw new Error(`deposit ${index} not applied on L2 within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, opts?.intervalMs ?? 200));
  }
}

export interface Withdrawn {
  /** The L2 hash of the withdrawal. */
  l2TxHash: Hash;
  /** The raw signed withdrawal sent. */
  raw: Hex;
  /** The L2 batch that applied it, and its leaf index there (what `finalize` takes). */
  batch: bigint;
  index: number;
  proof: WithdrawalProof;
}

/**
 * Withdraws `amount` of L2 token `token` (an id 0..7, or a symbol of `GHOSTPLANE_TOKEN_IDS`) to
 * `l1Recipient` (default: the signer): signs the withdrawal with the account's current L2 nonce,
 * sends it (`gp_sendRawWithdrawal`), waits until a batch applied it (`L2RejectedError` with the
 * engine's reason otherwise: insufficient balance, …) and returns the leaf and its proof. Its
 * batch must then be posted on L1 and pass the challenge window: see `batchOnL1`, `finalize`.
 */
export async function withdraw(p: {
  account: HashSigner;
  l2: L2Client | string;
  token: number | string;
  amount: bigint;
  l1Recipient?: Address;
  timeoutMs?: number;
}): Promise<Withdrawn> {
  checkAmount(p.amount);
  if (p.amount > MAX_U128) throw new InputError("amount", "a withdrawal is at most 2^128 - 1 base units");
  const token = typeof p.token === "string" ? GHOSTPLANE_TOKEN_IDS[p.token.toUpperCase()] : p.token;
  if (token === undefined || !Number.isInteger(token) || token < 0 || token > 7) throw new InputError("token", `unknown L2 token ${String(p.token)} (an id 0..7 or GCC, SPIRIT, MANA, GHOST)`);
  const l1Recipient = p.l1Recipient === undefined ? p.account.address : checkAddress(p.l1Recipient, "recipient");
  const l2 = l2Of(p.l2);
  const nonce = await l2.getNonce(p.account.address);
  const raw = await signWithdrawal({ l1Recipient, token, amount: p.amount, nonce }, p.account);
  const hash = await l2.sendRawWithdrawal(raw);
  const batch = await l2.waitReceipt(hash, { timeoutMs: p.timeoutMs ?? 60_000 });
  const proof = await l2.findWithdrawal(batch, { from: p.account.address, l1Recipient, token, amount: p.amount });
  if (proof === null) throw new Error(`the applied withdrawal ${hash} is not among the leaves of batch ${batch}`);
  return { l2TxHash: hash, raw, batch, index: proof.withdrawal.index, proof };
}

/** A batch as its (last) `BatchSubmitted` event on the Rollup recorded it. */
export interface BatchOnL1 {
  number: bigint;
  headerHash: Hash;
  withdrawalsRoot: Hash;
  submittedAt: bigint;
  proposer: Address;
  /** L1 time its challenge window ends. */
  finalAt: bigint;
}

/** The last submission of batch `batch` (a batch cut by a fraud proof is resubmitted under its number); `null`: not posted yet. */
export async function batchOnL1(publicClient: PublicClient, gp: GhostPlane, batch: bigint): Promise<BatchOnL1 | null> {
  const logs = await publicClient.getContractEvents({
    address: gp.rollup,
    abi: ghostPlaneRollupAbi,
    eventName: "BatchSubmitted",
    args: { number: batch },
    fromBlock: gp.deployBlock,
    toBlock: "latest",
  });
  const last = logs[logs.length - 1];
  if (last === undefined) return null;
  const a = last.args as { number: bigint; proposer: Address; headerHash: Hash; withdrawalsRoot: Hash; submittedAt: bigint; finalAt: bigint };
  return { number: a.number, headerHash: a.headerHash, withdrawalsRoot: a.withdrawalsRoot, submittedAt: a.submittedAt, proposer: a.proposer, finalAt: a.finalAt };
}

/** The withdrawal's batch refuses finalization now: not posted on L1, or the L2's root differs from L1's. */
export class NotFinalizableError extends Error {
  override readonly name = "NotFinalizableError";
}

/**
 * Finalizes withdrawal `index` of L2 batch `batch` on the L1 Portal (anyone may send it; the
 * Portal pays the leaf's L1 recipient): the leaf and siblings from the L2, the batch header hash,
 * withdrawals root, submission time and proposer from the Rollup's `BatchSubmitted` event (no
 * archive node needed). Refuses an L2 whose root differs from L1's. With `wait` (default true)
 * it waits (up to `timeoutMs`, default 10 min) for the L1 head to reach the batch's `finalAt`
 * and for the batch to be posted; otherwise a batch not final yet is refused typed by the Portal
 * (`BatchNotFinal`). Returns the L1 transaction.
 */
export async function finalize(p: {
  wallet: WalletClient;
  publicClient: PublicClient;
  ghostplane: GhostPlane;
  l2: L2Client | string;
  batch: bigint;
  index: number;
  wait?: boolean;
  timeoutMs?: number;
  onWait?: (w: { posted: boolean; finalAt?: bigint; l1Time?: bigint }) => void;
}): Promise<{ txHash: Hash; withdrawal: WithdrawalProof["withdrawal"]; batch: BatchOnL1; receipt: TransactionReceipt }> {
  const account = await l1Account(p.wallet, p.publicClient, p.ghostplane);
  const l2 = l2Of(p.l2);
  const proof = await l2.getWithdrawalProof(p.batch, p.index);
  if (proof === null) throw new InputError("amount", `the L2 has no withdrawal ${p.index} in batch ${p.batch}`);
  if (proof.siblings.length !== 16) throw new NotFinalizableError(`${proof.siblings.length} siblings, not 16`);
  const wait = p.wait ?? true;
  const timeout = p.timeoutMs ?? 600_000;
  const started = Date.now();
  let onL1: BatchOnL1 | null;
  for (;;) {
    onL1 = await batchOnL1(p.publicClient, p.ghostplane, p.batch);
    if (onL1 !== null) {
      if (onL1.withdrawalsRoot.toLowerCase() !== proof.withdrawalsRoot.toLowerCase()) {
        throw new NotFinalizableError(`the L2's withdrawals root for batch ${p.batch} differs from the one on L1: do not trust this L2 node`);
      }
      if (!wait) break;
      const head = await p.publicClient.getBlock({ blockTag: "latest" });
      if (head.timestamp >= onL1.finalAt) break;
      p.onWait?.({ posted: true, finalAt: onL1.finalAt, l1Time: head.timestamp });
    } else {
      if (!wait) throw new NotFinalizableError(`batch ${p.batch} is not on L1 yet`);
      p.onWait?.({ posted: false });
    }
    if (Date.now() - started > timeout) throw new NotFinalizableError(`batch ${p.batch} not final on L1 within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const w = proof.withdrawal;
  const { hash, receipt } = await send(p.wallet, p.publicClient, account, {
    address: p.ghostplane.portal,
    abi: ghostPlanePortalAbi,
    functionName: "finalizeWithdrawal",
    args: [
      { batchNumber: w.batchNumber, index: w.index, from: w.from, l1Recipient: w.l1Recipient, token: w.token, amount: w.amount },
      proof.siblings,
      onL1.headerHash,
      onL1.withdrawalsRoot,
      onL1.submittedAt,
      onL1.proposer,
    ],
  });
  return { txHash: hash, withdrawal: w, batch: onL1, receipt };
}
