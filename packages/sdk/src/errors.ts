// The contracts' custom errors as typed values: revert data (or any error viem throws for a
// reverted call) decoded against every error of the bridge's ABIs (src/generated/errors.ts).
import {
  type AbiParameter,
  type AbiParameterToPrimitiveType,
  type Hex,
  decodeErrorResult,
  isHex,
  toFunctionSelector,
} from "viem";
import { bridgeErrorsAbi, errorContracts } from "./generated/errors.js";

type ErrorItem = (typeof bridgeErrorsAbi)[number];

/** The name of a custom error of the contracts (plus `Error` and `Panic`). */
export type BridgeErrorName = ErrorItem["name"];

type NamedValues<E> = E extends { inputs: readonly (infer P extends AbiParameter)[] }
  ? { readonly [Q in P as Q["name"] & string]: AbiParameterToPrimitiveType<Q> }
  : never;

/**
 * An error's values by parameter name, typed from the ABI: `RateLimited` has
 * `{ token: Address; chainId: bigint; requested: bigint; available: bigint; retryAfterSeconds: bigint }`.
 * A name declared with two signatures (`ZeroAmount()` / `ZeroAmount(address)`) is a union.
 */
export type BridgeErrorValues<N extends BridgeErrorName = BridgeErrorName> = NamedValues<
  Extract<ErrorItem, { name: N }>
>;

const signatureOf = (item: ErrorItem): string =>
  `${item.name}(${item.inputs.map((p: { type: string }) => p.type).join(",")})`;

/** A revert of a bridge contract, decoded: `errorName` discriminates, `values` are typed. */
export class BridgeContractError<N extends BridgeErrorName = BridgeErrorName> extends Error {
  override readonly name = "BridgeContractError";
  /** The Solidity error's name, e.g. `"RateLimited"`. */
  readonly errorName: N;
  /** Its canonical signature, e.g. `"RateLimited(address,uint64,uint256,uint256,uint256)"`. */
  readonly signature: string;
  /** The 4-byte selector. */
  readonly selector: Hex;
  /** The values by parameter name. */
  readonly values: BridgeErrorValues<N>;
  /** The values in declaration order. */
  readonly args: readonly unknown[];
  /** The contracts whose ABI declares this error (empty for `Error` / `Panic`). */
  readonly contracts: readonly string[];
  /** The raw revert data. */
  readonly data: Hex;

  constructor(fields: {
    errorName: N;
    signature: string;
    values: BridgeErrorValues<N>;
    args: readonly unknown[];
    contracts: readonly string[];
    data: Hex;
    cause?: unknown;
  }) {
    const shown = Object.entries(fields.values as Record<string, unknown>)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ");
    super(`${fields.errorName}(${shown})`, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.errorName = fields.errorName;
    this.signature = fields.signature;
    this.selector = toFunctionSelector(fields.signature);
    this.values = fields.values;
    this.args = fields.args;
    this.contracts = fields.contracts;
    this.data = fields.data;
  }

  /** Narrows to one error: `if (e.is("RateLimited")) e.values.retryAfterSeconds`. */
  is<M extends BridgeErrorName>(name: M): this is BridgeContractError<M> {
    return (this.errorName as BridgeErrorName) === name;
  }
}

/** Any decoded bridge error, discriminated by `errorName`. */
export type AnyBridgeContractError = { [N in BridgeErrorName]: BridgeContractError<N> }[BridgeErrorName];

/**
 * Decodes revert data into a typed error, or `undefined` when its selector is none of the
 * bridge's errors (or the data is not revert data at all).
 */
export function decodeBridgeError(data: Hex, cause?: unknown): AnyBridgeContractError | undefined {
  if (!isHex(data) || data.length < 10) return undefined;
  let decoded;
  try {
    decoded = decodeErrorResult({ abi: bridgeErrorsAbi, data });
  } catch {
    return undefined;
  }
  const item = decoded.abiItem as ErrorItem;
  const signature = signatureOf(item);
  const args = (decoded.args ?? []) as readonly unknown[];
  const values: Record<string, unknown> = {};
  item.inputs.forEach((p: { name: string }, i: number) => {
    values[p.name] = args[i];
  });
  const contracts = (errorContracts as Record<string, readonly string[]>)[signature] ?? [];
  return new BridgeContractError({
    errorName: item.name,
    signature,
    values: values as BridgeErrorValues,
    args,
    contracts,
    data,
    cause,
  }) as AnyBridgeContractError;
}

/** The revert data inside an error viem (or a JSON-RPC node) threw, walking its `cause` chain. */
export function revertDataOf(error: unknown): Hex | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== null && typeof current === "object" && !seen.has(current)) {
    seen.add(current);
    const e = current as { raw?: unknown; data?: unknown; error?: unknown; cause?: unknown };
    for (const candidate of [e.raw, e.data, (e.data as { data?: unknown } | undefined)?.data]) {
      if (typeof candidate === "string" && isHex(candidate) && candidate.length >= 10) return candidate;
    }
    current = e.cause ?? e.error;
  }
  return undefined;
}

/**
 * The typed bridge error behind anything a contract call threw (`simulateContract`,
 * `writeContract`, `estimateGas`, a raw RPC error), or `undefined` if it is not a bridge revert.
 */
export function toBridgeError(error: unknown): AnyBridgeContractError | undefined {
  if (error instanceof BridgeContractError) return error as AnyBridgeContractError;
  const data = revertDataOf(error);
  return data === undefined ? undefined : decodeBridgeError(data, error);
}
