#!/usr/bin/env bash
# Writes the ABI of every deployable contract from forge's artifacts to contracts/abi/*.json, the
# one input of the Rust `sol!` bindings. `--check` fails if the committed files are stale, so the
# Solidity sources stay the single source of truth (run by script/test.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GHOSTBRIDGE_ROOT"
forge build -q
dir=contracts/abi
[ "${1:-}" = "--check" ] && dir=$(mktemp -d)
mkdir -p "$dir"
for c in AttestationVerifier BridgeVault BridgeMinter WrappedToken FeeManager GhostToken BridgeGuardian \
  GhostPlanePortal GhostPlaneRollup; do
  python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["abi"], indent=1, sort_keys=True))' \
    "out/$c.sol/$c.json" > "$dir/$c.json"
done
if [ "${1:-}" = "--check" ]; then
  if ! diff -r -q contracts/abi "$dir" >/dev/null; then
    diff -r contracts/abi "$dir" | head -20
    echo "contracts/abi is stale: run ./script/export-abi.sh and commit" >&2
    exit 1
  fi
  echo "contracts/abi matches the Solidity sources"
fi
