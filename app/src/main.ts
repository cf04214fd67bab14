// The GhostBridge page: connect a wallet (EIP-6963 / EIP-1193) or the devnet's dev account,
// quote, lock or burn through the SDK, follow the status API's steps, balances, history.
// Everything it talks to is named in /config.json (served next to it).
import {
  InputError,
  StatusApiError,
  type BridgeChain,
  type Quote,
  type TransferStatus,
  type TransferStep,
  burn,
  chainFromDeployment,
  ghostTokenAbi,
  lock,
  parseAmount,
  parseRecipient,
  quote as fetchQuote,
  toBridgeError,
  track,
  wrappedTokens,
} from "@ghostbridge/sdk";
import {
  type Address,
  type Chain,
  type EIP1193Provider,
  type Hash,
  type PublicClient,
  type WalletClient,
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  formatUnits,
  http,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

// ---------------------------------------------------------------- config and chains

interface ChainConfig {
  chainId: number;
  name?: string;
  rpcUrl: string;
  deployment: unknown;
  /** A block explorer (`https://…`, its `/tx/<hash>` pages); none on the devnet. */
  explorerUrl?: string;
}
interface AppConfig {
  network?: string;
  chains: ChainConfig[];
  apiUrl: string;
  devAccountKey?: `0x${string}`;
}

interface Side {
  bridge: BridgeChain;
  viem: Chain;
  client: PublicClient;
  label: string;
}

/** A token the form offers on a source chain. */
interface TokenOption {
  key: string; // "lock:GCC", "lock:ETH", "burn:wGCC"
  kind: "lock" | "burn";
  symbol: string; // GCC, ETH, wGCC
  address: Address; // zero for ETH
}

const ZERO: Address = "0x0000000000000000000000000000000000000000";
const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`#${id} missing`);
  return e as T;
};

let cfg: AppConfig;
const sides = new Map<number, Side>();
let account: Address | undefined;
let walletFor: ((chainId: number) => Promise<WalletClient>) | undefined;
let walletName = "";
const decimalsCache = new Map<string, number>();
let tokenOptions: TokenOption[] = [];
let lastQuote: Quote | undefined;
let quoteSeq = 0;
let tracking: AbortController | undefined;
let busy = false;

function side(id: number): Side {
  const s = sides.get(id);
  if (s === undefined) throw new Error(`unknown chain ${id}`);
  return s;
}

async function loadConfig(): Promise<void> {
  const res = await fetch("config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
  cfg = (await res.json()) as AppConfig;
  for (const c of cfg.chains) {
    const bridge = chainFromDeployment(c.deployment, c.rpcUrl);
    const label = c.name ?? `chain ${c.chainId}`;
    const viem = defineChain({
      id: c.chainId,
      name: label,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [c.rpcUrl] } },
    });
    const client = createPublicClient({ chain: viem, transport: http(c.rpcUrl), pollingInterval: 250 }) as PublicClient;
    sides.set(c.chainId, { bridge, viem, client, label });
  }
}

// ---------------------------------------------------------------- formatting

/** Where a transaction hash links to: the chain's explorer when configured, else the status API's answer for it. */
function txLink(hash: string, chainId: number): string {
  const explorer = cfg.chains.find((c) => c.chainId === chainId)?.explorerUrl;
  return explorer !== undefined ? `${explorer.replace(/\/$/, "")}/tx/${hash}` : `${cfg.apiUrl}/v1/transfers/${hash}`;
}

const short = (h: string): string => `${h.slice(0, 10)}…${h.slice(-6)}`;

function fmt(amount: bigint, decimals: number): string {
  const s = formatUnits(amount, decimals);
  const [w = "0", f] = s.split(".");
  const whole = w.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return f === undefined ? whole : `${whole}.${f.slice(0, 6).replace(/0+$/, "") || "0"}`;
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

const clock = (unix: number): string => new Date(unix * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });

