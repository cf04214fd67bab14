// The relayer's status API (docs/STATUS_API.md): `GET /v1/quote` and `GET /v1/transfers/{hash}`,
// typed, with amounts as bigint, errors as `StatusApiError`, `track` polling a transfer to its end,
// and an ETA estimate computed here (the API has none; see `estimateEta`).
import type { Address, Hash } from "viem";
import { InputError, checkAmount, checkChainId, parseHash } from "./inputs.js";

/** A 4xx/5xx answer of the status API; `body.error` is the API's message. */
export class StatusApiError extends Error {
  override readonly name = "StatusApiError";
  readonly status: number;
  readonly body: { error: string };
  readonly url: string;
  constructor(status: number, body: { error: string }, url: string) {
    super(`status API ${status}: ${body.error}`);
    this.status = status;
    this.body = body;
    this.url = url;
  }
  /** 5xx (a chain or the store cannot be read now, too many lookups): worth asking again. */
  get retryable(): boolean {
    return this.status >= 500;
  }
}

/** Lock (source vault → destination minter) or burn (source minter → destination vault). */
export type TransferKind = "lock" | "burn";
export type TransferState = "pending" | "waiting" | "released" | "refused";
export type StepName = "locked" | "burned" | "confirmations" | "attested" | "rate_limited" | "submitted" | "held" | "released" | "refused";
export type StepStatus = "done" | "active" | "waiting" | "pending" | "failed";

/** One step; the details present depend on the step (docs/STATUS_API.md). */
export interface TransferStep {
  step: StepName;
  status: StepStatus;
  /** `locked`/`burned`: the source tx; `submitted`: the last release tx. */
  tx_hash?: Hash;
  /** `locked`/`burned`. */
  block_number?: number;
  /** `confirmations`: blocks on top of the source block now, and the depth required. */
  confirmations?: number;
  required?: number;
  /** `attested`: signatures the relayer holds, the threshold, the validator set size. */
  signatures?: number;
  threshold?: number;
  validators?: number;
  /** A waiting step (`rate_limited`, `held`): unix seconds it waits for. */
  until?: number;
  /** Why a step waits or failed, or the last transient error of an active one. */
  reason?: string;
}

/** A transfer as `GET /v1/transfers/{hash}` describes it (`amount` as bigint). */
export interface TransferStatus {
  message_id: Hash;
  kind: TransferKind;
  src_chain_id: number;
  dst_chain_id: number;
  nonce: number;
  /** For a burn, the origin token. */
  token: Address;
  amount: bigint;
  sender: Address;
  recipient: Address;
  source_tx: Hash | null;
  relayer_status: "seen" | "attested" | "submitted" | "confirmed" | "failed_permanently" | (string & {}) | null;
  state: TransferState;
  steps: TransferStep[];
}

/** `GET /v1/quote`, field for field (amounts as bigint), plus what this SDK derives (camelCase). */
export interface Quote {
  kind: TransferKind;
  src_chain_id: number;
  dst_chain_id: number;
  /** The source token (zero: native ETH). */
  token: Address;
  /** The contract to call: the source vault (`lock`/`lockNative`) or minter (`burn`). */
  src_contract: Address;
  /** What the destination releases; `null` when it has no wrapped token for this route yet. */
  dst_token: Address | null;
  amount: bigint;
  /** Approve `fee_manager` for `amount` of `token`; `null`: the route charges nothing. */
  fee: { fee_manager: Address; token: Address; amount: bigint } | null;
  /** The source endpoint's outbound bucket (rate-limit headroom). */
  outbound: { available: bigint; fits: boolean };
  /** The destination's inbound bucket; `null` without a destination token. */
  inbound: { available: bigint; fits: boolean } | null;
  release_window: { ends_at: number; remaining: bigint; fits: boolean } | null;
  /** Above it a transfer is large on the destination (`0n`: none is). */
  large_amount: bigint;
  is_large: boolean;
  /** Seconds the destination holds it (0 when not large). */
  delay_seconds: number;
  route_open: boolean;
  fits_now: boolean;
  // ---- derived here
  /** `fee.token`, or `null` when there is no fee. */
  feeToken: Address | null;
  /** `fee.amount`, or `0n`. */
  feeAmount: bigint;
  /** Large: the destination will hold it `delay_seconds` (the guardian may cancel it meanwhile). */
  held: boolean;
  /** It does not fit a rate-limit bucket or the release window now: it would wait (or revert, outbound). */
  rateLimited: boolean;
  /** Estimated seconds from sending to release (see `estimateEta`); excludes any rate-limit wait. */
  etaSeconds: number;
}

