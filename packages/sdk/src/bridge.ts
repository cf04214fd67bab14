// Sending a transfer: `lock` (a canonical token or native ETH into the source vault; the
// destination minter mints) and `burn` (a wrapped token at the source minter; the destination
// vault unlocks), with the approvals they need, the revert decoded into a typed error, and the
// message id read from the emitted event. Mirrors `ghostbridge transfer` (cli/src/transfer.rs).
import {
  type Account,
  type Address,
  type Hash,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
  encodeErrorResult,
  parseEventLogs,
} from "viem";
import type { BridgeChain } from "./deployment.js";
import { type AnyBridgeContractError, decodeBridgeError, toBridgeError } from "./errors.js";
import { bridgeMinterAbi, bridgeVaultAbi, feeManagerAbi, ghostTokenAbi, wrappedTokenAbi } from "./generated/index.js";
import { bridgeErrorsAbi } from "./generated/errors.js";
import { InputError, checkAddress, checkAmount, checkChainId } from "./inputs.js";
import type { BridgeMessage } from "./protocol.js";

const ZERO: Address = "0x0000000000000000000000000000000000000000";

/** What a lock or burn returns. */
export interface SentTransfer {
  /** The lock/burn transaction. */
  txHash: Hash;
  /** Its message id (`Locked`/`Burned` `messageId`): what `track` and the status API take. */
  messageId: Hash;
  /** The source contract's nonce of the message. */
  nonce: bigint;
  /** The message as emitted; `message.amount` is what was credited (a fee-on-transfer token credits less than sent). */
  message: BridgeMessage;
  /** Approval transactions sent first (empty when the allowances sufficed). */
  approvals: Hash[];
  /** The fee the source FeeManager charged (`null`: none on this route). */
  fee: { token: Address; amount: bigint; feeManager: Address } | null;
  receipt: TransactionReceipt;
}

/** Options common to lock and burn. */
export interface SendOptions {
  /**
   * `exact` (default): an approval short of what this transfer needs is raised to exactly that
   * (amount to the vault, fee to the FeeManager). `max`: to 2^256 - 1, as `ghostbridge transfer`
   * does, so later transfers need no approval.
   */
  approval?: "exact" | "max";
}

interface Ctx {
  wallet: WalletClient;
  publicClient: PublicClient;
  account: Account;
  me: Address;
}

/** A typed bridge error for what the contract would revert with (a preflight refusal, before any approval). */
function contractError(errorName: string, args: readonly unknown[]): AnyBridgeContractError {
  const data = encodeErrorResult({ abi: bridgeErrorsAbi, errorName, args } as Parameters<typeof encodeErrorResult>[0]);
  const e = decodeBridgeError(data);
  if (e === undefined) throw new Error(`cannot encode ${errorName}`);
  return e;
}

async function context(wallet: WalletClient, publicClient: PublicClient, chain: BridgeChain): Promise<Ctx> {
  const account = wallet.account;
  if (account === undefined) throw new InputError("wallet", "the wallet client has no account (connect a wallet first)");
  const [walletChain, rpcChain] = await Promise.all([wallet.getChainId(), publicClient.getChainId()]);
  if (walletChain !== chain.chainId) {
    throw new InputError("wallet", `the wallet is on chain ${walletChain}; switch it to chain ${chain.chainId}`);
  }
  if (rpcChain !== chain.chainId) throw new InputError("chain", `the public client reads chain ${rpcChain}, not ${chain.chainId}`);
  return { wallet, publicClient, account, me: account.address };
}

async function waitOk(c: Ctx, hash: Hash, what: string): Promise<TransactionReceipt> {
  const r = await c.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`the ${what} transaction ${hash} reverted`);
  return r;
}

async function ensureAllowance(c: Ctx, token: Address, spender: Address, need: bigint, mode: "exact" | "max", sent: Hash[]): Promise<void> {
  const have = await c.publicClient.readContract({ address: token, abi: ghostTokenAbi, functionName: "allowance", args: [c.me, spender] });
  if (have >= need) return;
  const value = mode === "max" ? (1n << 256n) - 1n : need;
  let hash: Hash;
  try {
    const { request } = await c.publicClient.simulateContract({
      account: c.account,
      address: token,
      abi: ghostTokenAbi,
      functionName: "approve",
      args: [spender, value],
    });
    hash = await c.wallet.writeContract({ ...request, account: c.account, chain: c.wallet.chain ?? null });
  } catch (e) {
    throw toBridgeError(e) ?? e;
  }
  sent.push(hash);
  await waitOk(c, hash, "approve");
}

