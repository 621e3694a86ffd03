#!/usr/bin/env bash
# Browser tests of the web console: headless Debian Chromium driven by playwright-core.
# Starts the control plane on a free port with a fresh database on the server named by
# COFFER_TEST_DATABASE_URL (an admin URL; `./dev test` exports it), runs `node --test`, and
# stops everything it started. Screenshots land in tests/browser/artifacts/ (git-ignored).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/coffer/target}
# Never let Playwright fetch a browser: we drive the distribution's Chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
log() { printf '\033[1m[browser]\033[0m %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

if [ -z "${COFFER_TEST_DATABASE_URL:-}" ] && [ -r /tmp/coffer/pg-url ]; then
  COFFER_TEST_DATABASE_URL=$(cat /tmp/coffer/pg-url)
fi
[ -n "${COFFER_TEST_DATABASE_URL:-}" ] || die "COFFER_TEST_DATABASE_URL is not set (use ./dev test)"

if [ ! -x /usr/bin/chromium ]; then
  [ "$(id -u)" = 0 ] || die "Debian chromium is missing: sudo apt-get install -y chromium"
  log "installing Debian chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
fi
command -v node >/dev/null || die "node is missing: apt-get install -y nodejs npm"

cd "$HERE"
if [ ! -d node_modules/playwright-core ]; then
  log "installing playwright-core (no browser download)"
  npm ci --no-audit --no-fund --silent
fi

log "building the control plane"
cargo build -q -p coffer-control-plane --bin coffer-control-plane
BIN="$CARGO_TARGET_DIR/debug/coffer-control-plane"

DB="coffer_browser_$(date +%s)_$$"
ADMIN_URL=$COFFER_TEST_DATABASE_URL
# The same server, database $DB (keeps any ?query of the admin URL).
DB_URL=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$ADMIN_URL" "$DB")
psql -q "$ADMIN_URL" -c "CREATE DATABASE \"$DB\"" >/dev/null

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Port 0: the kernel picks a free port; the server logs the address it bound.
NO_COLOR=1 COFFER_DATABASE__URL=$DB_URL COFFER_HTTP__LISTEN_ADDR=127.0.0.1:0 \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ADDR=
for _ in $(seq 1 300); do
  ADDR=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log" | grep -o 'listening addr=[0-9.:]*' | head -n1 | cut -d= -f2 || true)
  [ -n "$ADDR" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "control plane exited"; }
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$WORK/server.log" >&2; die "control plane did not report its address"; }
export COFFER_URL="http://$ADDR"
for _ in $(seq 1 100); do
  curl -fsS "$COFFER_URL/v1/health" >/dev/null 2>&1 && break
  sleep 0.1
done
log "control plane at $COFFER_URL"

mkdir -p "$HERE/artifacts"
status=0
node --test --test-concurrency=1 "$HERE"/*.test.mjs || status=$?
if [ $status -ne 0 ]; then
  log "control plane log (last 40 lines):"
  tail -n 40 "$WORK/server.log" >&2
fi
exit $status
