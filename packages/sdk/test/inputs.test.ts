import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InputError, chainFromDeployment, parseAmount, parseHash, parseRecipient } from "../src/index.js";

const refused = (f: () => unknown, field: string, message: RegExp) =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.match(e.message, message);
    return true;
  });

describe("parseAmount", () => {
  it("parses decimals into base units", () => {
    assert.equal(parseAmount("1", 18), 10n ** 18n);
    assert.equal(parseAmount("1.5", 18), 15n * 10n ** 17n);
    assert.equal(parseAmount("0.000000000000000001", 18), 1n);
    assert.equal(parseAmount(" 2 ", 6), 2_000_000n);
    assert.equal(parseAmount(".5", 1), 5n);
    assert.equal(parseAmount("1.", 2), 100n);
    assert.equal(parseAmount("007", 0), 7n);
    assert.equal(parseAmount("1.50", 1), 15n, "trailing zeros do not count as decimals");
    assert.equal(parseAmount("123456789.123456789", 9), 123456789123456789n);
  });
  it("refuses zero", () => {
    refused(() => parseAmount("0", 18), "amount", /above zero/);
    refused(() => parseAmount("0.000", 18), "amount", /above zero/);
    refused(() => parseAmount("00", 0), "amount", /above zero/);
  });
  it("refuses negatives and signs", () => {
    refused(() => parseAmount("-1", 18), "amount", /negative/);
    refused(() => parseAmount("-0.5", 18), "amount", /negative/);
    refused(() => parseAmount("+1", 18), "amount", /not a decimal amount/);
  });
  it("refuses too many decimals", () => {
    refused(() => parseAmount("0.0000000000000000001", 18), "amount", /too many decimals: this token has 18 \(got 19\)/);
    refused(() => parseAmount("1.5", 0), "amount", /no decimals/);
    refused(() => parseAmount("1.234", 2), "amount", /too many decimals/);
  });
  it("refuses garbage", () => {
    for (const t of ["", "   ", "abc", "1e18", "0x10", "1,000", "1_000", "1.2.3", ".", "1 000", "∞", "NaN", "1.5x"]) {
      assert.throws(() => parseAmount(t, 18), InputError, t);
    }
    refused(() => parseAmount("", 18), "amount", /enter an amount/);
  });
  it("refuses amounts above uint256 and bad decimals", () => {
    refused(() => parseAmount((1n << 256n).toString(), 0), "amount", /too large/);
    assert.equal(parseAmount(((1n << 256n) - 1n).toString(), 0), (1n << 256n) - 1n);
    refused(() => parseAmount("1", -1), "decimals", /decimals/);
    refused(() => parseAmount("1", 1.5), "decimals", /decimals/);
  });
});

describe("parseRecipient", () => {
  it("accepts lower, upper and checksummed case and returns the checksum", () => {
    const sum = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    assert.equal(parseRecipient(sum.toLowerCase()), sum);
    assert.equal(parseRecipient(`  ${sum}\n`), sum);
    assert.equal(parseRecipient("0x" + sum.slice(2).toUpperCase()), sum);
  });
  it("refuses a wrong checksum", () => {
    refused(() => parseRecipient("0x70997970c51812dc3A010C7d01b50e0d17dc79C8"), "recipient", /checksum/);
  });
  it("refuses non-addresses and the zero address", () => {
    for (const t of ["", "0x", "70997970c51812dc3a010c7d01b50e0d17dc79c8", "0x70997970c51812dc3a010c7d01b50e0d17dc79c", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8a", "0xg0997970c51812dc3a010c7d01b50e0d17dc79c8", "vitalik.eth"]) {
      assert.throws(() => parseRecipient(t), InputError, t);
    }
    refused(() => parseRecipient("0x0000000000000000000000000000000000000000"), "recipient", /zero address/);
    refused(() => parseRecipient("bob"), "recipient", /not an address/);
  });
});

describe("parseHash", () => {
  it("accepts 32-byte hex and refuses the rest", () => {
    assert.equal(parseHash("0x" + "AB".repeat(32)), "0x" + "ab".repeat(32));
    refused(() => parseHash("0x1234"), "hash", /32-byte/);
    refused(() => parseHash("junk"), "hash", /32-byte/);
  });
});

describe("chainFromDeployment", () => {
  // The shape script/Deploy.s.sol writes (vm.serialize*): checksummed addresses, numbers, tokens nested.
  const json = {
    chainId: 31337,
    verifier: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    feeManager: "0xa513E6E4b8f2a923D98304ec87F64353C4D5C853",
    vault: "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6",
    minter: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
    guardian: "0x0165878A594ca255338adfa4d48449f69242Eb8F",
    deployBlock: 7,
    tokens: { GCC: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9", GHOST: "0x0165878A594ca255338adfa4d48449f69242Eb8F", MANA: "0x0000000000000000000000000000000000000000" },
  };
  it("reads the forge deployment file (object or text)", () => {
    for (const input of [json, JSON.stringify(json)]) {
      const c = chainFromDeployment(input, "http://127.0.0.1:8545");
      assert.equal(c.chainId, 31337);
      assert.equal(c.rpcUrl, "http://127.0.0.1:8545");
      assert.equal(c.vault, json.vault);
      assert.equal(c.minter, json.minter);
      assert.equal(c.verifier, json.verifier);
      assert.equal(c.feeManager, json.feeManager);
      assert.equal(c.deployBlock, 7n);
      assert.deepEqual(c.tokens, { GCC: json.tokens.GCC, GHOST: json.tokens.GHOST }, "zero tokens are left out");
    }
  });
  it("refuses what is not a deployment", () => {
    refused(() => chainFromDeployment("{", "http://x"), "deployment", /not JSON/);
    refused(() => chainFromDeployment({ ...json, vault: undefined }, "http://x"), "deployment", /"vault"/);
    refused(() => chainFromDeployment({ ...json, minter: "0x12" }, "http://x"), "deployment", /"minter" is not an address/);
    refused(() => chainFromDeployment({ ...json, chainId: "x" }, "http://x"), "deployment", /chainId/);
    refused(() => chainFromDeployment(json, "127.0.0.1:8545"), "deployment", /RPC URL/);
  });
});