/** The fee of the route from the endpoint's own FeeManager (`null`: no fee). */
async function routeFee(c: Ctx, endpoint: Address, abi: typeof bridgeVaultAbi | typeof bridgeMinterAbi, dst: number) {
  const feeManager = (await c.publicClient.readContract({ address: endpoint, abi, functionName: "feeManager" })) as Address;
  if (feeManager === ZERO) return null;
  const f = await c.publicClient.readContract({ address: feeManager, abi: feeManagerAbi, functionName: "feeFor", args: [BigInt(dst)] });
  if (f.token === ZERO || f.amount === 0n) return null;
  return { token: f.token, amount: f.amount, feeManager };
}

async function balanceOf(c: Ctx, token: Address): Promise<bigint> {
  return token === ZERO
    ? c.publicClient.getBalance({ address: c.me })
    : c.publicClient.readContract({ address: token, abi: ghostTokenAbi, functionName: "balanceOf", args: [c.me] });
}

async function preflightEndpoint(c: Ctx, endpoint: Address, abi: typeof bridgeVaultAbi | typeof bridgeMinterAbi, dst: number): Promise<void> {
  const [paused, remote] = await Promise.all([
    c.publicClient.readContract({ address: endpoint, abi, functionName: "paused" }) as Promise<boolean>,
    c.publicClient.readContract({ address: endpoint, abi, functionName: "remoteOf", args: [BigInt(dst)] }) as Promise<Address>,
  ]);
  if (paused) throw contractError("EnforcedPause", []);
  if (remote === ZERO) throw contractError("UnknownDestination", [BigInt(dst)]);
}

function decodeSent(receipt: TransactionReceipt, address: Address, kind: "Locked" | "Burned") {
  const logs = parseEventLogs({
    abi: kind === "Locked" ? bridgeVaultAbi : bridgeMinterAbi,
    eventName: kind,
    logs: receipt.logs.filter((l) => l.address.toLowerCase() === address.toLowerCase()),
  });
  const first = logs[0];
  if (first === undefined) throw new Error(`no ${kind} event in ${receipt.transactionHash}`);
  const a = first.args as { messageId: Hash; nonce: bigint; message: BridgeMessage };
  return { messageId: a.messageId, nonce: a.nonce, message: a.message };
}

/** Simulates (a revert becomes a typed `BridgeContractError`), then sends and waits for success. */
async function simulateAndSend(c: Ctx, call: { address: Address; abi: unknown; functionName: string; args: readonly unknown[]; value?: bigint }) {
  let request;
  try {
    ({ request } = await c.publicClient.simulateContract({ ...(call as unknown as Parameters<PublicClient["simulateContract"]>[0]), account: c.account }));
  } catch (e) {
    throw toBridgeError(e) ?? e;
  }
  let hash: Hash;
  try {
    hash = await c.wallet.writeContract({ ...(request as unknown as Parameters<WalletClient["writeContract"]>[0]), account: c.account, chain: c.wallet.chain ?? null });
  } catch (e) {
    throw toBridgeError(e) ?? e;
  }
  const receipt = await waitOk(c, hash, call.functionName);
  return { hash, receipt };
}

/**
 * Locks `amount` (base units) of an ERC20 `token`, or of native ETH (`"native"`), in
 * `chain.vault` for `recipient` on `dstChainId` (the destination minter mints the wrapped token).
 *
 * Before sending anything it refuses bad arguments (`InputError`), a wallet on another chain, a
 * balance short of amount (+ the fee when the fee is paid in the same token), and a paused vault or
 * a destination the vault does not know (the typed `EnforcedPause` / `UnknownDestination` the
 * contract would revert with). Then it approves what is short: `amount` to the vault (it pulls
 * exactly `amount` and credits what arrived, so a fee-on-transfer token is covered) and the route's
 * fee to the vault's FeeManager (`feeFor(dst)`, charged in its own token, not from the amount).
 * The lock is simulated first, so a revert (`RateLimited`, …) is thrown as a typed
 * `BridgeContractError` with its values and no lock is sent.
 */