/** What the ETA estimate assumes; every field has a default (see `etaParams`). */
export interface EtaParams {
  /** Seconds per block of the source chain (default: 1 on the devnet chains 31337/31338, else 12). */
  srcBlockTimeSeconds?: number;
  /** Seconds per block of the destination chain (same default). */
  dstBlockTimeSeconds?: number;
  /** Confirmation depth the relayer waits for when the API does not say (default 1, the devnet's). */
  confirmations?: number;
  /** Attestation gathering and submission (default 3 s). */
  overheadSeconds?: number;
}

const DEVNET_CHAINS = new Set([31337, 31338]);
const blockTimeOf = (chainId: number): number => (DEVNET_CHAINS.has(chainId) ? 1 : 12);

function etaParams(src: number, dst: number, p: EtaParams | undefined): Required<EtaParams> {
  return {
    srcBlockTimeSeconds: p?.srcBlockTimeSeconds ?? blockTimeOf(src),
    dstBlockTimeSeconds: p?.dstBlockTimeSeconds ?? blockTimeOf(dst),
    confirmations: p?.confirmations ?? 1,
    overheadSeconds: p?.overheadSeconds ?? 3,
  };
}

/**
 * The ETA of a transfer in seconds, computed client-side (the API gives none):
 * remaining source blocks × source block time (for a transfer not yet confirmed: `required -
 * confirmations` from its `confirmations` step, or `params.confirmations` + 1 before it is mined)
 * + `overheadSeconds` while not attested + one destination block until released
 * + the wait of a waiting step (`until - now`), or `delay_seconds` of a large transfer not yet held.
 * `0` once released; `undefined` once refused. A rough estimate, not a promise.
 */
export function estimateEta(t: TransferStatus, params?: EtaParams, nowSeconds = Math.floor(Date.now() / 1000)): number | undefined {
  if (t.state === "released") return 0;
  if (t.state === "refused") return undefined;
  const p = etaParams(t.src_chain_id, t.dst_chain_id, params);
  const step = (n: StepName) => t.steps.find((s) => s.step === n);
  let eta = 0;
  const conf = step("confirmations");
  if (conf !== undefined && conf.status !== "done") {
    const left = Math.max(0, (conf.required ?? p.confirmations) - (conf.confirmations ?? 0)) + 1;
    eta += left * p.srcBlockTimeSeconds;
  }
  const attested = step("attested");
  if (attested === undefined || attested.status !== "done") eta += p.overheadSeconds;
  const waits = t.steps.filter((s) => s.status === "waiting" && s.until !== undefined);
  for (const w of waits) eta = Math.max(eta, (w.until ?? 0) - nowSeconds);
  eta += p.dstBlockTimeSeconds;
  return Math.max(0, Math.ceil(eta));
}

/** The ETA of a quoted transfer: (confirmations + 1) source blocks + overhead + one destination block + `delay_seconds`. */
export function estimateQuoteEta(q: { src_chain_id: number; dst_chain_id: number; delay_seconds: number }, params?: EtaParams): number {
  const p = etaParams(q.src_chain_id, q.dst_chain_id, params);
  return Math.ceil((p.confirmations + 1) * p.srcBlockTimeSeconds + p.overheadSeconds + p.dstBlockTimeSeconds + q.delay_seconds);
}

export interface ApiOptions {
  /** A `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Aborts the request. */
  signal?: AbortSignal;
}

