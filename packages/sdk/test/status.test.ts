// quote / getTransfer / track against a stub HTTP server answering as docs/STATUS_API.md shows
// (the devnet tests, test-devnet/, check them against the real relayer).
import assert from "node:assert/strict";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { InputError, StatusApiError, TrackTimeoutError, estimateEta, getTransfer, quote, track, type TransferStatus } from "../src/index.js";

const QUOTE = {
  amount: "1000000000000000000",
  delay_seconds: 0,
  dst_chain_id: 31338,
  dst_token: "0xe082b26cef079a095147f35c9647ec97c2401b83",
  fee: { amount: "1000000000000000", fee_manager: "0xa513e6e4b8f2a923d98304ec87f64353c4d5c853", token: "0x0165878a594ca255338adfa4d48449f69242eb8f" },
  fits_now: true,
  inbound: { available: "500000000000000000000000", fits: true },
  is_large: false,
  kind: "lock",
  large_amount: "100000000000000000000000",
  outbound: { available: "500000000000000000000000", fits: true },
  release_window: { ends_at: 0, fits: true, remaining: "0" },
  route_open: true,
  src_chain_id: 31337,
  src_contract: "0x2279b7a0a67db372996a5fab50d91eaa73d2ebe6",
  token: "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9",
};
const TX = "0x84991af5cb04ee8c771f4ba61c5a48782af46fc9d35ea251aed1410fe31cc051";
const ID = "0xa276a352a40197a24aa8509d5f23acab14cbea3655eddcc5476e757a99de565d";
const step = (name: string, status: string, extra: object = {}) => ({ step: name, status, ...extra });
const transfer = (state: string, steps: object[], relayer: string | null) => ({
  message_id: ID, kind: "lock", src_chain_id: 31337, dst_chain_id: 31338, nonce: 1,
  token: "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", amount: "1000000000000000000",
  sender: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", recipient: "0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
  source_tx: TX, relayer_status: relayer, state, steps,
});
const PROGRESS = [
  transfer("pending", [step("locked", "done", { tx_hash: TX, block_number: 185 }), step("confirmations", "active", { confirmations: 0, required: 1 }), step("attested", "pending", { signatures: 0, threshold: 3, validators: 4 }), step("submitted", "pending"), step("released", "pending")], null),
  transfer("pending", [step("locked", "done", { tx_hash: TX, block_number: 185 }), step("confirmations", "done", { confirmations: 1, required: 1 }), step("attested", "active", { signatures: 0, threshold: 3, validators: 4 }), step("submitted", "pending"), step("released", "pending")], "seen"),
  transfer("released", [step("locked", "done", { tx_hash: TX, block_number: 185 }), step("confirmations", "done", { confirmations: 2, required: 1 }), step("attested", "done", { signatures: 4, threshold: 3, validators: 4 }), step("submitted", "done", { tx_hash: TX }), step("released", "done")], "confirmed"),
];

let server: Server;
let api = "";
const requests: string[] = [];
// The script of answers per path: each request takes the next one (the last one repeats).
const script = new Map<string, { status: number; body: string }[]>();
const json = (status: number, v: unknown) => ({ status, body: JSON.stringify(v) });

