#!/usr/bin/env bash
# Regenerates the GhostPlane settlement fixtures (contracts/test/fixtures/ghostplane/*.json) that
# the Rollup's forge tests read, by driving the real Zig engine through
# sequencer/examples/ghostplane_fixtures.rs (fixed keys, no randomness: the output is
# deterministic). `--check` regenerates into a temporary directory and fails if the committed
# files differ.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GHOSTBRIDGE_ROOT"
committed=contracts/test/fixtures/ghostplane
dir=$committed
if [ "${1:-}" = "--check" ]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
cargo run -q --locked -p ghostbridge-sequencer --example ghostplane_fixtures -- "$dir" >/dev/null
if [ "${1:-}" = "--check" ]; then
  if ! diff -r -q "$committed" "$dir" >/dev/null; then
    diff -r -q "$committed" "$dir" | head -20
    echo "$committed is stale: run ./script/ghostplane-fixtures.sh and commit" >&2
    exit 1
  fi
  echo "$committed matches the engine"
else
  ls -l "$dir"
fi
