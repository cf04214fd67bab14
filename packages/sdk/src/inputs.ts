// Input validation for what a user types (an amount, a recipient) and for the arguments of the
// high-level calls: everything refused here is refused before any request or transaction.
import { type Address, type Hash, getAddress, isAddress } from "viem";

/** Which input was refused. */
export type InputField = "amount" | "recipient" | "decimals" | "token" | "chain" | "hash" | "wallet" | "deployment" | "balance";

/** A refused input: nothing was sent. `field` says which one, `message` says why in plain words. */
export class InputError extends Error {
  override readonly name = "InputError";
  readonly field: InputField;
  constructor(field: InputField, message: string) {
    super(message);
    this.field = field;
  }
}

const MAX_UINT256 = (1n << 256n) - 1n;
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/**
 * Parses a decimal amount typed by a user (`"1"`, `"1.5"`, `"0.001"`, `" 2 "`) into base units
 * of a token with `decimals` decimals (`parseAmount("1.5", 18) === 1500000000000000000n`).
 * Refused with an `InputError`: empty text, zero, a sign (`-1`, `+1`), an exponent (`1e18`), hex,
 * separators (`1,000`, `1_000`), more than one point, more fractional digits than `decimals`
 * (trailing zeros do not count: `"1.50"` is fine with 1 decimal), above 2^256 - 1.
 */
export function parseAmount(text: string, decimals: number): bigint {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 77) {
    throw new InputError("decimals", `decimals must be a whole number from 0 to 77, not ${String(decimals)}`);
  }
  if (typeof text !== "string") throw new InputError("amount", "the amount must be text");
  const t = text.trim();
  if (t === "") throw new InputError("amount", "enter an amount");
  if (t.startsWith("-")) throw new InputError("amount", "the amount cannot be negative");
  const m = /^(\d*)(?:\.(\d*))?$/.exec(t);
  if (m === null || (m[1] === "" && (m[2] ?? "") === "")) {
    throw new InputError("amount", `"${clip(t)}" is not a decimal amount (digits with at most one ".", e.g. 1.5)`);
  }
  const whole = m[1] === "" ? "0" : (m[1] ?? "0");
  const frac = (m[2] ?? "").replace(/0+$/, "");
  if (frac.length > decimals) {
    throw new InputError(
      "amount",
      decimals === 0
        ? "this token has no decimals: enter a whole number"
        : `too many decimals: this token has ${decimals} (got ${frac.length})`,
    );
  }
  const value = BigInt(whole) * 10n ** BigInt(decimals) + (frac === "" ? 0n : BigInt(frac.padEnd(decimals, "0")));
  if (value === 0n) throw new InputError("amount", "the amount must be above zero");
  if (value > MAX_UINT256) throw new InputError("amount", "the amount is too large");
  return value;
}

/**
 * Parses a recipient address: `0x` and 40 hex digits (surrounding spaces ignored). All lower or
 * all upper case is accepted; mixed case must be a valid EIP-55 checksum (a mistyped character
 * is caught). The zero address is refused (the contracts would revert `ZeroAddress`, and tokens
 * sent there are lost). Returns the checksummed address.
 */
export function parseRecipient(text: string): Address {
  if (typeof text !== "string") throw new InputError("recipient", "the recipient must be text");
  const t = text.trim();
  if (t === "") throw new InputError("recipient", "enter a recipient address");
  if (!/^0x[0-9a-fA-F]{40}$/.test(t)) {
    throw new InputError("recipient", `"${clip(t)}" is not an address (0x followed by 40 hex digits)`);
  }
  if (!checksumOk(t)) {
    throw new InputError("recipient", `${t} has a wrong checksum (a mistyped character?)`);
  }
  if (t.toLowerCase() === ZERO_ADDRESS) throw new InputError("recipient", "the zero address cannot receive");
  return getAddress(t);
}

/** A transaction hash or message id: `0x` + 64 hex digits. */
export function parseHash(text: string): Hash {
  const t = typeof text === "string" ? text.trim() : "";
  if (!/^0x[0-9a-fA-F]{64}$/.test(t)) {
    throw new InputError("hash", `"${clip(t)}" is not a 0x-prefixed 32-byte hash (tx hash or message id)`);
  }
  return t.toLowerCase() as Hash;
}

/** Checks a bigint amount argument (above zero, at most 2^256 - 1). */
export function checkAmount(amount: bigint): bigint {
  if (typeof amount !== "bigint") throw new InputError("amount", "the amount must be a bigint of base units");
  if (amount <= 0n) throw new InputError("amount", "the amount must be above zero");
  if (amount > MAX_UINT256) throw new InputError("amount", "the amount is too large");
  return amount;
}

/** Checks an address argument (any case; checksum enforced when mixed case); `allowZero` for tokens. */
export function checkAddress(a: string, field: InputField, allowZero = false): Address {
  if (typeof a !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(a) || !checksumOk(a)) {
    throw new InputError(field, `"${clip(String(a))}" is not an address`);
  }
  if (!allowZero && a.toLowerCase() === ZERO_ADDRESS) throw new InputError(field, "the zero address is not allowed here");
  return getAddress(a);
}

/** Checks a chain id argument (a positive safe integer). */
export function checkChainId(id: number, what = "chain id"): number {
  if (!Number.isSafeInteger(id) || id <= 0) throw new InputError("chain", `${what} must be a positive integer, not ${String(id)}`);
  return id;
}

/** One-case hex carries no checksum; mixed case must be EIP-55. */
function checksumOk(a: string): boolean {
  const body = a.slice(2);
  if (body === body.toLowerCase() || body === body.toUpperCase()) return true;
  return isAddress(a, { strict: true });
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