async function getJson(apiUrl: string, path: string, opts: ApiOptions | undefined): Promise<unknown> {
  const f = opts?.fetch ?? globalThis.fetch;
  const url = `${apiUrl.replace(/\/+$/, "")}${path}`;
  const init: RequestInit = { method: "GET", headers: { accept: "application/json" } };
  if (opts?.signal !== undefined) init.signal = opts.signal;
  const res = await f(url, init);
  const text = await res.text();
  if (!res.ok) {
    let error = text.trim() || res.statusText || "no body";
    try {
      const j = JSON.parse(text) as { error?: unknown };
      if (typeof j.error === "string") error = j.error;
    } catch {
      /* a plain-text body (413 from the listener) */
    }
    throw new StatusApiError(res.status, { error }, url);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new StatusApiError(res.status, { error: `not JSON: ${text.slice(0, 80)}` }, url);
  }
}

// ---- decoding (with shape checks: a malformed answer fails loudly, not as undefined later)

class Shape {
  constructor(private readonly o: Record<string, unknown>, private readonly what: string) {}
  static of(v: unknown, what: string): Shape {
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw malformed(`${what} is not an object`);
    return new Shape(v as Record<string, unknown>, what);
  }
  raw(k: string): unknown {
    return this.o[k];
  }
  num(k: string): number {
    const v = this.o[k];
    if (typeof v !== "number" || !Number.isFinite(v)) throw malformed(`${this.what}.${k} is not a number`);
    return v;
  }
  optNum(k: string): number | undefined {
    return this.o[k] === undefined || this.o[k] === null ? undefined : this.num(k);
  }
  str(k: string): string {
    const v = this.o[k];
    if (typeof v !== "string") throw malformed(`${this.what}.${k} is not a string`);
    return v;
  }
  bool(k: string): boolean {
    const v = this.o[k];
    if (typeof v !== "boolean") throw malformed(`${this.what}.${k} is not a boolean`);
    return v;
  }
  big(k: string): bigint {
    const v = this.str(k);
    if (!/^\d+$/.test(v)) throw malformed(`${this.what}.${k} is not a decimal amount`);
    return BigInt(v);
  }
  hex<T extends `0x${string}`>(k: string, len: number): T {
    const v = this.str(k);
    if (!new RegExp(`^0x[0-9a-fA-F]{${len}}$`).test(v)) throw malformed(`${this.what}.${k} is not ${len / 2}-byte hex`);
    return v as T;
  }
  optHex<T extends `0x${string}`>(k: string, len: number): T | null {
    return this.o[k] === null || this.o[k] === undefined ? null : this.hex<T>(k, len);
  }
  sub(k: string): Shape {
    return Shape.of(this.o[k], `${this.what}.${k}`);
  }
  optSub(k: string): Shape | null {
    return this.o[k] === null || this.o[k] === undefined ? null : this.sub(k);
  }
}

function malformed(why: string): StatusApiError {
  return new StatusApiError(200, { error: `malformed status API answer: ${why}` }, "");
}

const STATES: readonly TransferState[] = ["pending", "waiting", "released", "refused"];

/** Parses one `Transfer` object of the API. */
export function parseTransfer(v: unknown): TransferStatus {
  const s = Shape.of(v, "transfer");
  const kind = s.str("kind");
  if (kind !== "lock" && kind !== "burn") throw malformed(`transfer.kind is ${kind}`);
  const state = s.str("state") as TransferState;
  if (!STATES.includes(state)) throw malformed(`transfer.state is ${state}`);
  const stepsRaw = s.raw("steps");
  if (!Array.isArray(stepsRaw)) throw malformed("transfer.steps is not an array");
  const steps = stepsRaw.map((r, i): TransferStep => {
    const st = Shape.of(r, `steps[${i}]`);
    const out: TransferStep = { step: st.str("step") as StepName, status: st.str("status") as StepStatus };
    const tx = st.optHex<Hash>("tx_hash", 64);
    if (tx !== null) out.tx_hash = tx;
    for (const k of ["block_number", "confirmations", "required", "signatures", "threshold", "validators", "until"] as const) {
      const n = st.optNum(k);
      if (n !== undefined) out[k] = n;
    }
    const reason = st.raw("reason");
    if (typeof reason === "string") out.reason = reason;
    return out;
  });
  const rs = s.raw("relayer_status");
  return {
    message_id: s.hex<Hash>("message_id", 64),
    kind,
    src_chain_id: s.num("src_chain_id"),
    dst_chain_id: s.num("dst_chain_id"),
    nonce: s.num("nonce"),
    token: s.hex<Address>("token", 40),
    amount: s.big("amount"),
    sender: s.hex<Address>("sender", 40),
    recipient: s.hex<Address>("recipient", 40),
    source_tx: s.optHex<Hash>("source_tx", 64),
    relayer_status: typeof rs === "string" ? rs : null,
    state,
    steps,
  };
}

