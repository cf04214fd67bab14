// Browser tests of the bridge page against a running devnet (script/app-test.sh starts one):
// headless Chromium (/usr/bin/chromium, driven by playwright-core), the built-in dev account,
// real transfers, and the results read on-chain with viem, not only from the page.
//
// Env: APP_URL (the page, e.g. http://127.0.0.1:23124/), CHROMIUM (default /usr/bin/chromium),
// ARTIFACTS (screenshots; default app/test-artifacts), DOCS_SCREENSHOT (default docs/img/bridge-page.png).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createPublicClient, http, parseAbi, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bridgeMinterAbi as minterAbi } from "@ghostbridge/sdk";

const here = dirname(fileURLToPath(import.meta.url));
const APP_URL = process.env.APP_URL;
if (!APP_URL) throw new Error("set APP_URL to the page served by `ghostbridge devnet` (http://127.0.0.1:<port base+24>/)");
const ARTIFACTS = process.env.ARTIFACTS ?? join(here, "..", "test-artifacts");
const DOCS_SCREENSHOT = process.env.DOCS_SCREENSHOT ?? join(here, "..", "..", "docs", "img", "bridge-page.png");
mkdirSync(ARTIFACTS, { recursive: true });
for (const f of readdirSync(ARTIFACTS)) if (f.endsWith(".png")) rmSync(join(ARTIFACTS, f));
mkdirSync(dirname(DOCS_SCREENSHOT), { recursive: true });

const erc20 = parseAbi([
  "function balanceOf(address) view returns (uint256)",
  "function decimals() view returns (uint8)",
]);
const ZERO = "0x0000000000000000000000000000000000000000";

let cfg;
let user;
let clients;
let browser;
const requests = [];
let shot = 0;

async function screenshot(page, name) {
  shot += 1;
  await page.screenshot({ path: join(ARTIFACTS, `${String(shot).padStart(2, "0")}-${name}.png`), fullPage: true });
}

let shared; // one browser profile for the desktop tests: the history (localStorage) carries over

async function openPage(viewport) {
  const context = viewport === undefined ? (shared ??= await browser.newContext({ viewport: { width: 1100, height: 1000 } })) : await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("request", (r) => requests.push(r.url()));
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(APP_URL);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
  return { page, context, errors };
}

async function connectDev(page) {
  await page.getByRole("button", { name: "Use the built-in dev account" }).click();
  await page.waitForFunction((a) => document.querySelector("[data-testid=account-address]")?.textContent === a, user);
}

async function balance(chainId, token, who = user) {
  const c = clients[chainId];
  return token === ZERO ? c.getBalance({ address: who }) : c.readContract({ address: token, abi: erc20, functionName: "balanceOf", args: [who] });
}

const chainCfg = (id) => cfg.chains.find((c) => c.chainId === id);

async function wrappedOf(onChain, originChain, originToken) {
  return clients[onChain].readContract({
    address: chainCfg(onChain).deployment.minter,
    abi: minterAbi,
    functionName: "wrappedTokenOf",
    args: [BigInt(originChain), originToken],
  });
}

/** Fills the form; waits for the quote of these inputs. */
async function fillForm(page, { from, to, token, amount, recipient = "" }) {
  await page.getByLabel("From chain").selectOption(String(from));
  await page.getByLabel("To chain").selectOption(String(to));
  await page.waitForSelector(`#token option[value="${token}"]`, { state: "attached" });
  await page.getByLabel("Token").selectOption(token);
  await page.getByLabel("Recipient on the destination chain").fill(recipient);
  await page.getByLabel("Amount").fill(amount);
}

async function waitQuote(page) {
  await page.waitForSelector("[data-testid=quote-verdict]", { timeout: 15_000 });
  return page.locator("[data-testid=quote]").innerText();
}