/** A countdown: `1 h 02 min 05 s`, `59 min 58 s`, `12 s`. */
function countdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (n: number) => String(n).padStart(2, "0");
  if (h > 0) return `${h} h ${pad(m)} min ${pad(r)} s`;
  if (m > 0) return `${m} min ${pad(r)} s`;
  return `${r} s`;
}

function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function announce(text: string): void {
  $("live").textContent = text;
}

async function decimalsOf(chainId: number, token: Address): Promise<number> {
  if (token === ZERO) return 18;
  const key = `${chainId}:${token.toLowerCase()}`;
  const hit = decimalsCache.get(key);
  if (hit !== undefined) return hit;
  const d = Number(await side(chainId).client.readContract({ address: token, abi: ghostTokenAbi, functionName: "decimals" }));
  decimalsCache.set(key, d);
  return d;
}

async function balanceOf(chainId: number, token: Address, who: Address): Promise<bigint> {
  const c = side(chainId).client;
  return token === ZERO ? c.getBalance({ address: who }) : c.readContract({ address: token, abi: ghostTokenAbi, functionName: "balanceOf", args: [who] });
}

/** A symbol for an address on a chain (canonical, wrapped, or the address shortened). */
function symbolOf(chainId: number, token: Address): string {
  if (token === ZERO) return "ETH";
  const s = side(chainId).bridge;
  for (const [sym, a] of Object.entries({ ...s.tokens, ...(s.wrapped ?? {}) })) if (a.toLowerCase() === token.toLowerCase()) return sym;
  return short(token);
}

// ---------------------------------------------------------------- wallets

interface Eip6963Detail {
  info: { uuid: string; name: string; icon: string; rdns: string };
  provider: EIP1193Provider;
}
const discovered = new Map<string, Eip6963Detail>();

