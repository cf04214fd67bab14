import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadFixture, repoRoot, sdkRoot } from "./fixture.js";

describe("README example", () => {
  it("is examples/usage.ts, which tsc typechecks", () => {
    const readme = readFileSync(join(sdkRoot, "README.md"), "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(readme);
    assert.ok(block, "README.md has a ```ts block");
    assert.equal(block[1], readFileSync(join(sdkRoot, "examples/usage.ts"), "utf8"));
  });

  it("runs as written (the package imported by its name) and prints the fixture's message id", () => {
    const env = { ...process.env };
    delete env.GHOSTBRIDGE_RPC_URL;
    const r = spawnSync(process.execPath, [join(sdkRoot, "dist/examples/usage.js")], { cwd: sdkRoot, env, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { id: string; error: string; selector: string; proof: string[] };
    const lock = loadFixture().messages.find((m) => m.name.startsWith("lock 1 GCC"));
    assert.equal(out.id, lock?.id);
    assert.equal(out.error, "ZeroAmount");
    assert.equal(out.proof.length, 1);
  });

  it("the repository README's SDK example is examples/lock-and-track.ts (run against a devnet by test:devnet)", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const example = readFileSync(join(sdkRoot, "examples/lock-and-track.ts"), "utf8");
    assert.ok(readme.includes("```ts\n" + example + "```"), "README.md shows examples/lock-and-track.ts verbatim in a ```ts block");
  });
});
