// @ghostbridge/sdk: typed contract bindings, the wire protocol and decoded errors, on viem.
export * from "./generated/index.js";
export * from "./protocol.js";
export * from "./errors.js";
