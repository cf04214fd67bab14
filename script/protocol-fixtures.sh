#!/usr/bin/env bash
# Regenerates the shared bridge-protocol fixture (contracts/test/fixtures/protocol/bridge.json:
# message ids, EIP-712 digests, batch Merkle roots and proofs) from the Rust core through
# core/examples/protocol_fixtures.rs (fixed inputs: deterministic). contracts/test/ProtocolFixtures.t.sol
# and the TypeScript SDK's tests (packages/sdk) read this one file. `--check` regenerates into a
# temporary file and fails if the committed one differs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GHOSTBRIDGE_ROOT"
committed=contracts/test/fixtures/protocol/bridge.json
out=$committed
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp)
  trap 'rm -f "$out"' EXIT
fi
mkdir -p "$(dirname "$committed")"
cargo run -q --locked -p ghostbridge-core --example protocol_fixtures -- "$out"
if [ "${1:-}" = "--check" ]; then
  if ! diff -q "$committed" "$out" >/dev/null; then
    diff "$committed" "$out" | head -20
    echo "$committed is stale: run ./script/protocol-fixtures.sh and commit" >&2
    exit 1
  fi
  echo "$committed matches the Rust core"
else
  echo "wrote $committed"
fi