/** Sends with the button and follows the steps to `released`, screenshotting each new set of step states. */
async function sendAndFollow(page, label, name, mid) {
  await page.getByRole("button", { name: label, exact: true }).click();
  const seen = [];
  const deadline = Date.now() + 90_000;
  let midTaken = false;
  for (;;) {
    const states = await page.$$eval("#steps li", (lis) => lis.map((li) => `${li.dataset.step}:${li.dataset.status}`).join(" "));
    if (states && states !== seen[seen.length - 1]) {
      seen.push(states);
      await screenshot(page, `${name}-step-${seen.length}`);
      if (mid && !midTaken && /^(locked|burned):done/.test(states) && !/released:done/.test(states)) {
        midTaken = true;
        await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: false });
      }
    }
    const state = await page.$eval("#steps", (e) => e.dataset.state ?? "");
    if (state === "released" || state === "refused") break;
    const note = await page.locator("[data-testid=form-message]").innerText();
    if (note) assert.fail(`not sent: ${note}`);
    if (Date.now() > deadline) assert.fail(`not released within 90 s; steps seen: ${seen.join(" | ")}`);
    await page.waitForTimeout(150);
  }
  return seen;
}

before(async () => {
  cfg = await (await fetch(new URL("config.json", APP_URL))).json();
  user = privateKeyToAccount(cfg.devAccountKey).address;
  clients = {};
  for (const c of cfg.chains) clients[c.chainId] = createPublicClient({ transport: http(c.rpcUrl) });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"], headless: true });
});

after(async () => {
  await browser?.close();
});

test("the dev account quotes and locks 1 GCC; the steps advance to released; wrapped GCC on 31338 grows by 1", async () => {
  const { page, context, errors } = await openPage();
  await screenshot(page, "lock-start");
  await connectDev(page);
  const gcc = chainCfg(31337).deployment.tokens.GCC;
  const wBefore = await wrappedOf(31338, 31337, gcc);
  const wrappedBefore = wBefore === ZERO ? 0n : await balance(31338, wBefore);
  const gccBefore = await balance(31337, gcc);

  await fillForm(page, { from: 31337, to: 31338, token: "lock:GCC", amount: "1" });
  const q = await waitQuote(page);
  assert.match(q, /Fits now\./);
  assert.match(q, /Fee\s+0\.001 GHOST/);
  assert.match(q, /Outbound limit\s+500,000 available — fits/);
  assert.match(q, /Estimated time\s+about \d+ s/);
  await screenshot(page, "lock-quote");

  const seen = await sendAndFollow(page, "Lock", "lock", true);
  assert.equal(await page.$eval("#steps", (e) => e.dataset.state), "released", `steps: ${seen.join(" | ")}`);
  for (const s of ["locked", "confirmations", "attested", "submitted", "released"]) {
    assert.equal(await page.$eval(`#steps li[data-step=${s}]`, (e) => e.dataset.status), "done", s);
  }
  assert.ok(seen.length >= 2, `the stepper showed progress, not only the end: ${seen.join(" | ")}`);
  const stepsText = await page.locator("#steps").innerText();
  assert.match(stepsText, /of 4 validators signed \(3 needed\)/);
  const lockTx = (await page.locator("[data-testid=tx-locked]").innerText()).split(" ")[0];
  assert.match(lockTx, /^0x[0-9a-f]{64}$/);
  assert.match(await page.locator("[data-testid=tx-submitted]").innerText(), /^0x[0-9a-f]{64} \(chain 31338\)$/);
  // The hash links to the status API's answer for it (the devnet has no explorer), which knows it.
  const link = await page.locator("a:has([data-testid=tx-locked])").getAttribute("href");
  assert.equal(link, `${cfg.apiUrl}/v1/transfers/${lockTx}`);
  const linked = await (await fetch(link)).json();
  assert.equal(linked.matched, "source_tx");
  assert.equal(linked.transfers[0].state, "released");
  const receipt = await clients[31337].getTransactionReceipt({ hash: lockTx });
  assert.equal(receipt.status, "success");
  assert.equal(receipt.from.toLowerCase(), user.toLowerCase());

  // On-chain, not from the page: exactly 1 GCC left the user on 31337, 1 wrapped GCC arrived on 31338.
  const w = await wrappedOf(31338, 31337, gcc);
  assert.notEqual(w, ZERO);
  assert.equal((await balance(31338, w)) - wrappedBefore, parseUnits("1", 18));
  assert.equal(gccBefore - (await balance(31337, gcc)), parseUnits("1", 18));

  assert.match(await page.locator("[data-testid=live]").innerText(), /released/i);
  const history = await page.locator("[data-testid=history]").innerText();
  assert.match(history, /lock 1 GCC, 31337 → 31338 \(released\)/);
  await screenshot(page, "lock-released");
  assert.deepEqual(errors, []);
  await (context === shared ? page.close() : context.close());
});

