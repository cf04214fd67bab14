// @ghostbridge/sdk: typed contract bindings, the wire protocol and decoded errors, on viem;
// input parsing, the status API (quote, track) and the high-level lock/burn calls.
export * from "./generated/index.js";
export * from "./protocol.js";
export * from "./errors.js";
export * from "./inputs.js";
export * from "./deployment.js";
export * from "./status.js";
export * from "./bridge.js";
export * from "./ghostplane.js";
