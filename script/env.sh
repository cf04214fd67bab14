# Sourced by the project's scripts: puts the pinned toolchain first on PATH.
GHOSTBRIDGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GHOSTBRIDGE_ROOT
export PATH="$GHOSTBRIDGE_ROOT/node_modules/.bin:$PATH"
export ZIG="$GHOSTBRIDGE_ROOT/script/zig"
