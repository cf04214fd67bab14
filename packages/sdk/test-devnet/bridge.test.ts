// Integration tests against a REAL running devnet (`ghostbridge devnet --dir D --port-base B`):
//   GHOSTBRIDGE_DEVNET_DIR=D GHOSTBRIDGE_DEVNET_PORT_BASE=B npm run test:devnet
// Chain A RPC = B, chain B = B+1, status API = B+23. Uses the devnet's demo user (USER_KEY in
// cli/src/devnet.rs), funded with every token on both chains. The tests run in order and send
// real transactions; they assert balances and states read back from the chains and the API.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { type Address, type Hash, type PublicClient, parseEther } from "viem";
import {
  BridgeContractError,
  InputError,
  type TransferStatus,
  bridgeMinterAbi,
  bridgeVaultAbi,
  burn,
  getTransfer,
  ghostTokenAbi,
  lock,
  parseAmount,
  parseRecipient,
  quote,
  toBridgeError,
  track,
  wrappedTokens,
} from "../src/index.js";
import { type Devnet, devnet } from "./devnet.js";

const ZERO: Address = "0x0000000000000000000000000000000000000000";

const balance = (p: PublicClient, token: Address, who: Address) =>
  token === ZERO ? p.getBalance({ address: who }) : p.readContract({ address: token, abi: ghostTokenAbi, functionName: "balanceOf", args: [who] });

/** track() with every update recorded as "step:status …" lines. */
async function follow(api: string, hash: Hash): Promise<{ final: TransferStatus; seen: string[]; etas: (number | undefined)[] }> {
  const seen: string[] = [];
  const etas: (number | undefined)[] = [];
  const final = await track(api, hash, {
    intervalMs: 150,
    timeoutMs: 120_000,
    onUpdate: (t) => {
      seen.push(`${t.state}| ${t.steps.map((s) => `${s.step}:${s.status}`).join(" ")}`);
      etas.push(t.etaSeconds);
    },
  });
  return { final, seen, etas };
}

function assertAdvanced(seen: string[], first: "locked" | "burned") {
  assert.ok(seen.length >= 2, `saw the steps advance, not only the end: ${seen.join(" / ")}`);
  assert.notEqual(seen[0]?.split("|")[0], "released", "the first update is before the release");
  const last = seen[seen.length - 1]!;
  assert.equal(last, `released| ${first}:done confirmations:done attested:done submitted:done released:done`);
}

