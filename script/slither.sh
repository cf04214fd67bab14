#!/usr/bin/env bash
# Slither (pinned in script/requirements-slither.txt, installed into .venv by install-toolchain.sh)
# over contracts/src, checked against the committed triage file contracts/slither-triage.json:
# a finding nobody has triaged (new code) or a triaged finding that is gone fails the run.
# Builds contracts/src afresh into a temporary directory (forge's incremental out/ can hold
# build-info that no longer matches its outputs, and Slither must not rewrite out/).
#
#   ./script/slither.sh            check
#   ./script/slither.sh --update   add new findings as "untriaged" (write their verdict and why)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GHOSTBRIDGE_ROOT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
report=$tmp/report.json log=$tmp/slither.log
FOUNDRY_OUT=$tmp/out FOUNDRY_CACHE_PATH=$tmp/cache \
  forge build --build-info --skip './contracts/test/**' './script/**' --force -q
# Slither exits non-zero whenever it finds anything: the triage below decides.
.venv/bin/slither . --ignore-compile --foundry-out-directory "$tmp/out" --filter-paths "node_modules|contracts/test|script/" \
  --json "$report" >"$log" 2>&1 || true
if [ ! -s "$report" ]; then
  cat "$log" >&2
  echo "slither produced no report" >&2
  exit 1
fi
python3 script/slither-triage.py "$report" contracts/slither-triage.json ${1:+"$1"}