/** Parses a `/v1/quote` answer and adds the derived fields. */
export function parseQuote(v: unknown, eta?: EtaParams): Quote {
  const s = Shape.of(v, "quote");
  const kind = s.str("kind");
  if (kind !== "lock" && kind !== "burn") throw malformed(`quote.kind is ${kind}`);
  const fee = s.optSub("fee");
  const out = s.sub("outbound");
  const inb = s.optSub("inbound");
  const win = s.optSub("release_window");
  const q = {
    kind: kind as TransferKind,
    src_chain_id: s.num("src_chain_id"),
    dst_chain_id: s.num("dst_chain_id"),
    token: s.hex<Address>("token", 40),
    src_contract: s.hex<Address>("src_contract", 40),
    dst_token: s.optHex<Address>("dst_token", 40),
    amount: s.big("amount"),
    fee: fee === null ? null : { fee_manager: fee.hex<Address>("fee_manager", 40), token: fee.hex<Address>("token", 40), amount: fee.big("amount") },
    outbound: { available: out.big("available"), fits: out.bool("fits") },
    inbound: inb === null ? null : { available: inb.big("available"), fits: inb.bool("fits") },
    release_window: win === null ? null : { ends_at: win.num("ends_at"), remaining: win.big("remaining"), fits: win.bool("fits") },
    large_amount: s.big("large_amount"),
    is_large: s.bool("is_large"),
    delay_seconds: s.num("delay_seconds"),
    route_open: s.bool("route_open"),
    fits_now: s.bool("fits_now"),
  };
  return {
    ...q,
    feeToken: q.fee?.token ?? null,
    feeAmount: q.fee?.amount ?? 0n,
    held: q.is_large,
    rateLimited: !q.outbound.fits || q.inbound?.fits === false || q.release_window?.fits === false,
    etaSeconds: estimateQuoteEta(q, eta),
  };
}

/**
 * `GET /v1/quote`: what sending `amount` (base units) of `token` from chain `from` to `to` costs
 * and meets now. `token` is an address on the source chain (zero: ETH), `ETH`, a symbol of the
 * source deployment (`GCC`) or `w` + a symbol of the destination (`wGCC`, a burn).
 * Throws `InputError` before any request for a bad argument, `StatusApiError` for an API error.
 */
export async function quote(
  apiUrl: string,
  q: { from: number; to: number; token: string; amount: bigint },
  opts?: ApiOptions & { eta?: EtaParams },
): Promise<Quote> {
  checkChainId(q.from, "from");
  checkChainId(q.to, "to");
  if (q.from === q.to) throw new InputError("chain", "source and destination chains must differ");
  checkAmount(q.amount);
  if (typeof q.token !== "string" || !/^[0-9A-Za-z]{1,42}$/.test(q.token)) {
    throw new InputError("token", "the token must be an address or a symbol (ETH, GCC, wGCC)");
  }
  const params = new URLSearchParams({ from: String(q.from), to: String(q.to), token: q.token, amount: q.amount.toString() });
  return parseQuote(await getJson(apiUrl, `/v1/quote?${params.toString()}`, opts), opts?.eta);
}

/**
 * `GET /v1/transfers/{hash}`: the transfers behind a message id, a lock/burn transaction or a
 * release transaction. Throws `InputError` for a malformed hash (nothing sent), `StatusApiError`
 * (404 for an unknown hash).
 */