function discoverWallets(): void {
  window.addEventListener("eip6963:announceProvider", (ev: Event) => {
    const d = (ev as CustomEvent<Eip6963Detail>).detail;
    if (d?.info?.uuid === undefined || discovered.has(d.info.uuid)) return;
    discovered.set(d.info.uuid, d);
    renderWalletButtons();
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  // A legacy injected provider without EIP-6963.
  setTimeout(() => {
    const eth = (window as unknown as { ethereum?: EIP1193Provider }).ethereum;
    if (discovered.size === 0 && eth !== undefined) {
      discovered.set("legacy", { info: { uuid: "legacy", name: "browser wallet", icon: "", rdns: "" }, provider: eth });
    }
    renderWalletButtons();
  }, 300);
}

function renderWalletButtons(): void {
  const row = $("connect-buttons");
  row.querySelectorAll("button[data-wallet]").forEach((b) => b.remove());
  for (const d of discovered.values()) {
    const b = el("button", { type: "button", "data-wallet": d.info.uuid }, `Connect ${d.info.name}`);
    b.addEventListener("click", () => void connectInjected(d));
    row.append(b);
  }
  $("wallets-note").textContent =
    discovered.size === 0
      ? cfg?.devAccountKey !== undefined
        ? "No wallet extension found; the built-in dev account works without one."
        : "No wallet extension found: install one (any EIP-1193 wallet) to send."
      : "";
}

async function connectInjected(d: Eip6963Detail): Promise<void> {
  try {
    const accounts = (await d.provider.request({ method: "eth_requestAccounts" })) as Address[];
    const first = accounts[0];
    if (first === undefined) throw new Error("the wallet returned no account");
    walletName = d.info.name;
    walletFor = async (chainId: number) => {
      const s = side(chainId);
      const w = createWalletClient({ account: first, chain: s.viem, transport: custom(d.provider) });
      if ((await w.getChainId()) !== chainId) {
        try {
          await w.switchChain({ id: chainId });
        } catch {
          await w.addChain({ chain: s.viem });
          await w.switchChain({ id: chainId });
        }
      }
      return w;
    };
    setAccount(first);
  } catch (e) {
    $("form-message").textContent = `Could not connect ${d.info.name}: ${errorText(e)}`;
  }
}

function connectDev(): void {
  const key = cfg.devAccountKey;
  if (key === undefined) return;
  const acct = privateKeyToAccount(key);
  walletName = "built-in dev account";
  walletFor = async (chainId: number) => createWalletClient({ account: acct, chain: side(chainId).viem, transport: http(side(chainId).bridge.rpcUrl) });
  setAccount(acct.address);
}

function setAccount(a: Address): void {
  account = a;
  $("account").textContent = "";
  $("account").append("Connected: ", el("code", { "data-testid": "account-address" }, a), ` (${walletName})`);
  $<HTMLInputElement>("recipient").placeholder = a;
  announce(`Connected ${a}`);
  renderHistory();
  void refreshBalances();
  void refreshTokens();
  updateSendButton();
}

// ---------------------------------------------------------------- form

const fromSel = () => $<HTMLSelectElement>("from");
const toSel = () => $<HTMLSelectElement>("to");
const tokenSel = () => $<HTMLSelectElement>("token");
const amountIn = () => $<HTMLInputElement>("amount");
const recipientIn = () => $<HTMLInputElement>("recipient");

function fillChains(): void {
  const ids = [...sides.keys()];
  for (const sel of [fromSel(), toSel()]) {
    sel.replaceChildren(...ids.map((id) => el("option", { value: String(id) }, `${side(id).label} (${id})`)));
  }
  if (ids[1] !== undefined) toSel().value = String(ids[1]);
}

/** The token options of the source chain: its tokens and ETH (lock), wrapped tokens of the destination (burn). */
async function refreshTokens(): Promise<void> {
  const from = Number(fromSel().value);
  const to = Number(toSel().value);
  const src = side(from);
  const opts: TokenOption[] = [];
  for (const [sym, a] of Object.entries(src.bridge.tokens)) opts.push({ key: `lock:${sym}`, kind: "lock", symbol: sym, address: a });
  opts.push({ key: "lock:ETH", kind: "lock", symbol: "ETH", address: ZERO });
  if (from !== to) {
    try {
      const wrapped = await wrappedTokens(src.client, src.bridge, side(to).bridge);
      src.bridge.wrapped = { ...(src.bridge.wrapped ?? {}), ...wrapped };
      for (const [sym, a] of Object.entries(wrapped)) {
        opts.push({ key: `burn:${sym}`, kind: "burn", symbol: sym, address: a });
      }
    } catch {
      /* the chain cannot be read now: locks only */
    }
  }
  const keep = tokenSel().value;
  tokenOptions = opts;
  tokenSel().replaceChildren(
    ...opts.map((o) => el("option", { value: o.key }, o.kind === "lock" ? `${o.symbol} (lock)` : `${o.symbol} (burn back to chain ${to})`)),
  );
  if (opts.some((o) => o.key === keep)) tokenSel().value = keep;
  await onFormChange();
}

function selectedToken(): TokenOption | undefined {
  return tokenOptions.find((o) => o.key === tokenSel().value);
}

function setFieldError(field: "amount" | "recipient", msg: string): void {
  $(`${field}-error`).textContent = msg;
  const input = field === "amount" ? amountIn() : recipientIn();
  if (msg === "") input.removeAttribute("aria-invalid");
  else input.setAttribute("aria-invalid", "true");
}

interface Parsed {
  from: number;
  to: number;
  token: TokenOption;
  amount: bigint;
  recipient: Address;
  decimals: number;
}

/** Reads the form; shows the refusals next to the fields; `undefined` when something is refused. */
async function parseForm(showEmpty: boolean): Promise<Parsed | undefined> {
  const from = Number(fromSel().value);
  const to = Number(toSel().value);
  const token = selectedToken();
  let ok = true;
  if (from === to) {
    $("form-message").textContent = "Choose two different chains.";
    ok = false;
  }
  if (token === undefined) return undefined;
  const decimals = await decimalsOf(from, token.address);
  let amount = 0n;
  const amountText = amountIn().value;
  if (amountText.trim() === "" && !showEmpty) {
    setFieldError("amount", "");
    ok = false;
  } else {
    try {
      amount = parseAmount(amountText, decimals);
      setFieldError("amount", "");
    } catch (e) {
      setFieldError("amount", errorText(e));
      ok = false;
    }
  }
  let recipient: Address | undefined;
  const rText = recipientIn().value;
  if (rText.trim() === "") {
    recipient = account;
    setFieldError("recipient", "");
    if (recipient === undefined && showEmpty) {
      setFieldError("recipient", "Connect an account or enter a recipient.");
      ok = false;
    }
  } else {
    try {
      recipient = parseRecipient(rText);
      setFieldError("recipient", "");
    } catch (e) {
      setFieldError("recipient", errorText(e));
      ok = false;
    }
  }
  if (!ok || recipient === undefined) return undefined;
  return { from, to, token, amount, recipient, decimals };
}

let quoteTimer: ReturnType<typeof setTimeout> | undefined;
async function onFormChange(): Promise<void> {
  $("form-message").textContent = "";
  const token = selectedToken();
  $("send").textContent = token?.kind === "burn" ? "Burn" : "Lock";
  void showAmountBalance();
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(() => void refreshQuote(), 250);
}

async function showAmountBalance(): Promise<void> {
  const token = selectedToken();
  if (token === undefined || account === undefined) {
    $("amount-balance").textContent = "–";
    return;
  }
  const from = Number(fromSel().value);
  try {
    const [b, d] = await Promise.all([balanceOf(from, token.address, account), decimalsOf(from, token.address)]);
    $("amount-balance").textContent = `${fmt(b, d)} ${token.symbol} on chain ${from}`;
  } catch {
    $("amount-balance").textContent = "cannot be read now";
  }
}

async function refreshQuote(): Promise<void> {
  const seq = ++quoteSeq;
  lastQuote = undefined;
  updateSendButton();
  const body = $("quote-body");
  const p = await parseForm(false);
  if (p === undefined) {
    if (seq === quoteSeq) {
      body.className = "muted";
      body.textContent = "Enter a valid amount to see the fee, the limits and the time it takes.";
    }
    return;
  }
  body.className = "muted";
  body.textContent = "Asking the status API for a quote…";
  try {
    const q = await fetchQuote(cfg.apiUrl, { from: p.from, to: p.to, token: p.token.symbol, amount: p.amount });
    if (seq !== quoteSeq) return;
    lastQuote = q;
    body.className = "";
    body.replaceChildren(await renderQuote(q, p));
    announce(quoteSummary(q));
  } catch (e) {
    if (seq !== quoteSeq) return;
    body.className = "error";
    body.textContent = `No quote: ${errorText(e)}`;
  }
  updateSendButton();
}

function quoteSummary(q: Quote): string {
  if (!q.route_open) return "Quote: this route is not open.";
  if (q.rateLimited) return "Quote: over the rate limit now; the transfer would wait.";
  if (q.held) return `Quote: a large transfer, held for ${duration(q.delay_seconds)} at the destination.`;
  return `Quote ready: about ${duration(q.etaSeconds)}.`;
}

async function renderQuote(q: Quote, p: Parsed): Promise<HTMLElement> {
  const dl = el("dl");
  const row = (k: string, v: Node | string, testid: string, cls = "") => {
    dl.append(el("dt", {}, k), el("dd", { "data-testid": testid, ...(cls ? { class: cls } : {}) }, v));
  };
  const sym = p.token.symbol;
  row("Action", q.kind === "lock" ? `Lock ${sym} on chain ${q.src_chain_id}, minted on chain ${q.dst_chain_id}` : `Burn ${sym} on chain ${q.src_chain_id}, unlocked on chain ${q.dst_chain_id}`, "quote-action");
  if (q.fee === null) row("Fee", "none", "quote-fee");
  else {
    const fd = await decimalsOf(q.src_chain_id, q.fee.token);
    row("Fee", `${fmt(q.fee.amount, fd)} ${symbolOf(q.src_chain_id, q.fee.token)} (paid separately, approved to the fee manager)`, "quote-fee");
  }
  const d = p.decimals;
  row("Outbound limit", `${fmt(q.outbound.available, d)} available — ${q.outbound.fits ? "fits" : "over the limit"}`, "quote-outbound", q.outbound.fits ? "ok" : "bad");
  if (q.inbound !== null) {
    row("Inbound limit", `${fmt(q.inbound.available, d)} available — ${q.inbound.fits ? "fits" : "over the limit"}`, "quote-inbound", q.inbound.fits ? "ok" : "warn");
  }
  const now = Math.floor(Date.now() / 1000);
  const windowWait = q.release_window !== null && !q.release_window.fits && q.release_window.ends_at > now ? q.release_window.ends_at - now : 0;
  if (q.release_window !== null && !q.release_window.fits) {
    row(
      "Release window",
      `${fmt(q.release_window.remaining, d)} left in the destination's current window — over it; a new window opens at ${clock(q.release_window.ends_at)} (in ${duration(windowWait)})`,
      "quote-window",
      "warn",
    );
  }
  row(
    "Large transfer",
    q.is_large ? `yes (above ${fmt(q.large_amount, d)}): held ${duration(q.delay_seconds)} at the destination; the guardian may cancel it during the hold` : q.large_amount === 0n ? "no" : `no (large above ${fmt(q.large_amount, d)})`,
    "quote-large",
    q.is_large ? "warn" : "",
  );
  let eta = `about ${duration(q.etaSeconds)}`;
  if (!q.outbound.fits) eta += " once the outbound limit has room (the lock is refused now)";
  else if (windowWait > 0) eta += ` plus up to ${duration(windowWait)} until the release window reopens`;
  else if (q.rateLimited) eta += " plus the wait for the rate limit to refill";
  row("Estimated time", eta, "quote-eta");
  let verdict: string;
  let cls: string;
  if (!q.route_open) [verdict, cls] = ["This route is not open.", "bad"];
  else if (!q.outbound.fits) [verdict, cls] = ["Rate-limited: over the source's outbound limit now; the lock would be refused. Try a smaller amount or later.", "bad"];
  else if (q.rateLimited)
    [verdict, cls] = [
      `Rate-limited at the destination: the release waits${windowWait > 0 ? ` until about ${clock(q.release_window?.ends_at ?? 0)}` : " until the limit refills"} (the relayer retries by itself)${q.held ? `, then it is held ${duration(q.delay_seconds)}` : ""}.`,
      "warn",
    ];
  else if (q.held) [verdict, cls] = [`Held: released ${duration(q.delay_seconds)} after it arrives.`, "warn"];
  else [verdict, cls] = ["Fits now.", "ok"];
  const wrap = el("div", {}, dl, el("p", { "data-testid": "quote-verdict", class: cls }, verdict));
  return wrap;
}

function updateSendButton(): void {
  const b = $<HTMLButtonElement>("send");
  b.disabled = busy || account === undefined;
  b.title = account === undefined ? "Connect an account first" : "";
}

function errorText(e: unknown): string {
  if (e instanceof InputError) return e.message;
  if (e instanceof StatusApiError) return e.body.error;
  const be = toBridgeError(e);
  if (be !== undefined) return `the contract refused: ${be.errorName}${Object.keys(be.values ?? {}).length ? ` ${JSON.stringify(be.values, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}` : ""}`;
  if (e instanceof Error) {
    const m = (e as { shortMessage?: string }).shortMessage ?? e.message;
    return m.split("\n")[0] ?? m;
  }
  return String(e);
}

async function send(ev: Event): Promise<void> {
  ev.preventDefault();
  if (busy) return;
  const msg = $("form-message");
  msg.textContent = "";
  const p = await parseForm(true);
  if (p === undefined) {
    msg.textContent = "Nothing was sent: fix the fields marked above.";
    (amountIn().getAttribute("aria-invalid") === "true" ? amountIn() : recipientIn()).focus();
    return;
  }
  if (account === undefined || walletFor === undefined) {
    msg.textContent = "Connect an account first.";
    return;
  }
  busy = true;
  updateSendButton();
  const verb = p.token.kind === "lock" ? "Locking" : "Burning";
  msg.textContent = "";
  $("progress-note").textContent = `${verb} ${fmt(p.amount, p.decimals)} ${p.token.symbol}: approving and sending (confirm in your wallet if it asks)…`;
  $("progress-card").hidden = false;
  $("steps").replaceChildren();
  $("progress-title").textContent = `${verb} ${fmt(p.amount, p.decimals)} ${p.token.symbol} from chain ${p.from} to chain ${p.to}`;
  announce(`${verb} ${p.token.symbol}: sending`);
  try {
    const s = side(p.from);
    const wallet = await walletFor(p.from);
    const sent =
      p.token.kind === "lock"
        ? await lock({ wallet, publicClient: s.client, chain: s.bridge, dstChainId: p.to, token: p.token.address === ZERO ? "native" : p.token.address, amount: p.amount, recipient: p.recipient })
        : await burn({ wallet, publicClient: s.client, chain: s.bridge, dstChainId: p.to, wrappedToken: p.token.address, amount: p.amount, recipient: p.recipient });
    const entry: HistoryEntry = {
      txHash: sent.txHash,
      messageId: sent.messageId,
      kind: p.token.kind,
      from: p.from,
      to: p.to,
      symbol: p.token.symbol,
      amount: p.amount.toString(),
      decimals: p.decimals,
      recipient: p.recipient,
      time: Math.floor(Date.now() / 1000),
    };
    saveHistory(entry);
    void refreshBalances();
    void follow(entry);
  } catch (e) {
    $("progress-note").textContent = "";
    $("progress-card").hidden = true;
    msg.textContent = `Not sent: ${errorText(e)}`;
  } finally {
    busy = false;
    updateSendButton();
  }
}

// ---------------------------------------------------------------- progress

const STEP_LABEL: Record<string, string> = {
  locked: "Locked",
  burned: "Burned",
  confirmations: "Confirmations",
  attested: "Attested",
  rate_limited: "Rate-limited",
  submitted: "Release submitted",
  held: "Held (large transfer)",
  released: "Released",
  refused: "Refused",
};
const STATUS_LABEL: Record<string, string> = { done: "done", active: "in progress", waiting: "waiting", pending: "pending", failed: "failed" };


function stepDetail(s: TransferStep, t: TransferStatus): (Node | string)[] {
  const out: (Node | string)[] = [];
  const tx = (h: string, chain: number) =>
    el("a", { href: txLink(h, chain), target: "_blank", rel: "noopener noreferrer" }, el("code", { class: "hash", title: h, "data-testid": `tx-${s.step}` }, `${h} (chain ${chain})`));
  switch (s.step) {
    case "locked":
    case "burned":
      if (s.tx_hash) out.push("tx ", tx(s.tx_hash, t.src_chain_id), s.block_number !== undefined ? `, block ${s.block_number}` : "");
      break;
    case "confirmations":
      if (s.confirmations !== undefined) out.push(`${Math.min(s.confirmations, s.required ?? s.confirmations)} of ${s.required ?? "?"} blocks`);
      break;
    case "attested":
      if (s.threshold !== undefined) out.push(`${s.signatures ?? 0} of ${s.validators ?? "?"} validators signed (${s.threshold} needed)`);
      break;
    case "submitted":
      if (s.tx_hash) out.push("release tx ", tx(s.tx_hash, t.dst_chain_id));
      break;
    case "held":
      if (s.status === "waiting" && s.until !== undefined) {
        out.push(`held until ${clock(s.until)} — `, el("span", { "data-countdown": String(s.until) }, ""), ". The guardian may cancel it during the hold; after it anyone may execute it.");
      } else if (s.status === "failed") out.push("the guardian cancelled it during the hold");
      break;
    case "rate_limited":
      if (s.until !== undefined) out.push(`may proceed at ${clock(s.until)} — `, el("span", { "data-countdown": String(s.until) }, ""), "; the relayer retries by itself.");
      break;
    case "refused":
      out.push(s.reason ?? "refused");
      break;
  }
  if (s.reason && s.step !== "refused" && s.step !== "held" && s.step !== "rate_limited") out.push(el("br"), s.reason);
  if (s.step === "rate_limited" && s.reason && s.status === "waiting") out.push(el("br"), el("span", { class: "small" }, s.reason));
  return out;
}

function tickCountdowns(): void {
  const now = Math.floor(Date.now() / 1000);
  document.querySelectorAll<HTMLElement>("[data-countdown]").forEach((e) => {
    const left = Number(e.dataset.countdown) - now;
    e.textContent = left > 0 ? `${countdown(left)} left` : "due now";
  });
}

function renderTransfer(t: TransferStatus & { etaSeconds?: number }): void {
  const ol = $("steps");
  ol.replaceChildren(
    ...t.steps.map((s) =>
      el(
        "li",
        { "data-step": s.step, "data-status": s.status },
        el("span", { class: "step-name" }, STEP_LABEL[s.step] ?? s.step),
        el("span", { class: "step-status" }, STATUS_LABEL[s.status] ?? s.status),
        el("p", { class: "step-detail" }, ...stepDetail(s, t)),
      ),
    ),
  );
  ol.dataset.state = t.state;
  tickCountdowns();
  const note =
    t.state === "released"
      ? "Released: the tokens are on the destination chain."
      : t.state === "refused"
        ? "Refused: see the reason above."
        : t.etaSeconds !== undefined
          ? `Estimated time left: about ${duration(t.etaSeconds)}.`
          : "";
  $("progress-note").textContent = note;
  const current = t.steps.find((s) => s.status === "active" || s.status === "waiting" || s.status === "failed") ?? t.steps[t.steps.length - 1];
  announce(t.state === "released" ? "Transfer released." : t.state === "refused" ? `Transfer refused: ${t.steps.find((s) => s.step === "refused")?.reason ?? ""}` : `Step ${STEP_LABEL[current?.step ?? ""] ?? ""}: ${STATUS_LABEL[current?.status ?? ""] ?? ""}`);
}

async function follow(entry: HistoryEntry): Promise<void> {
  tracking?.abort();
  const ctl = new AbortController();
  tracking = ctl;
  $("progress-card").hidden = false;
  $("progress-title").textContent = `${entry.kind === "lock" ? "Lock" : "Burn"} of ${fmt(BigInt(entry.amount), entry.decimals)} ${entry.symbol} from chain ${entry.from} to chain ${entry.to}`;
  $("progress-note").textContent = "Waiting for the status API…";
  try {
    const t = await track(cfg.apiUrl, entry.txHash, {
      onUpdate: (u) => renderTransfer(u),
      intervalMs: 500,
      timeoutMs: 24 * 3600 * 1000,
      signal: ctl.signal,
      messageId: entry.messageId,
    });
    renderTransfer(t);
    updateHistory(entry.txHash, t.state);
    void refreshBalances();
  } catch (e) {
    if (ctl.signal.aborted) return;
    $("progress-note").textContent = `Tracking stopped: ${errorText(e)}`;
  }
}

// ---------------------------------------------------------------- balances

async function refreshBalances(): Promise<void> {
  const who = account;
  const tbody = $("balances").querySelector("tbody");
  if (tbody === null || who === undefined) return;
  const rows: HTMLElement[] = [];
  const ids = [...sides.keys()];
  for (const id of ids) {
    const s = side(id);
    const entries: [string, Address][] = [["ETH", ZERO], ...Object.entries(s.bridge.tokens)];
    for (const other of ids) {
      if (other === id) continue;
      try {
        const w = await wrappedTokens(s.client, s.bridge, side(other).bridge);
        s.bridge.wrapped = { ...(s.bridge.wrapped ?? {}), ...w };
        entries.push(...Object.entries(w));
      } catch {
        /* unreadable now */
      }
    }
    for (const [sym, a] of entries) {
      try {
        const [b, d] = await Promise.all([balanceOf(id, a, who), decimalsOf(id, a)]);
        rows.push(el("tr", { "data-chain": String(id), "data-token": sym }, el("td", {}, sym), el("td", {}, String(id)), el("td", { class: "num", "data-raw": b.toString() }, fmt(b, d))));
      } catch {
        rows.push(el("tr", {}, el("td", {}, sym), el("td", {}, String(id)), el("td", { class: "num" }, "cannot be read now")));
      }
    }
  }
  tbody.replaceChildren(...rows);
}

// ---------------------------------------------------------------- history

interface HistoryEntry {
  txHash: Hash;
  messageId: Hash;
  kind: "lock" | "burn";
  from: number;
  to: number;
  symbol: string;
  amount: string;
  decimals: number;
  recipient: Address;
  time: number;
  state?: string;
}

const historyKey = (): string => `ghostbridge:history:${(account ?? "").toLowerCase()}`;

function loadHistory(): HistoryEntry[] {
  if (account === undefined) return [];
  try {
    const v = JSON.parse(localStorage.getItem(historyKey()) ?? "[]") as unknown;
    return Array.isArray(v) ? (v as HistoryEntry[]) : [];
  } catch {
    return [];
  }
}

function saveHistory(e: HistoryEntry): void {
  const list = [e, ...loadHistory().filter((x) => x.txHash !== e.txHash)].slice(0, 50);
  localStorage.setItem(historyKey(), JSON.stringify(list));
  renderHistory();
}

function updateHistory(txHash: Hash, state: string): void {
  const list = loadHistory().map((x) => (x.txHash === txHash ? { ...x, state } : x));
  localStorage.setItem(historyKey(), JSON.stringify(list));
  renderHistory();
}

function renderHistory(): void {
  const ul = $("history");
  const list = loadHistory();
  if (list.length === 0) {
    ul.replaceChildren(el("li", { class: "muted" }, account === undefined ? "Connect an account to see its transfers." : "None yet."));
    return;
  }
  ul.replaceChildren(
    ...list.map((x) => {
      const b = el(
        "button",
        { type: "button", "data-tx": x.txHash },
        `${new Date(x.time * 1000).toLocaleString()}: ${x.kind} ${fmt(BigInt(x.amount), x.decimals)} ${x.symbol}, ${x.from} → ${x.to}${x.state ? ` (${x.state})` : ""} — tx ${short(x.txHash)}`,
      );
      b.addEventListener("click", () => {
        void follow(x);
        $("progress-h").scrollIntoView();
      });
      return el("li", {}, b);
    }),
  );
}

// ---------------------------------------------------------------- start

async function main(): Promise<void> {
  try {
    await loadConfig();
  } catch (e) {
    $("network").textContent = `Cannot load the bridge configuration: ${errorText(e)}`;
    return;
  }
  $("network").textContent = `${cfg.network === "devnet" ? "Local devnet" : "Network"}: chains ${[...sides.keys()].join(" and ")}.`;
  fillChains();
  if (cfg.devAccountKey !== undefined) {
    const b = $<HTMLButtonElement>("use-dev");
    b.hidden = false;
    b.addEventListener("click", connectDev);
  }
  discoverWallets();
  fromSel().addEventListener("change", () => {
    if (fromSel().value === toSel().value) {
      const other = [...sides.keys()].find((id) => String(id) !== fromSel().value);
      if (other !== undefined) toSel().value = String(other);
    }
    void refreshTokens();
  });
  toSel().addEventListener("change", () => {
    if (fromSel().value === toSel().value) {
      const other = [...sides.keys()].find((id) => String(id) !== toSel().value);
      if (other !== undefined) fromSel().value = String(other);
    }
    void refreshTokens();
  });
  tokenSel().addEventListener("change", () => void onFormChange());
  amountIn().addEventListener("input", () => void onFormChange());
  recipientIn().addEventListener("input", () => void onFormChange());
  $("transfer-form").addEventListener("submit", (ev) => void send(ev));
  $("refresh-balances").addEventListener("click", () => void refreshBalances());
  setInterval(tickCountdowns, 1000);
  await refreshTokens();
  renderHistory();
  document.body.dataset.ready = "true";
}

void main();
