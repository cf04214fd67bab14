#!/usr/bin/env bash
# The one test command: every test of the repo (TypeScript SDK, forge, zig, cargo incl. the
# anvil/PostgreSQL end-to-end tests). `.ci/run` runs set-up and then exactly this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$GHOSTBRIDGE_ROOT"
"$GHOSTBRIDGE_ROOT/script/install-toolchain.sh" >/dev/null
"$GHOSTBRIDGE_ROOT/script/ensure-postgres.sh"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

./script/export-abi.sh --check

echo "==> SDK (packages/sdk): bindings fresh against contracts/abi, tsc (typecheck + build, README example), node --test"
(cd packages/sdk && npm run --silent ci)

echo "==> cargo fmt --all --check (Rust formatting)"
cargo fmt --all --check

echo "==> cargo clippy --workspace --all-targets (workspace lints, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo-machete (no crate declares a dependency it does not use)"
.tools/bin/cargo-machete

echo "==> GhostPlane settlement fixtures are what the engine produces today"
./script/ghostplane-fixtures.sh --check

echo "==> bridge protocol fixture (read by forge and the SDK) is what the Rust core produces today"
./script/protocol-fixtures.sh --check

echo "==> forge fmt --check (contracts, tests, deploy scripts)"
forge fmt --check

echo "==> forge test (contracts: unit, fuzz, invariant, hack regressions, GhostPlane settlement)"
forge test

echo "==> slither over contracts/src: every finding triaged in contracts/slither-triage.json"
./script/slither.sh

echo "==> deploy scripts on two anvil chains (lock on A, attested mint on B)"
# About a minute; a hang (a chain that stops answering) fails here instead of eating CI's hour.
timeout --kill-after=10 600 ./script/test-deploy.sh

echo "==> zig fmt --check, zig build test (GhostPlane engine)"
"$ZIG" fmt --check zig
(cd zig && "$ZIG" build test --summary all)

echo "==> GhostPlane: a lying sequencer (test-only build, feature test-lies) is proven wrong by the challenger"
# Before the workspace tests, so the `ghostbridge` binary left in target/ is the honest build.
cargo clippy -p ghostbridge-cli --features test-lies --all-targets --locked -- -D warnings
cargo test -p ghostbridge-l2node --features test-lies --lib --locked lie
# Three lies (invalid-op, wrong-post-state, skip-deposit), each with its own anvil: run together.
cargo test -p ghostbridge-cli --features test-lies --test e2e_l2_lie --locked -- --test-threads=3

echo "==> cargo test --workspace (core incl. Wycheproof ML-DSA-65/ML-KEM-768 and TLS X25519MLKEM768; store on"
echo "    SQLite + PostgreSQL; engine FFI + sequencer; tests/e2e.rs: the daemons on two anvil chains)"
cargo test --workspace --locked

echo "==> the bridge page and the SDK against a real devnet: SDK devnet tests, browser tests (headless Chromium)"
./script/ensure-chromium.sh
./script/app-test.sh