describe("GhostBridge SDK against a real devnet", () => {
  let d: Devnet;
  let gcc: Address;
  let ghost: Address;
  let wgcc: Address;
  let weth: Address;

  before(async () => {
    d = devnet();
    gcc = d.a.tokens.GCC!;
    ghost = d.a.tokens.GHOST!;
    assert.ok(gcc && ghost, "the deployment has GCC and GHOST");
    d.b.wrapped = await wrappedTokens(d.pb, d.b, d.a);
    wgcc = d.b.wrapped.wGCC!;
    weth = d.b.wrapped.wETH!;
    assert.ok(wgcc, "chain B has wGCC for chain A's GCC");
    assert.ok(weth, "chain B has wETH for chain A's native ETH");
  });

  it("quotes 1 GCC 31337 -> 31338 from the status API", async () => {
    const q = await quote(d.api, { from: 31337, to: 31338, token: "GCC", amount: 10n ** 18n });
    assert.equal(q.kind, "lock");
    assert.equal(q.token.toLowerCase(), gcc.toLowerCase());
    assert.equal(q.src_contract.toLowerCase(), d.a.vault.toLowerCase());
    assert.equal(q.dst_token?.toLowerCase(), wgcc.toLowerCase());
    assert.equal(q.amount, 10n ** 18n);
    assert.equal(q.feeToken?.toLowerCase(), ghost.toLowerCase(), "the fee is paid in GHOST");
    assert.equal(q.feeAmount, parseEther("0.001"));
    assert.equal(q.route_open, true);
    assert.equal(q.fits_now, true);
    assert.equal(q.held, false);
    assert.equal(q.rateLimited, false);
    assert.ok(q.outbound.available >= 10n ** 18n);
    assert.ok(q.etaSeconds > 0 && q.etaSeconds < 60, `eta ${q.etaSeconds}`);
  });

  it("locks 1 GCC (approving first), tracks it to released and the wrapped balance rises by exactly 1", async (t) => {
    // Start from no allowance, so the approvals are exercised.
    for (const [token, spender] of [[gcc, d.a.vault], [ghost, d.a.feeManager!]] as const) {
      const h = await d.wa.writeContract({ address: token, abi: ghostTokenAbi, functionName: "approve", args: [spender, 0n], account: d.wa.account!, chain: d.wa.chain });
      await d.pa.waitForTransactionReceipt({ hash: h });
    }
    const amount = parseAmount("1", 18);
    const [gccBefore, ghostBefore, wBefore] = await Promise.all([balance(d.pa, gcc, d.me), balance(d.pa, ghost, d.me), balance(d.pb, wgcc, d.me)]);
    const sent = await lock({ wallet: d.wa, publicClient: d.pa, chain: d.a, dstChainId: 31338, token: gcc, amount, recipient: parseRecipient(d.me.toLowerCase()) });
    assert.equal(sent.approvals.length, 2, "fee approval and token approval");
    assert.match(sent.messageId, /^0x[0-9a-f]{64}$/);
    assert.equal(sent.message.amount, amount);
    assert.equal(sent.message.recipient, d.me);
    assert.equal(sent.nonce, await d.pa.readContract({ address: d.a.vault, abi: bridgeVaultAbi, functionName: "lastNonce" }));
    assert.equal(sent.fee?.amount, parseEther("0.001"));
    // the source side: exactly the amount locked, exactly the fee charged in GHOST
    assert.equal(await balance(d.pa, gcc, d.me), gccBefore - amount);
    assert.equal(await balance(d.pa, ghost, d.me), ghostBefore - parseEther("0.001"));
    const { final, seen, etas } = await follow(d.api, sent.txHash);
    t.diagnostic(`lock updates (eta s): ${seen.map((x, i) => `${x} (${etas[i]})`).join(" -> ")}`);
    assertAdvanced(seen, "locked");
    assert.equal(final.message_id, sent.messageId);
    assert.equal(final.amount, amount);
    // `released` is read from the chain (isConsumed); the relayer's own record may not have
    // caught up with its receipt yet.
    assert.ok(["submitted", "confirmed"].includes(final.relayer_status ?? ""), `relayer_status ${final.relayer_status}`);
    assert.equal(etas[etas.length - 1], 0);
    assert.ok((etas[0] ?? 0) > 0);
    // the fee is not taken from the amount: the recipient gets all of it
    assert.equal(await balance(d.pb, wgcc, d.me), wBefore + amount);
    const byId = await getTransfer(d.api, sent.messageId);
    assert.equal(byId.matched, "message_id");
    assert.equal(byId.transfers[0]?.state, "released");
  });

  it("burns 1 wGCC back to 31337 and tracks it to released", async (t) => {
    const amount = 10n ** 18n;
    const [gccBefore, wBefore] = await Promise.all([balance(d.pa, gcc, d.me), balance(d.pb, wgcc, d.me)]);
    const sent = await burn({ wallet: d.wb, publicClient: d.pb, chain: d.b, dstChainId: 31337, wrappedToken: wgcc, amount, recipient: d.me });
    assert.equal(sent.message.token, gcc, "a burn's message carries the origin token");
    assert.equal(await balance(d.pb, wgcc, d.me), wBefore - amount);
    const { final, seen } = await follow(d.api, sent.txHash);
    t.diagnostic(`burn updates: ${seen.join(" -> ")}`);
    assertAdvanced(seen, "burned");
    assert.equal(final.kind, "burn");
    assert.equal(await balance(d.pa, gcc, d.me), gccBefore + amount);
  });

  it("locks native ETH and wETH arrives on 31338", async () => {
    const amount = parseEther("0.25");
    const wBefore = await balance(d.pb, weth, d.me);
    const vaultBefore = await balance(d.pa, ZERO, d.a.vault);
    const sent = await lock({ wallet: d.wa, publicClient: d.pa, chain: d.a, dstChainId: 31338, token: "native", amount, recipient: d.me });
    assert.equal(sent.message.token, ZERO);
    assert.equal(await balance(d.pa, ZERO, d.a.vault), vaultBefore + amount);
    const { final } = await follow(d.api, sent.messageId);
    assert.equal(final.state, "released");
    assert.equal(await balance(d.pb, weth, d.me), wBefore + amount);
  });

  it("quotes a large transfer as held and one over the bucket as rate-limited", async () => {
    const large = await quote(d.api, { from: 31337, to: 31338, token: "GCC", amount: parseAmount("200000", 18) });
    assert.equal(large.is_large, true);
    assert.equal(large.held, true);
    assert.equal(large.delay_seconds, 3600);
    assert.ok(large.etaSeconds >= 3600);
    const over = await quote(d.api, { from: 31337, to: 31338, token: "GCC", amount: parseAmount("600000", 18) });
    assert.equal(over.outbound.fits, false);
    assert.equal(over.rateLimited, true);
    assert.equal(over.fits_now, false);
    assert.ok(over.outbound.available < parseAmount("600000", 18));
    const burnQuote = await quote(d.api, { from: 31338, to: 31337, token: "wGCC", amount: 1n });
    assert.equal(burnQuote.kind, "burn");
    assert.equal(burnQuote.src_contract.toLowerCase(), d.b.minter.toLowerCase());
  });

  it("refuses bad inputs with InputError and sends nothing", async () => {
    const nonces = async () => [await d.pa.getTransactionCount({ address: d.me, blockTag: "pending" }), await d.pb.getTransactionCount({ address: d.me, blockTag: "pending" })];
    const before = await nonces();
    const base = { wallet: d.wa, publicClient: d.pa, chain: d.a, dstChainId: 31338, token: gcc, amount: 10n ** 18n, recipient: d.me };
    const refused = async (f: () => Promise<unknown>, field: string) =>
      assert.rejects(f(), (e: unknown) => e instanceof InputError && e.field === field);
    assert.throws(() => parseAmount("-1", 18), InputError);
    assert.throws(() => parseAmount("1.0000000000000000001", 18), InputError);
    assert.throws(() => parseRecipient("0x1234"), InputError);
    await refused(() => lock({ ...base, amount: 0n }), "amount");
    await refused(() => lock({ ...base, amount: -5n }), "amount");
    await refused(() => lock({ ...base, recipient: ZERO }), "recipient");
    await refused(() => lock({ ...base, recipient: "0xnotanaddress" as Address }), "recipient");
    await refused(() => lock({ ...base, dstChainId: 31337 }), "chain");
    await refused(() => lock({ ...base, amount: parseAmount("2000000000", 18) }), "balance");
    await refused(() => lock({ ...base, wallet: d.wb }), "wallet");
    await refused(() => burn({ wallet: d.wb, publicClient: d.pb, chain: d.b, dstChainId: 4242, wrappedToken: wgcc, amount: 1n, recipient: d.me }), "chain");
    assert.deepEqual(await nonces(), before, "no transaction was sent");
  });

  it("decodes reverts into typed contract errors with their values", async () => {
    const lastNonce = () => d.pa.readContract({ address: d.a.vault, abi: bridgeVaultAbi, functionName: "lastNonce" });
    const n0 = await lastNonce();
    // A real revert from the vault (simulated before sending): the outbound bucket holds 500,000.
    const amount = parseAmount("600000", 18);
    await assert.rejects(lock({ wallet: d.wa, publicClient: d.pa, chain: d.a, dstChainId: 31338, token: gcc, amount, recipient: d.me }), (e: unknown) => {
      assert.ok(e instanceof BridgeContractError, `a typed error, got ${String(e)}`);
      const err = toBridgeError(e);
      assert.ok(err?.is("RateLimited"), err?.errorName);
      assert.equal(err.values.token, gcc);
      assert.equal(err.values.chainId, 31338n);
      assert.equal(err.values.requested, amount);
      assert.ok(err.values.available < amount);
      assert.ok(err.values.retryAfterSeconds > 0n);
      return true;
    });
    // Refused before any transaction, as the contract would: an unknown destination, a token the minter does not know.
    await assert.rejects(lock({ wallet: d.wa, publicClient: d.pa, chain: d.a, dstChainId: 999, token: "native", amount: 1n, recipient: d.me }), (e: unknown) =>
      {
      const err = e instanceof BridgeContractError ? toBridgeError(e) : undefined;
      return err !== undefined && err.is("UnknownDestination") && err.values.dstChainId === 999n;
    });
    await assert.rejects(burn({ wallet: d.wb, publicClient: d.pb, chain: d.b, dstChainId: 31337, wrappedToken: d.b.tokens.GCC!, amount: 1n, recipient: d.me }), (e: unknown) =>
      {
      const err = e instanceof BridgeContractError ? toBridgeError(e) : undefined;
      return err !== undefined && err.is("NotWrappedToken") && err.values.token === d.b.tokens.GCC;
    });
    assert.equal(await lastNonce(), n0, "no lock happened");
    const minterNonce = await d.pb.readContract({ address: d.b.minter, abi: bridgeMinterAbi, functionName: "lastNonce" });
    assert.ok(minterNonce >= 1n);
  });
});
