#!/usr/bin/env bash
# Installs Chromium (Debian package) for the bridge page's browser tests (app/test), if missing.
# Idempotent: does nothing when `chromium` is already on PATH.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
$SUDO apt-get install -y chromium
command -v chromium
