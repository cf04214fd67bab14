#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers for the multi-relayer tests. On the project's machines one
# already runs at 127.0.0.1:5432 (trust auth, database `test`); on a fresh Debian machine this
# installs Debian's `postgresql`, starts a cluster and creates the `test` database.
set -euo pipefail
host=127.0.0.1 port=5432
if pg_isready -q -h "$host" -p "$port" 2>/dev/null; then exit 0; fi
echo "==> no PostgreSQL at $host:$port: installing Debian's postgresql"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do pg_isready -q -h "$host" -p "$port" && break; sleep 1; done
pg_isready -h "$host" -p "$port"
# Trust auth on loopback, as on the project's machines, so DATABASE_URL needs no password.
hba=/etc/postgresql/$version/main/pg_hba.conf
if ! $SUDO grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
  echo 'host all all 127.0.0.1/32 trust' | $SUDO sh -c "cat - $hba > $hba.new && mv $hba.new $hba"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
fi
$SUDO -u postgres psql -qtc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || $SUDO -u postgres createdb test
