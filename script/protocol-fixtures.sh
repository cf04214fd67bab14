#!/usr/bin/env bash
# The shared bridge-protocol fixtures, each read by the Rust core, the contracts
# (contracts/test/ProtocolFixtures.t.sol) and the TypeScript SDK's tests (packages/sdk):
#
# contracts/test/fixtures/protocol/bridge.json — vectors (message ids, EIP-712 digests, batch
#   Merkle roots and proofs, signer-set hashes) computed by the Rust core from FIXED inputs through
#   core/examples/protocol_fixtures.rs: deterministic.
#     ./script/protocol-fixtures.sh           regenerates it
#     ./script/protocol-fixtures.sh --check   regenerates into a temporary file and fails if the
#                                             committed one differs (CI)
#
# contracts/test/fixtures/protocol/devnet-run.json — a REAL devnet run captured from the chains
#   by cli/examples/protocol_devnet_fixture.rs: it starts a devnet in-process (ports 23400-23460
#   unless GHOSTBRIDGE_FIXTURE_PORT_BASE says otherwise; scratch dir deployments/fixture-run,
#   removed on success), sends a 1 GCC lock A→B, a native ETH lock A→B, a wrapped-GCC burn B→A
#   and a burst of 8 locks and 8 burns that the relayer releases as batches, then writes the
#   messages and ids the contracts emitted and the attestations (signers, (r, vs) signatures),
#   batch roots and Merkle proofs the relayer's release transactions carried, with each
#   verifier's domain, digests and validator set. Each side recomputes and checks it:
#   core/tests/protocol_devnet_fixture.rs, ProtocolFixtures.t.sol test_devnetRun_*, the SDK's
#   "captured devnet run" tests.
#     ./script/protocol-fixtures.sh --devnet  re-captures it (a new run: new transaction hashes,
#                                             so it is NOT part of --check; commit the new file)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GHOSTBRIDGE_ROOT"
committed=contracts/test/fixtures/protocol/bridge.json
if [ "${1:-}" = "--devnet" ]; then
  # The daemons the devnet starts are the ghostbridge binary next to the example.
  cargo build -q --locked -p ghostbridge-cli --bin ghostbridge --example protocol_devnet_fixture
  cargo run -q --locked -p ghostbridge-cli --example protocol_devnet_fixture -- \
    contracts/test/fixtures/protocol/devnet-run.json
  exit 0
fi
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
