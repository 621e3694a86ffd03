#!/usr/bin/env bash
# Browser tests of the web console: headless Debian Chromium driven by playwright-core, against
# the real cluster stack: the control plane WITH the provisioning engine (against moto) and the
# local node runner (a real coffer-agent + coffer-server per instance), so a cluster created in
# the browser really runs, issues admin tokens and takes snapshots.
#
# Under `./dev test` the stack env is loaded (COFFER_TEST_DATABASE_URL, AWS_ENDPOINT_URL,
# COFFER_VENV); run standalone, it starts a throwaway base stack with infra/local/stack.sh.
# Either way it creates a fresh database, starts the control plane and node runner through
# infra/local/cluster-stack.sh, runs `node --test`, and stops everything it started.
# Screenshots land in tests/browser/artifacts/ (git-ignored).
#
#   tests/browser/run.sh [FILE.test.mjs ...]     only these test files (default: all)
#   COFFER_BROWSER_BUILD=1 tests/browser/run.sh   build the four binaries first (default: the
#                                                 control plane always, the others if missing)
#   COFFER_BROWSER_KEEP=1                         keep the work dir (logs) after the run
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
START_DIR=$PWD
ROOT=$(cd "$HERE/../.." && pwd)
export ROOT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/coffer/target}
# Never let Playwright fetch a browser: we drive the distribution's Chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
log() { printf '\033[1m[browser]\033[0m %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

if [ -z "${COFFER_TEST_DATABASE_URL:-}" ] && [ -r /tmp/coffer/pg-url ]; then
  COFFER_TEST_DATABASE_URL=$(cat /tmp/coffer/pg-url)
fi

if [ ! -x /usr/bin/chromium ]; then
  [ "$(id -u)" = 0 ] || die "Debian chromium is missing: sudo apt-get install -y chromium"
  log "installing Debian chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
fi
command -v node >/dev/null || die "node is missing: apt-get install -y nodejs npm"

# ---------------------------------------------------------------- base stack (standalone runs)
OWN_STACK=
if [ -z "${COFFER_TEST_DATABASE_URL:-}" ] || [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  # shellcheck source=../../infra/local/stack.sh
  source "$ROOT/infra/local/stack.sh"
  start_throwaway_stack
  OWN_STACK=1
  log "started a throwaway stack in $STACK"
fi
[ -n "${COFFER_TEST_DATABASE_URL:-}" ] || die "COFFER_TEST_DATABASE_URL is not set (use ./dev test)"

cd "$HERE"
if [ ! -d node_modules/playwright-core ]; then
  log "installing playwright-core (no browser download)"
  npm ci --no-audit --no-fund --silent
fi

# ---------------------------------------------------------------- binaries
# The console is compiled into the control plane, so that one is always rebuilt.
log "building the control plane"
(cd "$ROOT" && cargo build -q -p coffer-control-plane --bin coffer-control-plane)
need_build=${COFFER_BROWSER_BUILD:-}
for b in coffer-agent coffer-server coffer-node-runner; do
  [ -x "$CARGO_TARGET_DIR/debug/$b" ] || need_build=1
done
if [ -n "$need_build" ]; then
  log "building the agent, server and node runner"
  (cd "$ROOT" && cargo build -q -p coffer-agent -p coffer-server -p coffer-node-runner)
fi

# ---------------------------------------------------------------- database, control plane, runner
DB="coffer_browser_$(date +%s)_$$"
ADMIN_URL=$COFFER_TEST_DATABASE_URL
# The same server, database $DB (keeps any ?query of the admin URL).
DB_URL=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$ADMIN_URL" "$DB")
psql -q "$ADMIN_URL" -c "CREATE DATABASE \"$DB\"" >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/coffer-browser-XXXXXX")

cleanup() {
  local rc=$?
  stop_cluster_stack 2>/dev/null || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "${COFFER_BROWSER_KEEP:-}" ] || [ $rc -ne 0 ]; then
    log "work dir kept: $WORK (control-plane.log, node-runner.log, nodes/<instance>/*.log)"
  else
    rm -rf "$WORK"
  fi
  if [ -n "$OWN_STACK" ]; then stop_throwaway_stack; fi
  exit $rc
}
trap cleanup EXIT

# The tests create clusters in us-east-1 and eu-west-1 only: seed and watch just those.
export COFFER_NODE_REGIONS=${COFFER_NODE_REGIONS:-us-east-1,eu-west-1}
# Nodes "boot" in about 3 s (on EC2 it is a minute), so the console's live step list is seen
# progressing before the cluster is running rather than racing a 1.5 s create.
export COFFER_NODE_RUNNER_POLL_MS=${COFFER_NODE_RUNNER_POLL_MS:-3000}
# Agents inherit the runner's environment: ship audit objects often, so the audit-log page
# has something to list within the test instead of after a production interval.
export COFFER_AGENT_AUDIT_SHIP_INTERVAL_SECS=${COFFER_AGENT_AUDIT_SHIP_INTERVAL_SECS:-2}
# shellcheck source=../../infra/local/cluster-stack.sh
source "$ROOT/infra/local/cluster-stack.sh"
start_control_plane "$DB_URL" "$WORK"
start_node_runner "$WORK"
export COFFER_URL=$CP_URL
log "control plane at $COFFER_URL"

mkdir -p "$HERE/artifacts"
status=0
files=()
for f in "$@"; do
  case $f in /*) files+=("$f") ;; *) if [ -f "$START_DIR/$f" ]; then files+=("$START_DIR/$f"); else files+=("$HERE/$f"); fi ;; esac
done
[ ${#files[@]} -gt 0 ] || files=("$HERE"/*.test.mjs)
node --test --test-concurrency=1 "${files[@]}" || status=$?
if [ $status -ne 0 ]; then
  log "control plane log (last 40 lines):"; tail -n 40 "$CP_LOG" >&2 || true
  log "node runner log (last 20 lines):"; tail -n 20 "$RUNNER_LOG" >&2 || true
fi
exit $status