test("a burn of 0.5 wGCC goes back to 31337; a transfer reopens from the history", async () => {
  const { page, context, errors } = await openPage();
  await connectDev(page);
  const gcc = chainCfg(31337).deployment.tokens.GCC;
  const w = await wrappedOf(31338, 31337, gcc);
  assert.notEqual(w, ZERO, "the lock test runs first and creates wGCC");
  const [wBefore, gBefore] = [await balance(31338, w), await balance(31337, gcc)];

  await fillForm(page, { from: 31338, to: 31337, token: "burn:wGCC", amount: "0.5" });
  assert.equal(await page.getByRole("button", { name: "Burn", exact: true }).count(), 1);
  const q = await waitQuote(page);
  assert.match(q, /Burn wGCC on chain 31338, unlocked on chain 31337/);
  await screenshot(page, "burn-quote");
  await sendAndFollow(page, "Burn", "burn", false);
  assert.equal(await page.$eval("#steps", (e) => e.dataset.state), "released");
  assert.equal(await page.$eval("#steps li[data-step=burned]", (e) => e.dataset.status), "done");
  assert.equal(wBefore - (await balance(31338, w)), parseUnits("0.5", 18));
  assert.equal((await balance(31337, gcc)) - gBefore, parseUnits("0.5", 18));

  // The history (localStorage, per account) lists both; the lock reopens.
  const items = page.locator("[data-testid=history] button");
  assert.equal(await items.count(), 2);
  await items.filter({ hasText: "lock 1 GCC" }).click();
  await page.waitForFunction(() => document.querySelector("#progress-title")?.textContent?.startsWith("Lock of 1 GCC"));
  await page.waitForSelector("#steps[data-state=released] li[data-step=locked]");
  await screenshot(page, "history-reopened");
  // The balances table shows what the chain says.
  await page.getByRole("button", { name: "Refresh balances" }).click();
  const wNow = await balance(31338, w);
  await page.waitForFunction((v) => document.querySelector('#balances tr[data-chain="31338"][data-token="wGCC"] td[data-raw]')?.getAttribute("data-raw") === v, wNow.toString());
  assert.deepEqual(errors, []);
  await (context === shared ? page.close() : context.close());
});

