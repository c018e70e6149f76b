#!/usr/bin/env bash
# Installs everything the test suite needs and runs it: unit, integration (SQLite and a real PostgreSQL)
# and end-to-end tests against a real `novamind serve` process.
# PostgreSQL comes from Debian's packages and runs from a throw-away data directory on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '\n== %s\n' "$*"; }

# 1. Python environment
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
log "installing novamind with test extras"
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'

# 2. PostgreSQL (Debian package), started as the postgres user on a free port
pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
if [ -z "$(pg_bin)" ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing PostgreSQL from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is not installed; PostgreSQL tests will be skipped (run as root to install it)." >&2
  fi
fi
PGBIN=$(pg_bin || true)
PGDATA=""
cleanup() {
  if [ -n "$PGDATA" ] && [ -d "$PGDATA" ]; then
    run_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PGDATA"
  fi
}
trap cleanup EXIT
run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ -n "$PGBIN" ]; then
  PGPORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PGDATA=$(mktemp -d /tmp/novamind-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
  log "starting PostgreSQL ($PGBIN) on port $PGPORT"
  run_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust >/dev/null
  run_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
  run_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres novamind_test
  export NOVAMIND_TEST_POSTGRES_URL="postgresql+asyncpg://postgres@127.0.0.1:$PGPORT/novamind_test"
fi

# 3. The suite
log "ruff"
.venv/bin/ruff check fhir_server terminology mappings twin_engine smart_app tests bench
log "mypy"
.venv/bin/mypy
log "import contracts"
.venv/bin/lint-imports
log "pytest"
cd "$ROOT"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
