#!/usr/bin/env bash
# Installs every pinned tool the project needs, from package registries only:
# forge/anvil/cast + solcjs + OpenZeppelin (npm, package-lock.json), the TypeScript SDK's viem and
# typescript (npm, packages/sdk/package-lock.json), the bridge page's esbuild and playwright-core
# (npm, app/package-lock.json), zig (PyPI ziglang) and Slither (PyPI, script/requirements-slither.txt)
# in .venv, cargo-machete (crates.io, .tools/). Chromium for the browser tests is a Debian package:
# script/ensure-chromium.sh.
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
# The SDK and the page have their own lockfiles and stamps: a bump there never reinstalls the
# foundry binaries above. The page depends on the SDK (file:../packages/sdk), so it comes second.
for pkg in packages/sdk app; do
  sum=$(sha256sum "$pkg/package-lock.json" | cut -d' ' -f1)
  pkg_stamp=$pkg/node_modules/.ghostbridge-package-lock.sha256
  if [ ! -x "$pkg/node_modules/.bin/tsc" ] || [ "$(cat "$pkg_stamp" 2>/dev/null)" != "$sum" ]; then
    echo "==> npm ci in $pkg"
    (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$sum" >"$pkg_stamp"
  fi
done
if ! "$ZIG" version 2>/dev/null | grep -qx "$ZIG_VERSION"; then
  echo "==> python venv with ziglang==$ZIG_VERSION"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "ziglang==$ZIG_VERSION"
fi
# cargo-machete (crates.io, built once into .tools/): the unused-dependency check of test.sh.
MACHETE_VERSION=0.9.2
if [ "$(.tools/bin/cargo-machete --version 2>/dev/null)" != "$MACHETE_VERSION" ]; then
  echo "==> cargo install cargo-machete@$MACHETE_VERSION (into .tools/)"
  cargo install --quiet --locked --version "$MACHETE_VERSION" --root .tools cargo-machete
fi
SLITHER_VERSION=$(sed -n 's/^slither-analyzer==//p' script/requirements-slither.txt)
if [ "$(.venv/bin/slither --version 2>/dev/null)" != "$SLITHER_VERSION" ]; then
  echo "==> slither-analyzer==$SLITHER_VERSION into .venv (script/requirements-slither.txt)"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r script/requirements-slither.txt
fi
echo "==> toolchain: $(forge --version | head -1), $(anvil --version | head -1), solc $(script/solc --version | tail -1), zig $("$ZIG" version), slither $(.venv/bin/slither --version), cargo-machete $(.tools/bin/cargo-machete --version), sdk: $(packages/sdk/node_modules/.bin/tsc --version)"
