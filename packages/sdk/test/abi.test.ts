import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type ContractFunctionArgs, type ContractFunctionName, encodeFunctionData, getAddress, toFunctionSelector } from "viem";
import { abis, bridgeVaultAbi } from "../src/index.js";
import { repoRoot, sdkRoot } from "./fixture.js";

const abiDir = join(repoRoot, "contracts/abi");
const generator = join(sdkRoot, "scripts/generate-abi.mjs");
const run = (...args: string[]) => spawnSync(process.execPath, [generator, ...args], { encoding: "utf8" });

describe("generated bindings", () => {
  it("are exactly contracts/abi/*.json, one per contract", () => {
    const names = readdirSync(abiDir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -5))
      .sort();
    assert.deepEqual(Object.keys(abis).sort(), names);
    for (const name of names) {
      const json = JSON.parse(readFileSync(join(abiDir, `${name}.json`), "utf8"));
      assert.deepEqual(abis[name as keyof typeof abis], json, name);
    }
  });

  it("type viem calls from the ABI", () => {
    const fn: ContractFunctionName<typeof bridgeVaultAbi, "payable"> = "lockNative";
    const args: ContractFunctionArgs<typeof bridgeVaultAbi, "nonpayable", "lock"> = [
      getAddress("0xa513E6E4b8f2a923D98304ec87F64353C4D5C853"),
      10n ** 18n,
      31338n,
      getAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
    ];
    // @ts-expect-error: no such function in the vault's ABI
    const missing: ContractFunctionName<typeof bridgeVaultAbi> = "lockEverything";
    // @ts-expect-error: `lock` takes a uint64 destination chain (bigint), not a string
    const wrong: ContractFunctionArgs<typeof bridgeVaultAbi, "nonpayable", "lock"> = [args[0], 1n, "31338", args[3]];
    void missing;
    void wrong;
    const data = encodeFunctionData({ abi: bridgeVaultAbi, functionName: "lock", args });
    assert.equal(data.slice(0, 10), toFunctionSelector("lock(address,uint256,uint64,address)"));
    assert.equal(fn, "lockNative");
  });

  it("the staleness check passes on the committed files", () => {
    const r = run("--check");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /matches contracts\/abi/);
  });

  it("the staleness check fails when an ABI changed and the bindings were not regenerated", () => {
    const tmp = mkdtempSync(join(tmpdir(), "sdk-abi-"));
    try {
      cpSync(abiDir, join(tmp, "abi"), { recursive: true });
      cpSync(join(sdkRoot, "src/generated"), join(tmp, "generated"), { recursive: true });
      const check = () => run("--check", "--abi-dir", join(tmp, "abi"), "--out-dir", join(tmp, "generated"));
      assert.equal(check().status, 0, check().stderr);

      const vault = join(tmp, "abi/BridgeVault.json");
      const abi = JSON.parse(readFileSync(vault, "utf8"));
      abi.push({ type: "error", name: "NewError", inputs: [] });
      writeFileSync(vault, JSON.stringify(abi, null, 1));
      const stale = check();
      assert.equal(stale.status, 1);
      assert.match(stale.stderr, /BridgeVault\.ts/);
      assert.match(stale.stderr, /errors\.ts/);

      assert.equal(run("--abi-dir", join(tmp, "abi"), "--out-dir", join(tmp, "generated")).status, 0);
      assert.equal(check().status, 0, "fresh after regenerating");

      writeFileSync(join(tmp, "generated/Stray.ts"), "export {};\n");
      assert.match(check().stderr, /not generated from any ABI: Stray\.ts/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
