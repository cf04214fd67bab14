#!/usr/bin/env bash
# The bridge page's tests against a real devnet: builds the SDK and the page (app/), starts
# `ghostbridge devnet` (which serves the page on port base+24), runs the SDK's devnet tests (if the
# SDK has them) and the browser tests (app/test, headless Chromium), and always stops the devnet.
#
#   APP_TEST_PORT_BASE  port base of the devnet (default 23100; it takes base..base+60)
#   APP_TEST_DIR        its directory (default deployments/app-test; kept for debugging)
#   CARGO_TARGET_DIR    where the ghostbridge binary is built (default target)
#   CHROMIUM            the browser (default /usr/bin/chromium; script/ensure-chromium.sh installs it)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GHOSTBRIDGE_ROOT"

PORT_BASE=${APP_TEST_PORT_BASE:-23100}
DIR=${APP_TEST_DIR:-deployments/app-test}
BIN="${CARGO_TARGET_DIR:-target}/debug/ghostbridge"
case "$BIN" in /*) ;; *) BIN="$GHOSTBRIDGE_ROOT/$BIN" ;; esac
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "app-test: no Chromium at $CHROMIUM (run ./script/ensure-chromium.sh)" >&2
  exit 1
fi

# npm ci of packages/sdk and app/ when their lockfiles changed (a no-op check otherwise).
"$GHOSTBRIDGE_ROOT/script/install-toolchain.sh" >/dev/null
echo "==> app: building the SDK (packages/sdk: compile) and the page (app: typecheck, bundle -> app/dist)"
(cd packages/sdk && npm run --silent compile)
(cd app && npm run --silent build)
echo "==> app: building ghostbridge (cargo build -p ghostbridge-cli)"
cargo build -p ghostbridge-cli --locked --quiet

mkdir -p "$DIR"
DIR_ABS="$(cd "$DIR" && pwd)"
LOG="$DIR_ABS/devnet.out"
echo "==> app: starting the devnet (port base $PORT_BASE, $DIR; log $LOG)"
GHOSTBRIDGE_ROOT="$GHOSTBRIDGE_ROOT" "$BIN" devnet --dir "$DIR" --port-base "$PORT_BASE" >"$LOG" 2>&1 &
DEVNET_PID=$!
stop_devnet() {
  if kill -0 "$DEVNET_PID" 2>/dev/null; then
    kill -INT "$DEVNET_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$DEVNET_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$DEVNET_PID" 2>/dev/null && kill -KILL "$DEVNET_PID" 2>/dev/null || true
  fi
  wait "$DEVNET_PID" 2>/dev/null || true
}
trap stop_devnet EXIT

started=$(date +%s)
until grep -q "running; Ctrl-C stops everything" "$LOG"; do
  if ! kill -0 "$DEVNET_PID" 2>/dev/null || [ $(($(date +%s) - started)) -ge 300 ]; then
    echo "app-test: the devnet did not come up (300 s); its log:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 1
done
APP_URL=$(sed -n 's/^bridge page: \(http[^ ]*\).*/\1/p' "$LOG" | head -1)
if [ -z "$APP_URL" ]; then
  echo "app-test: the devnet does not serve the bridge page (no 'bridge page:' line); its log:" >&2
  cat "$LOG" >&2
  exit 1
fi
export APP_URL
export GHOSTBRIDGE_DEVNET_DIR="$DIR_ABS" GHOSTBRIDGE_DEVNET_PORT_BASE="$PORT_BASE"
echo "==> app: devnet up in $(($(date +%s) - started)) s; page $APP_URL"

# Both suites run on the same devnet even when the first fails; the script fails if either did.
failed=()
if (cd packages/sdk && node -e 'process.exit(require("./package.json").scripts?.["test:devnet"] ? 0 : 1)'); then
  echo "==> app: SDK devnet tests (packages/sdk: npm run test:devnet)"
  (cd packages/sdk && npm run --silent test:devnet) || failed+=("SDK devnet tests (packages/sdk npm run test:devnet)")
fi

echo "==> app: browser tests (app/test, headless Chromium; screenshots in app/test-artifacts)"
(cd app && npm test --silent) || failed+=("browser tests (app/test)")

if [ ${#failed[@]} -gt 0 ]; then
  printf 'app-test: FAILED: %s\n' "${failed[@]}" >&2
  echo "app-test: devnet logs in $DIR_ABS" >&2
  exit 1
fi
echo "==> app: all passed"