test("an amount over the limits shows the rate-limit and the held wait in the quote; nothing is sent", async () => {
  const { page, context } = await openPage();
  await connectDev(page);
  const nonce = await clients[31337].getTransactionCount({ address: user });
  await fillForm(page, { from: 31337, to: 31338, token: "lock:GCC", amount: "600000" });
  let q = await waitQuote(page);
  assert.match(q, /Outbound limit\s+500,000 available — over the limit/);
  assert.match(q, /Rate-limited/);
  assert.match(q, /held 1 h at the destination; the guardian may cancel it during the hold/);
  await screenshot(page, "quote-rate-limited");
  // Within the outbound limit but large, and (after the lock above opened a release window on
  // 31338) over what is left of that window: the quote says it waits for the window, then is held.
  await page.getByLabel("Amount").fill("150000");
  await page.waitForFunction(() => /Rate-limited at the destination|Held:/.test(document.querySelector("[data-testid=quote-verdict]")?.textContent ?? ""));
  q = await page.locator("[data-testid=quote]").innerText();
  const api = await (await fetch(`${cfg.apiUrl}/v1/quote?from=31337&to=31338&token=GCC&amount=150000000000000000000000`)).json();
  assert.equal(api.is_large, true);
  assert.match(q, /Outbound limit\s+[\d,.]+ available — fits/);
  assert.match(q, /Large transfer\s+yes \(above 100,000\): held 1 h at the destination/);
  if (api.release_window.fits) {
    assert.match(q, /Held: released 1 h after it arrives\./);
    assert.match(q, /Estimated time\s+about 1 h/);
  } else {
    assert.match(q, /Release window\s+[\d,.]+ left in the destination's current window — over it; a new window opens at/);
    assert.match(q, /Rate-limited at the destination: the release waits until about .*, then it is held 1 h\./);
    assert.match(q, /Estimated time\s+about 1 h plus up to .* until the release window reopens/);
  }
  await screenshot(page, "quote-held");
  assert.equal(await clients[31337].getTransactionCount({ address: user }), nonce);
  await (context === shared ? page.close() : context.close());
});

test("refused inputs (0, too many decimals, not an address) show a clear message and send nothing", async () => {
  const { page, context } = await openPage();
  await connectDev(page);
  const nonceA = await clients[31337].getTransactionCount({ address: user });
  const send = page.getByRole("button", { name: "Lock", exact: true });
  const cases = [
    { amount: "0", recipient: "", field: "amount", msg: /the amount must be above zero/ },
    { amount: "1.0000000000000000001", recipient: "", field: "amount", msg: /too many decimals: this token has 18 \(got 19\)/ },
    { amount: "abc", recipient: "", field: "amount", msg: /"abc" is not a decimal amount/ },
    { amount: "1", recipient: "0x1234", field: "recipient", msg: /"0x1234" is not an address/ },
    { amount: "1", recipient: "bob", field: "recipient", msg: /"bob" is not an address/ },
  ];
  for (const c of cases) {
    await fillForm(page, { from: 31337, to: 31338, token: "lock:GCC", amount: c.amount, recipient: c.recipient });
    await send.click();
    await page.waitForFunction(() => (document.querySelector("[data-testid=form-message]")?.textContent ?? "") !== "");
    assert.match(await page.locator("[data-testid=form-message]").innerText(), /Nothing was sent/);
    assert.match(await page.locator(`[data-testid=${c.field}-error]`).innerText(), c.msg);
    const input = c.field === "amount" ? page.getByLabel("Amount") : page.getByLabel("Recipient on the destination chain");
    assert.equal(await input.getAttribute("aria-invalid"), "true");
    // The refused field gets the focus (keyboard users land on it).
    assert.equal(await page.evaluate(() => document.activeElement?.id), c.field);
    assert.equal(await page.locator("#progress-card").isHidden(), true);
  }
  await screenshot(page, "refused-input");
  await page.waitForTimeout(1500);
  assert.equal(await clients[31337].getTransactionCount({ address: user }), nonceA, "no transaction was sent on chain 31337");
  await (context === shared ? page.close() : context.close());
});

test("at 375 px: no horizontal scrolling, keyboard-operable, visible focus", async () => {
  const { page, context } = await openPage({ width: 375, height: 812 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 375 px`);
  // Tab to the dev-account button and press Enter.
  let focused = "";
  for (let i = 0; i < 10 && focused !== "use-dev"; i++) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement?.id ?? "");
  }
  assert.equal(focused, "use-dev");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none", "the focused control shows a focus ring");
  await page.keyboard.press("Enter");
  await page.waitForFunction((a) => document.querySelector("[data-testid=account-address]")?.textContent === a, user);
  // Every form control has a label.
  const unlabeled = await page.$$eval("input, select", (els) => els.filter((e) => e.labels === null || e.labels.length === 0).map((e) => e.id));
  assert.deepEqual(unlabeled, []);
  await page.getByLabel("Amount").fill("2");
  await waitQuote(page);
  const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow2 <= 0, `with a quote, the page scrolls sideways by ${overflow2}px at 375 px`);
  await screenshot(page, "mobile-375");
  await (context === shared ? page.close() : context.close());
});

test("an injected EIP-6963 wallet is discovered, switched to the source chain, and signs the lock of 2 SPIRIT", async () => {
  // A minimal wallet extension: announces itself (EIP-6963), answers accounts and chain id, switches
  // chains, and forwards everything else to the anvil of its current chain (anvil signs
  // eth_sendTransaction for its unlocked dev accounts). It starts on the wrong chain (31338).
  const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  const rpcs = Object.fromEntries(cfg.chains.map((c) => [c.chainId, c.rpcUrl]));
  await context.addInitScript(
    ({ rpcs, user }) => {
      let chainId = 31338;
      const calls = (window.__walletCalls = []);
      const provider = {
        async request({ method, params }) {
          calls.push(method);
          if (method === "eth_requestAccounts" || method === "eth_accounts") return [user];
          if (method === "eth_chainId") return `0x${chainId.toString(16)}`;
          if (method === "wallet_switchEthereumChain") {
            const id = parseInt(params[0].chainId, 16);
            if (!rpcs[id]) throw Object.assign(new Error("unknown chain"), { code: 4902 });
            chainId = id;
            return null;
          }
          const r = await fetch(rpcs[chainId], {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: calls.length, method, params: params ?? [] }),
          });
          const j = await r.json();
          if (j.error) throw Object.assign(new Error(j.error.message), { code: j.error.code, data: j.error.data });
          return j.result;
        },
        on() {},
        removeListener() {},
      };
      const info = { uuid: "5b0c7a41-test-wallet", name: "Test Wallet", icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E", rdns: "org.ghostbridge.testwallet" };
      const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
      window.addEventListener("eip6963:requestProvider", announce);
    },
    { rpcs, user },
  );
  const page = await context.newPage();
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(APP_URL);
  await page.waitForSelector("body[data-ready=true]");
  await page.getByRole("button", { name: "Connect Test Wallet" }).click();
  await page.waitForFunction((a) => document.querySelector("[data-testid=account-address]")?.textContent === a, user);
  assert.match(await page.locator("[data-testid=account]").innerText(), /\(Test Wallet\)/);
  const spirit = chainCfg(31337).deployment.tokens.SPIRIT;
  const wBefore = await wrappedOf(31338, 31337, spirit);
  const before = wBefore === ZERO ? 0n : await balance(31338, wBefore);
  await fillForm(page, { from: 31337, to: 31338, token: "lock:SPIRIT", amount: "2" });
  assert.match(await waitQuote(page), /Fits now\./);
  await sendAndFollow(page, "Lock", "wallet-lock", false);
  assert.equal(await page.$eval("#steps", (e) => e.dataset.state), "released");
  const calls = await page.evaluate(() => window.__walletCalls);
  assert.ok(calls.includes("wallet_switchEthereumChain"), `the page switched the wallet to 31337: ${calls.join(",")}`);
  assert.ok(calls.includes("eth_sendTransaction"), `the wallet sent the transactions: ${calls.join(",")}`);
  const w = await wrappedOf(31338, 31337, spirit);
  assert.equal((await balance(31338, w)) - before, parseUnits("2", 18));
  await screenshot(page, "wallet-released");
  await context.close();
});

test("a large lock (150,000 MANA) waits at the destination: the stepper shows the wait, its countdown and the guardian note", async () => {
  const { page } = await openPage();
  await connectDev(page);
  const mana = chainCfg(31337).deployment.tokens.MANA;
  const wm = await wrappedOf(31338, 31337, mana);
  const before = wm === ZERO ? 0n : await balance(31338, wm);
  const manaBefore = await balance(31337, mana);
  await fillForm(page, { from: 31337, to: 31338, token: "lock:MANA", amount: "150000" });
  const q = await waitQuote(page);
  assert.match(q, /Large transfer\s+yes \(above 100,000\): held 1 h/);
  await page.getByRole("button", { name: "Lock", exact: true }).click();
  await page.waitForSelector("#steps[data-state=waiting]", { timeout: 60_000 });
  const waiting = await page.$eval("#steps li[data-status=waiting]", (li) => ({ step: li.dataset.step, text: li.innerText }));
  if (waiting.step === "held") {
    assert.match(waiting.text, /held until \d\d:\d\d:\d\d — (59 min \d\d s|1 h 00 min 00 s) left\. The guardian may cancel it during the hold/);
  } else {
    assert.equal(waiting.step, "rate_limited");
    assert.match(waiting.text, /may proceed at \d\d:\d\d:\d\d — .* left; the relayer retries by itself/);
  }
  assert.match(await page.locator("#progress-note").innerText(), /Estimated time left: about/);
  await screenshot(page, `large-${waiting.step}`);
  // On-chain: the MANA is locked on 31337, and nothing was released on 31338 yet.
  assert.equal(manaBefore - (await balance(31337, mana)), parseUnits("150000", 18));
  const wmNow = await wrappedOf(31338, 31337, mana);
  assert.equal(wmNow === ZERO ? 0n : await balance(31338, wmNow), before);
  await page.close();
});

test("no request left 127.0.0.1", () => {
  assert.ok(requests.length > 10, `requests were recorded (${requests.length})`);
  const outside = requests.filter((u) => {
    if (u.startsWith("data:")) return false;
    const h = new URL(u).hostname;
    return h !== "127.0.0.1";
  });
  assert.deepEqual(outside, []);
});
