#!/usr/bin/env bash
# One command for a newcomer on a fresh Debian machine with Rust, Node/npm and Python/pip:
# installs the pinned toolchain, builds everything, then runs the bridge on two local chains.
#   ./script/setup.sh            install + build + run the local devnet (Ctrl-C to stop)
#   ./script/setup.sh --no-demo  install + build only (what CI does before the tests)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GHOSTBRIDGE_ROOT"

./script/install-toolchain.sh
./script/ensure-postgres.sh
./script/ensure-chromium.sh  # Debian's chromium, for the bridge page's browser tests only

echo "==> forge build"
forge build
echo "==> cargo build --workspace"
cargo build --workspace --locked --all-targets
echo "==> the bridge page: the SDK (packages/sdk) compiled, the page (app/) bundled into app/dist"
(cd packages/sdk && npm run --silent compile)
(cd app && npm run --silent build)

if [ "${1:-}" != "--no-demo" ]; then
  # The whole bridge on two local chains: anvil x2, contracts, 4 validators, relayer, watcher;
  # three demo transfers (ERC20 and native lock->mint, burn->unlock), the bridge page on :8569,
  # then it runs until Ctrl-C.
  exec ./target/debug/ghostbridge devnet --demo
fi
