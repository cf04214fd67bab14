#!/usr/bin/env bash
# Installs every pinned tool the project needs, from package registries only:
# forge/anvil/cast + solcjs + OpenZeppelin (npm, package-lock.json), the TypeScript SDK's viem and
# typescript (npm, packages/sdk/package-lock.json), zig (PyPI ziglang, .venv).
# Idempotent: a second run only checks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GHOSTBRIDGE_ROOT"

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required ($2)" >&2; exit 1; }; }
need cargo "install Rust stable with rustup"
need npm "install Node.js 20+ with npm"
need python3 "install Python 3.10+"

ZIG_VERSION=0.17.1
# npm's own node_modules/.package-lock.json never equals package-lock.json (it is a different
# format), so the up-to-date check is a stamp of the lockfile written after a successful `npm ci`:
# a second run must not reinstall the binaries under a running chain.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.ghostbridge-package-lock.sha256
if [ ! -x node_modules/.bin/forge ] || [ ! -x node_modules/.bin/anvil ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  echo "==> npm ci (foundry 1.7.1, solc 0.8.37, @openzeppelin/contracts 5.7.0)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" >"$stamp"
fi
# The SDK has its own lockfile and its own stamp: an SDK dependency bump never reinstalls the
# foundry binaries above.
sdk_sum=$(sha256sum packages/sdk/package-lock.json | cut -d' ' -f1)
sdk_stamp=packages/sdk/node_modules/.ghostbridge-package-lock.sha256
if [ ! -x packages/sdk/node_modules/.bin/tsc ] || [ "$(cat "$sdk_stamp" 2>/dev/null)" != "$sdk_sum" ]; then
  echo "==> npm ci in packages/sdk (viem, typescript)"
  (cd packages/sdk && npm ci --no-audit --no-fund --loglevel=error)
  echo "$sdk_sum" >"$sdk_stamp"
fi
if ! "$ZIG" version 2>/dev/null | grep -qx "$ZIG_VERSION"; then
  echo "==> python venv with ziglang==$ZIG_VERSION"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "ziglang==$ZIG_VERSION"
fi
echo "==> toolchain: $(forge --version | head -1), $(anvil --version | head -1), solc $(script/solc --version | tail -1), zig $("$ZIG" version), sdk: $(packages/sdk/node_modules/.bin/tsc --version)"