export async function lock(
  p: { wallet: WalletClient; publicClient: PublicClient; chain: BridgeChain; dstChainId: number; token: Address | "native"; amount: bigint; recipient: Address } & SendOptions,
): Promise<SentTransfer> {
  checkAmount(p.amount);
  checkChainId(p.dstChainId, "destination chain id");
  if (p.dstChainId === p.chain.chainId) throw new InputError("chain", "the destination must be another chain");
  const recipient = checkAddress(p.recipient, "recipient");
  const token = p.token === "native" ? ZERO : checkAddress(p.token, "token", true);
  const mode = p.approval ?? "exact";
  const c = await context(p.wallet, p.publicClient, p.chain);
  await preflightEndpoint(c, p.chain.vault, bridgeVaultAbi, p.dstChainId);
  const fee = await routeFee(c, p.chain.vault, bridgeVaultAbi, p.dstChainId);
  const need = p.amount + (fee !== null && fee.token === token ? fee.amount : 0n);
  const have = await balanceOf(c, token);
  if (have < need) {
    throw new InputError("balance", `balance ${have} of ${token === ZERO ? "ETH" : token} is short of ${need}${need > p.amount ? " (amount + fee)" : ""}`);
  }
  if (fee !== null && fee.token !== token) {
    const feeHave = await balanceOf(c, fee.token);
    if (feeHave < fee.amount) throw new InputError("balance", `the fee is ${fee.amount} of ${fee.token}; the balance is ${feeHave}`);
  }
  const approvals: Hash[] = [];
  if (fee !== null) await ensureAllowance(c, fee.token, fee.feeManager, fee.amount, mode, approvals);
  if (token !== ZERO) await ensureAllowance(c, token, p.chain.vault, p.amount, mode, approvals);
  const call =
    token === ZERO
      ? { address: p.chain.vault, abi: bridgeVaultAbi, functionName: "lockNative", args: [BigInt(p.dstChainId), recipient], value: p.amount }
      : { address: p.chain.vault, abi: bridgeVaultAbi, functionName: "lock", args: [token, p.amount, BigInt(p.dstChainId), recipient] };
  const { hash, receipt } = await simulateAndSend(c, call);
  return { txHash: hash, ...decodeSent(receipt, p.chain.vault, "Locked"), approvals, fee, receipt };
}

/**
 * Burns `amount` of `wrappedToken` (a wrapped token of `chain.minter`) for `recipient` on
 * `dstChainId`, which must be the wrapped token's origin chain (the only place it can go; refused
 * with `InputError` otherwise). The minter burns from the sender directly (no approval for the
 * wrapped token); the route's fee is approved to the minter's FeeManager when short. Preflight,
 * simulation and typed errors as for `lock` (`NotWrappedToken` for a token the minter does not know).
 */
export async function burn(
  p: { wallet: WalletClient; publicClient: PublicClient; chain: BridgeChain; dstChainId: number; wrappedToken: Address; amount: bigint; recipient: Address } & SendOptions,
): Promise<SentTransfer> {
  checkAmount(p.amount);
  checkChainId(p.dstChainId, "destination chain id");
  if (p.dstChainId === p.chain.chainId) throw new InputError("chain", "the destination must be another chain");
  const recipient = checkAddress(p.recipient, "recipient");
  const wrapped = checkAddress(p.wrappedToken, "token");
  const mode = p.approval ?? "exact";
  const c = await context(p.wallet, p.publicClient, p.chain);
  const isWrapped = await c.publicClient.readContract({ address: p.chain.minter, abi: bridgeMinterAbi, functionName: "isWrappedToken", args: [wrapped] });
  if (!isWrapped) throw contractError("NotWrappedToken", [wrapped]);
  const origin = Number(await c.publicClient.readContract({ address: wrapped, abi: wrappedTokenAbi, functionName: "originChainId" }));
  if (origin !== p.dstChainId) {
    throw new InputError("chain", `this wrapped token comes from chain ${origin}: it can only be burned back to chain ${origin}, not ${p.dstChainId}`);
  }
  await preflightEndpoint(c, p.chain.minter, bridgeMinterAbi, p.dstChainId);
  const fee = await routeFee(c, p.chain.minter, bridgeMinterAbi, p.dstChainId);
  const need = p.amount + (fee !== null && fee.token === wrapped ? fee.amount : 0n);
  const have = await balanceOf(c, wrapped);
  if (have < need) throw new InputError("balance", `balance ${have} of ${wrapped} is short of ${need}${need > p.amount ? " (amount + fee)" : ""}`);
  if (fee !== null && fee.token !== wrapped) {
    const feeHave = await balanceOf(c, fee.token);
    if (feeHave < fee.amount) throw new InputError("balance", `the fee is ${fee.amount} of ${fee.token}; the balance is ${feeHave}`);
  }
  const approvals: Hash[] = [];
  if (fee !== null) await ensureAllowance(c, fee.token, fee.feeManager, fee.amount, mode, approvals);
  const { hash, receipt } = await simulateAndSend(c, {
    address: p.chain.minter,
    abi: bridgeMinterAbi,
    functionName: "burn",
    args: [wrapped, p.amount, recipient],
  });
  return { txHash: hash, ...decodeSent(receipt, p.chain.minter, "Burned"), approvals, fee, receipt };
}