export async function getTransfer(apiUrl: string, hash: Hash, opts?: ApiOptions): Promise<{ matched: string; transfers: TransferStatus[] }> {
  const h = parseHash(hash);
  const s = Shape.of(await getJson(apiUrl, `/v1/transfers/${h}`, opts), "answer");
  const list = s.raw("transfers");
  if (!Array.isArray(list)) throw malformed("answer.transfers is not an array");
  return { matched: s.str("matched"), transfers: list.map(parseTransfer) };
}

export interface TrackOptions {
  /** Called on every change (state, relayer status or any step), with an ETA estimate. */
  onUpdate?: (t: TransferStatus & { etaSeconds?: number }) => void;
  /** Poll period (default 1000 ms). */
  intervalMs?: number;
  /** Give up after this long (default 10 minutes); rejects with `TrackTimeoutError`. */
  timeoutMs?: number;
  /** Stops tracking; rejects with the signal's reason. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** How long a 404 is tolerated (default 120 s): a message id is unknown to the API until the relayer saw it (its block confirmed), and the API's node may lag a block behind a fresh source tx. */
  notFoundGraceMs?: number;
  /** Which transfer of a transaction with several (default: the first; match by message id). */
  messageId?: Hash;
  /** ETA assumptions. */
  eta?: EtaParams;
}

/** `track` gave up: the transfer did not end within `timeoutMs`; `last` is what it saw last. */
export class TrackTimeoutError extends Error {
  override readonly name = "TrackTimeoutError";
  readonly last: TransferStatus | undefined;
  constructor(message: string, last: TransferStatus | undefined) {
    super(message);
    this.last = last;
  }
}

const fingerprint = (t: TransferStatus): string =>
  JSON.stringify([t.state, t.relayer_status, t.steps], (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Polls `GET /v1/transfers/{hash}` (a source tx hash or a message id) until the transfer is
 * `released` or `refused`, calling `onUpdate` on every change, and returns the final status.
 * Retries through network errors, 5xx and (for `notFoundGraceMs`) 404; a 400 is thrown at once.
 * Rejects with `TrackTimeoutError` after `timeoutMs`, or the signal's reason when aborted.
 */
export async function track(apiUrl: string, hash: Hash, opts?: TrackOptions): Promise<TransferStatus> {
  const h = parseHash(hash);
  const interval = opts?.intervalMs ?? 1000;
  const timeout = opts?.timeoutMs ?? 600_000;
  const grace = opts?.notFoundGraceMs ?? 120_000;
  const started = Date.now();
  let last: TransferStatus | undefined;
  let lastPrint = "";
  for (;;) {
    if (opts?.signal?.aborted) throw opts.signal.reason;
    try {
      const apiOpts: ApiOptions = {};
      if (opts?.fetch !== undefined) apiOpts.fetch = opts.fetch;
      if (opts?.signal !== undefined) apiOpts.signal = opts.signal;
      const r = await getTransfer(apiUrl, h, apiOpts);
      const want = opts?.messageId?.toLowerCase();
      const t = want === undefined ? r.transfers[0] : r.transfers.find((x) => x.message_id.toLowerCase() === want);
      if (t === undefined) throw new StatusApiError(404, { error: `no transfer ${want ?? ""} behind ${h}` }, apiUrl);
      last = t;
      const fp = fingerprint(t);
      if (fp !== lastPrint) {
        lastPrint = fp;
        const eta = estimateEta(t, opts?.eta);
        opts?.onUpdate?.(eta === undefined ? { ...t } : { ...t, etaSeconds: eta });
      }
      if (t.state === "released" || t.state === "refused") return t;
    } catch (e) {
      if (opts?.signal?.aborted) throw opts.signal.reason;
      if (e instanceof StatusApiError) {
        const transient = e.retryable || (e.status === 404 && Date.now() - started < grace);
        if (!transient) throw e;
      } else if (e instanceof InputError) {
        throw e;
      }
      // otherwise a network error: retry
    }
    if (Date.now() - started + interval > timeout) {
      throw new TrackTimeoutError(`transfer ${h} did not end within ${timeout} ms (last state: ${last?.state ?? "not found"})`, last);
    }
    await sleep(interval, opts?.signal);
  }
}
