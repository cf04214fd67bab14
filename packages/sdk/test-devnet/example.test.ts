// The top-level README's SDK example (examples/lock-and-track.ts) runs as written against the
// devnet: it locks 1 GCC, prints the steps as they change and ends with "released"; the
// recipient's wrapped GCC on chain B rises by exactly 1.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseEther } from "viem";
import { wrappedTokens } from "../src/index.js";
import { devnet } from "./devnet.js";
import { ghostTokenAbi } from "../src/generated/index.js";

// dist/test-devnet/example.test.js -> the package root.
const sdkRoot = join(import.meta.dirname, "..", "..");

describe("README example", () => {
  it("examples/lock-and-track.ts locks 1 GCC and tracks it to released", async () => {
    const d = devnet();
    const wrapped = await wrappedTokens(d.pb, d.b, d.a);
    const wgcc = wrapped.wGCC;
    assert.ok(wgcc !== undefined, "wGCC exists on chain B");
    const before = await d.pb.readContract({ address: wgcc, abi: ghostTokenAbi, functionName: "balanceOf", args: [d.me] });
    const r = spawnSync(process.execPath, [join(sdkRoot, "dist/examples/lock-and-track.js")], {
      cwd: sdkRoot,
      env: { ...process.env, GHOSTBRIDGE_DEVNET_DIR: d.dir, GHOSTBRIDGE_DEVNET_PORT_BASE: String(d.base) },
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.at(-1), "released");
    // The steps it printed (how many depends on where the polls fall) end with all of them done.
    assert.equal(lines.at(-2), "locked:done confirmations:done attested:done submitted:done released:done", r.stdout);
    const after = await d.pb.readContract({ address: wgcc, abi: ghostTokenAbi, functionName: "balanceOf", args: [d.me] });
    assert.equal(after - before, parseEther("1"));
  });
});