before(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? "";
    requests.push(url);
    const path = url.split("?")[0] ?? "";
    const list = script.get(path) ?? [json(404, { error: "unknown path" })];
    const next = list.length > 1 ? list.shift()! : list[0]!;
    res.writeHead(next.status, { "content-type": next.status === 413 ? "text/plain" : "application/json" });
    res.end(next.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

describe("quote", () => {
  it("parses the documented example into bigints and derived fields", async () => {
    script.set("/v1/quote", [json(200, QUOTE)]);
    requests.length = 0;
    const q = await quote(api, { from: 31337, to: 31338, token: "GCC", amount: 10n ** 18n });
    assert.equal(requests[0], "/v1/quote?from=31337&to=31338&token=GCC&amount=1000000000000000000");
    assert.equal(q.kind, "lock");
    assert.equal(q.amount, 10n ** 18n);
    assert.equal(q.fee?.amount, 10n ** 15n);
    assert.equal(q.feeToken, QUOTE.fee.token);
    assert.equal(q.feeAmount, 10n ** 15n);
    assert.equal(q.outbound.available, 5n * 10n ** 23n);
    assert.equal(q.release_window?.remaining, 0n);
    assert.equal(q.large_amount, 10n ** 23n);
    assert.equal(q.held, false);
    assert.equal(q.rateLimited, false);
    // devnet: (1 confirmation + 1) × 1 s + 3 s overhead + 1 s destination block
    assert.equal(q.etaSeconds, 6);
  });
  it("flags held and rate-limited transfers and adds the hold to the ETA", async () => {
    script.set("/v1/quote", [json(200, { ...QUOTE, is_large: true, delay_seconds: 3600, fits_now: false, outbound: { available: "5", fits: false } })]);
    const q = await quote(api, { from: 31337, to: 31338, token: "GCC", amount: 10n ** 18n }, { eta: { overheadSeconds: 10 } });
    assert.equal(q.held, true);
    assert.equal(q.rateLimited, true);
    assert.equal(q.etaSeconds, 2 + 10 + 1 + 3600);
  });
  it("throws StatusApiError with the API's message; 5xx is retryable", async () => {
    script.set("/v1/quote", [json(400, { error: "unknown token symbol \"XYZ\"" })]);
    await assert.rejects(quote(api, { from: 31337, to: 31338, token: "XYZ", amount: 1n }), (e: unknown) => {
      assert.ok(e instanceof StatusApiError);
      assert.equal(e.status, 400);
      assert.deepEqual(e.body, { error: "unknown token symbol \"XYZ\"" });
      assert.equal(e.retryable, false);
      return true;
    });
    script.set("/v1/quote", [json(503, { error: "busy; try again" })]);
    await assert.rejects(quote(api, { from: 31337, to: 31338, token: "GCC", amount: 1n }), (e: unknown) => e instanceof StatusApiError && e.retryable && e.body.error === "busy; try again");
    script.set("/v1/quote", [{ status: 413, body: "request body too large" }]);
    await assert.rejects(quote(api, { from: 31337, to: 31338, token: "GCC", amount: 1n }), (e: unknown) => e instanceof StatusApiError && e.status === 413 && e.body.error === "request body too large");
  });
  it("refuses bad arguments without a request", async () => {
    requests.length = 0;
    await assert.rejects(quote(api, { from: 31337, to: 31338, token: "GCC", amount: 0n }), InputError);
    await assert.rejects(quote(api, { from: 31337, to: 31337, token: "GCC", amount: 1n }), InputError);
    await assert.rejects(quote(api, { from: -1, to: 31337, token: "GCC", amount: 1n }), InputError);
    await assert.rejects(quote(api, { from: 31337, to: 31338, token: "G&CC", amount: 1n }), InputError);
    assert.equal(requests.length, 0);
  });
  it("refuses a malformed answer", async () => {
    script.set("/v1/quote", [json(200, { ...QUOTE, amount: 1 })]);
    await assert.rejects(quote(api, { from: 31337, to: 31338, token: "GCC", amount: 1n }), /quote.amount is not a string/);
  });
});

describe("getTransfer", () => {
  it("parses a transfer", async () => {
    script.set(`/v1/transfers/${TX}`, [json(200, { query: TX, matched: "source_tx", transfers: [PROGRESS[0]] })]);
    const r = await getTransfer(api, TX);
    assert.equal(r.matched, "source_tx");
    const t = r.transfers[0]!;
    assert.equal(t.amount, 10n ** 18n);
    assert.equal(t.relayer_status, null);
    assert.equal(t.steps[1]?.step, "confirmations");
    assert.equal(t.steps[1]?.required, 1);
    assert.equal(t.steps[0]?.block_number, 185);
  });
  it("refuses a malformed hash without a request and types 404", async () => {
    requests.length = 0;
    await assert.rejects(getTransfer(api, "0x1234" as `0x${string}`), InputError);
    assert.equal(requests.length, 0);
    const unknown = `0x${"42".repeat(32)}` as const;
    script.set(`/v1/transfers/${unknown}`, [json(404, { error: "neither a bridge transaction" })]);
    await assert.rejects(getTransfer(api, unknown), (e: unknown) => e instanceof StatusApiError && e.status === 404 && !e.retryable);
  });
});

describe("track", () => {
  it("follows a transfer to released through 503s and a 404 grace, calling onUpdate on each change", async () => {
    const a = (t: object) => json(200, { query: TX, matched: "source_tx", transfers: [t] });
    script.set(`/v1/transfers/${TX}`, [json(404, { error: "not yet" }), a(PROGRESS[0]!), a(PROGRESS[0]!), json(503, { error: "busy; try again" }), a(PROGRESS[1]!), a(PROGRESS[2]!)]);
    const seen: (TransferStatus & { etaSeconds?: number })[] = [];
    const final = await track(api, TX, { intervalMs: 5, onUpdate: (t) => seen.push(t) });
    assert.equal(final.state, "released");
    assert.deepEqual(seen.map((t) => t.steps.map((s) => `${s.step}:${s.status}`).join(" ")), [
      "locked:done confirmations:active attested:pending submitted:pending released:pending",
      "locked:done confirmations:done attested:active submitted:pending released:pending",
      "locked:done confirmations:done attested:done submitted:done released:done",
    ]);
    // ETA: 1 block to go + 1, 3 s overhead, 1 s destination; then overhead + destination; then 0.
    assert.deepEqual(seen.map((t) => t.etaSeconds), [2 + 3 + 1, 3 + 1, 0]);
  });
  it("stops on a held transfer only when it ends, and estimates its wait", () => {
    const now = 1_800_000_000;
    const held = { ...PROGRESS[2]!, state: "waiting", steps: [...PROGRESS[2]!.steps.slice(0, 4), step("held", "waiting", { until: now + 3600 }), step("released", "pending")] };
    const t = { ...(held as unknown as TransferStatus), amount: 1n };
    assert.equal(estimateEta(t, undefined, now), 3601);
  });
  it("gives up after timeoutMs with the last status, and on abort", async () => {
    script.set(`/v1/transfers/${TX}`, [json(200, { query: TX, matched: "source_tx", transfers: [PROGRESS[0]] })]);
    await assert.rejects(track(api, TX, { intervalMs: 5, timeoutMs: 50 }), (e: unknown) => e instanceof TrackTimeoutError && e.last?.state === "pending");
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error("stopped by the user")), 30);
    await assert.rejects(track(api, TX, { intervalMs: 5, signal: ac.signal }), /stopped by the user/);
  });
  it("throws a non-transient error at once (404 after its grace, 400)", async () => {
    const unknown = `0x${"43".repeat(32)}` as const;
    script.set(`/v1/transfers/${unknown}`, [json(404, { error: "unknown" })]);
    await assert.rejects(track(api, unknown, { intervalMs: 5, notFoundGraceMs: 0 }), (e: unknown) => e instanceof StatusApiError && e.status === 404);
    await assert.rejects(track(api, "junk" as `0x${string}`), InputError);
  });
});
