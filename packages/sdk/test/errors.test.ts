import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BaseError,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  type Hex,
  concat,
  encodeAbiParameters,
  encodeErrorResult,
  getAddress,
  keccak256,
  slice,
  toHex,
} from "viem";
import {
  BridgeContractError,
  bridgeErrorsAbi,
  bridgeVaultAbi,
  decodeBridgeError,
  errorContracts,
  revertDataOf,
  toBridgeError,
} from "../src/index.js";

// Revert data built without the SDK or viem's ABI coder for errors: the selector is the first 4
// bytes of keccak256 of the Solidity signature, then the ABI-encoded values.
const selector = (signature: string): Hex => slice(keccak256(toHex(signature)), 0, 4);
const token = getAddress("0xa513E6E4b8f2a923D98304ec87F64353C4D5C853");
const rateLimited: Hex = concat([
  selector("RateLimited(address,uint64,uint256,uint256,uint256)"),
  encodeAbiParameters(
    [{ type: "address" }, { type: "uint64" }, { type: "uint256" }, { type: "uint256" }, { type: "uint256" }],
    [token, 31338n, 10n ** 21n, 5n * 10n ** 20n, 3600n],
  ),
]);

describe("decodeBridgeError", () => {
  it("decodes RateLimited into typed values by name", () => {
    const e = decodeBridgeError(rateLimited);
    assert.ok(e instanceof BridgeContractError);
    assert.ok(e.is("RateLimited"));
    // Typed: `values.retryAfterSeconds` is a bigint, `values.token` an Address.
    const seconds: bigint = e.values.retryAfterSeconds;
    const t: `0x${string}` = e.values.token;
    // @ts-expect-error: RateLimited has no `nonce`
    void e.values.nonce;
    assert.equal(seconds, 3600n);
    assert.equal(t, token);
    assert.deepEqual(e.values, {
      token,
      chainId: 31338n,
      requested: 10n ** 21n,
      available: 5n * 10n ** 20n,
      retryAfterSeconds: 3600n,
    });
    assert.deepEqual(e.args, [token, 31338n, 10n ** 21n, 5n * 10n ** 20n, 3600n]);
    assert.equal(e.signature, "RateLimited(address,uint64,uint256,uint256,uint256)");
    assert.equal(e.selector, slice(rateLimited, 0, 4));
    assert.deepEqual([...e.contracts].sort(), ["BridgeMinter", "BridgeVault"]);
    assert.equal(e.data, rateLimited);
    assert.match(e.message, /^RateLimited\(token=0x[0-9a-fA-F]{40}, chainId=31338, .*retryAfterSeconds=3600\)$/);
  });

  it("narrows on errorName", () => {
    const e = decodeBridgeError(concat([selector("StillHeld(bytes32,uint64)"), encodeAbiParameters(
      [{ type: "bytes32" }, { type: "uint64" }],
      [keccak256(toHex("id")), 1_700_000_000n],
    )]));
    assert.ok(e);
    if (e.errorName !== "StillHeld") assert.fail(`decoded ${e.errorName}`);
    assert.equal(e.values.releaseAt, 1_700_000_000n);
    assert.equal(e.values.messageId, keccak256(toHex("id")));
  });

  it("tells apart two errors of one name (ZeroAmount() of the vault, ZeroAmount(address) of the portal)", () => {
    const vault = decodeBridgeError(selector("ZeroAmount()"));
    assert.ok(vault?.is("ZeroAmount"));
    assert.deepEqual(vault.values, {});
    assert.ok(vault.contracts.includes("BridgeVault"));
    const portal = decodeBridgeError(
      concat([selector("ZeroAmount(address)"), encodeAbiParameters([{ type: "address" }], [token])]),
    );
    assert.ok(portal?.is("ZeroAmount"));
    assert.deepEqual(portal.values, { token });
    assert.deepEqual(portal.contracts, ["GhostPlanePortal"]);
  });

  it("decodes Solidity's Error(string) and Panic(uint256)", () => {
    const reason = decodeBridgeError(
      concat([selector("Error(string)"), encodeAbiParameters([{ type: "string" }], ["nope"])]),
    );
    assert.ok(reason?.is("Error"));
    assert.equal(reason.values.message, "nope");
    const panic = decodeBridgeError(concat([selector("Panic(uint256)"), encodeAbiParameters([{ type: "uint256" }], [0x11n])]));
    assert.ok(panic?.is("Panic"));
    assert.equal(panic.values.code, 0x11n);
  });

  it("every error of every ABI round-trips through viem's encoder", () => {
    assert.ok(bridgeErrorsAbi.length > 100, `${bridgeErrorsAbi.length} errors`);
    for (const item of bridgeErrorsAbi) {
      const args = item.inputs.map((p) => sample(p.type));
      const data = encodeErrorResult({ abi: [item], errorName: item.name, args } as never);
      const e = decodeBridgeError(data);
      assert.ok(e, item.name);
      assert.equal(e.errorName, item.name);
      assert.deepEqual(e.args, args, item.name);
      assert.ok(item.name === "Error" || item.name === "Panic" || e.contracts.length > 0, item.name);
    }
    assert.equal(Object.keys(errorContracts).length, bridgeErrorsAbi.length);
  });

  it("returns undefined for an unknown selector, empty or short data", () => {
    assert.equal(decodeBridgeError("0xdeadbeef"), undefined);
    assert.equal(decodeBridgeError("0x"), undefined);
    assert.equal(decodeBridgeError("0x1234"), undefined);
  });
});

describe("toBridgeError", () => {
  it("finds the revert data in viem's contract-call error", () => {
    const reverted = new ContractFunctionRevertedError({ abi: bridgeVaultAbi, data: rateLimited, functionName: "lock" });
    const thrown = new ContractFunctionExecutionError(reverted, {
      abi: bridgeVaultAbi,
      functionName: "lock",
      args: [token, 10n ** 21n, 31338n, token],
    });
    assert.equal(revertDataOf(thrown), rateLimited);
    const e = toBridgeError(thrown);
    assert.ok(e?.is("RateLimited"));
    assert.equal(e.values.available, 5n * 10n ** 20n);
    assert.equal(e.cause, thrown);
  });

  it("finds it in a JSON-RPC error (eth_estimateGas / eth_call: code 3, data)", () => {
    const rpc = new BaseError("execution reverted", {
      cause: Object.assign(new Error("execution reverted"), { code: 3, data: rateLimited }),
    });
    assert.ok(toBridgeError(rpc)?.is("RateLimited"));
    assert.ok(toBridgeError({ error: { code: 3, message: "execution reverted", data: { data: rateLimited } } })?.is("RateLimited"));
  });

  it("returns undefined for anything that is not a bridge revert", () => {
    assert.equal(toBridgeError(new Error("network down")), undefined);
    assert.equal(toBridgeError(undefined), undefined);
    assert.equal(toBridgeError({ data: "0xdeadbeef" }), undefined);
  });
});

function sample(type: string): unknown {
  if (type === "address") return token;
  if (type === "bool") return true;
  if (type === "string") return "why";
  if (type === "bytes32") return keccak256(toHex(type));
  // viem decodes integers of at most 48 bits as numbers, wider ones as bigints.
  const bits = /^u?int(\d+)$/.exec(type);
  if (bits) {
    const value = type.startsWith("u") ? 42 : -42;
    return Number(bits[1]) <= 48 ? value : BigInt(value);
  }
  throw new Error(`no sample for ${type}`);
}
