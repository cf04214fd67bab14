// GhostPlane through the SDK against the devnet's L2 (port base+40) and its L1 contracts on
// chain A (ghostplane.json in GHOSTBRIDGE_DEVNET_DIR): deposit ETH and GCC, withdraw ETH with a
// withdrawal signed here, finalize it on L1 after the challenge window (10 s on the devnet).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { type Address, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  BridgeContractError,
  type GhostPlane,
  InputError,
  L2Client,
  L2RejectedError,
  L2RpcError,
  deposit,
  finalize,
  ghostPlaneFromDeployment,
  ghostPlaneTokenId,
  ghostTokenAbi,
  toBridgeError,
  waitForDeposit,
  withdraw,
} from "../src/index.js";
import { type Devnet, USER_KEY, devnet } from "./devnet.js";

describe("GhostPlane SDK against a real devnet", () => {
  let d: Devnet;
  let gp: GhostPlane;
  let l2: L2Client;
  let ethId: number;
  const user = privateKeyToAccount(USER_KEY);
  // A fresh L1 recipient, so its balance moves only by the withdrawal (no gas).
  const l1Recipient: Address = `0x${"b0".repeat(19)}${Math.floor(Math.random() * 200 + 16).toString(16)}` as Address;

  before(() => {
    d = devnet();
    gp = ghostPlaneFromDeployment(readFileSync(join(d.dir, "ghostplane.json"), "utf8"), d.a.rpcUrl, `http://127.0.0.1:${d.base + 40}`);
    l2 = new L2Client(gp.l2RpcUrl);
  });

  it("deposits native ETH and GCC on the Portal and the L2 credits exactly that", async () => {
    ethId = await ghostPlaneTokenId(d.pa, gp, "native");
    assert.equal(ethId, 4, "the devnet maps ETH to id 4");
    const ethBefore = await l2.getBalance(d.me, ethId);
    const e = await deposit({ wallet: d.wa, publicClient: d.pa, ghostplane: gp, token: "native", amount: parseEther("0.5"), l2Recipient: d.me });
    assert.equal(e.tokenId, 4);
    assert.equal(e.amount, parseEther("0.5"));
    assert.equal(e.approvals.length, 0);
    const gcc = gp.tokens.GCC!;
    // start with no allowance so the approval is exercised
    const h = await d.wa.writeContract({ address: gcc, abi: ghostTokenAbi, functionName: "approve", args: [gp.portal, 0n], account: d.wa.account!, chain: d.wa.chain });
    await d.pa.waitForTransactionReceipt({ hash: h });
    const gccBefore = await l2.getBalance(d.me, 0);
    const g = await deposit({ wallet: d.wa, publicClient: d.pa, ghostplane: gp, token: gcc, amount: parseEther("10"), l2Recipient: d.me });
    assert.equal(g.tokenId, 0);
    assert.equal(g.approvals.length, 1);
    assert.equal(g.index, e.index + 1n);
    await waitForDeposit(l2, g.index, { timeoutMs: 60_000 });
    assert.equal(await l2.getBalance(d.me, ethId), ethBefore + parseEther("0.5"));
    assert.equal(await l2.getBalance(d.me, 0), gccBefore + parseEther("10"));
  });

  it("refuses an unmapped token typed and bad inputs before sending", async () => {
    const nonce = await d.pa.getTransactionCount({ address: d.me, blockTag: "pending" });
    await assert.rejects(deposit({ wallet: d.wa, publicClient: d.pa, ghostplane: gp, token: d.a.vault, amount: 1n, l2Recipient: d.me }), (e: unknown) => {
      const err = e instanceof BridgeContractError ? toBridgeError(e) : undefined;
      return err !== undefined && err.is("UnmappedToken") && err.values.token === d.a.vault;
    });
    await assert.rejects(deposit({ wallet: d.wa, publicClient: d.pa, ghostplane: gp, token: "native", amount: 0n, l2Recipient: d.me }), InputError);
    await assert.rejects(deposit({ wallet: d.wa, publicClient: d.pa, ghostplane: gp, token: "native", amount: 1n, l2Recipient: "0x0000000000000000000000000000000000000000" }), InputError);
    await assert.rejects(withdraw({ account: user, l2, token: 9, amount: 1n }), InputError);
    assert.equal(await d.pa.getTransactionCount({ address: d.me, blockTag: "pending" }), nonce);
    // the L2 refuses a withdrawal above the balance, with its reason
    const tooMuch = (await l2.getBalance(d.me, ethId)) + 1n;
    await assert.rejects(withdraw({ account: user, l2, token: ethId, amount: tooMuch }), (e: unknown) => e instanceof L2RejectedError || e instanceof L2RpcError);
  });

  it("withdraws ETH on L2 and finalizes it on L1 after the challenge window", async (t) => {
    const amount = parseEther("0.1");
    const l2Before = await l2.getBalance(d.me, ethId);
    const nonceBefore = await l2.getNonce(d.me);
    const w = await withdraw({ account: user, l2, token: ethId, amount, l1Recipient });
    assert.equal(w.proof.withdrawal.amount, amount);
    assert.equal(w.proof.withdrawal.from, user.address);
    assert.equal(w.proof.withdrawal.l1Recipient.toLowerCase(), l1Recipient.toLowerCase());
    assert.equal(w.proof.siblings.length, 16);
    assert.equal(await l2.getNonce(d.me), nonceBefore + 1n);
    assert.equal(await l2.getBalance(d.me, ethId), l2Before - amount, "the fee is paid in GCC, not from the amount");
    const l1Before = await d.pa.getBalance({ address: l1Recipient });
    const waits: string[] = [];
    // not final yet: without waiting, the Portal refuses it typed (or it is not posted yet)
    const started = Date.now();
    const f = await finalize({ wallet: d.wa, publicClient: d.pa, ghostplane: gp, l2, batch: w.batch, index: w.index, timeoutMs: 120_000, onWait: (x) => waits.push(x.posted ? "posted" : "not posted") });
    t.diagnostic(`finalized batch ${w.batch} leaf ${w.index} after ${((Date.now() - started) / 1000).toFixed(1)} s (${waits.length} waits)`);
    assert.ok(waits.length > 0, "it waited for the challenge window");
    assert.equal(await d.pa.getBalance({ address: l1Recipient }), l1Before + amount);
    assert.equal(f.withdrawal.amount, amount);
    // a second finalization is refused by the Portal, typed
    await assert.rejects(finalize({ wallet: d.wa, publicClient: d.pa, ghostplane: gp, l2, batch: w.batch, index: w.index }), (e: unknown) => {
      const err = e instanceof BridgeContractError ? toBridgeError(e) : undefined;
      return err !== undefined && err.is("AlreadyClaimed");
    });
  });
});
