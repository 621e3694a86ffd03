#!/usr/bin/env bash
# The end-to-end suite: a real control plane (provisioning engine on, against moto) and the local
# node runner (real coffer-agent + coffer-server per instance), driven through the public API,
# hvac and boto3 like a customer, an operator and an auditor would.
#
# Under `./dev test` the stack env is already loaded (COFFER_TEST_DATABASE_URL, AWS_ENDPOINT_URL,
# COFFER_VENV). Run standalone, it starts its own throwaway stack with infra/local/stack.sh.
# Either way it creates a fresh database, starts the control plane and the node runner through
# infra/local/cluster-stack.sh, runs pytest, and stops everything it started.
#
#   tests/e2e/run.sh [pytest args]       e.g. -x, -k snapshots
#   COFFER_E2E_BUILD=1 tests/e2e/run.sh  build the four binaries first (default: only if missing)
#   COFFER_E2E_KEEP=1                    keep the work dir (logs, node data dirs) after the run
#
# The time-to-usable measurement is printed at the end and written to tests/e2e/artifacts/report.json.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export ROOT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/coffer/target}
e2e_log() { printf '\033[1m[e2e]\033[0m %s\n' "$*" >&2; }

# ---------------------------------------------------------------- base stack (standalone runs)
OWN_STACK=
if [ -z "${COFFER_TEST_DATABASE_URL:-}" ] || [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  # shellcheck source=../../infra/local/stack.sh
  source "$ROOT/infra/local/stack.sh"
  start_throwaway_stack
  OWN_STACK=1
  e2e_log "started a throwaway stack in $STACK"
fi
VENV=${COFFER_VENV:-$ROOT/.dev/venv}
[ -x "$VENV/bin/python" ] || { e2e_log "no Python venv at $VENV (run ./dev test or ./dev up once)"; exit 1; }
"$VENV/bin/python" -c 'import hvac, boto3, pytest, requests' \
  || { e2e_log "the venv $VENV lacks hvac/boto3/pytest/requests"; exit 1; }

# ---------------------------------------------------------------- binaries
BINS=(coffer-control-plane coffer-agent coffer-server coffer-node-runner)
need_build=${COFFER_E2E_BUILD:-}
for b in "${BINS[@]}"; do [ -x "$CARGO_TARGET_DIR/debug/$b" ] || need_build=1; done
if [ -n "$need_build" ]; then
  e2e_log "building ${BINS[*]}"
  (cd "$ROOT" && cargo build -q -p coffer-control-plane -p coffer-agent -p coffer-server -p coffer-node-runner)
fi

# ---------------------------------------------------------------- database, control plane, runner
DB="coffer_e2e_$(date +%s)_$$"
ADMIN_URL=$COFFER_TEST_DATABASE_URL
# The same server, database $DB (keeps any ?query of the admin URL).
DB_URL=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$ADMIN_URL" "$DB")
psql -q "$ADMIN_URL" -c "CREATE DATABASE \"$DB\"" >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/coffer-e2e-XXXXXX")

cleanup() {
  local rc=$?
  stop_cluster_stack || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "${COFFER_E2E_KEEP:-}" ] || [ $rc -ne 0 ]; then
    e2e_log "work dir kept: $WORK (control-plane.log, node-runner.log, nodes/<instance>/*.log)"
  else
    rm -rf "$WORK"
  fi
  if [ -n "$OWN_STACK" ]; then stop_throwaway_stack; fi
  exit $rc
}
trap cleanup EXIT

# One region keeps image seeding and the runner's EC2 polling short; the suite uses us-east-1.
export COFFER_NODE_REGIONS=${COFFER_NODE_REGIONS:-us-east-1}
# Agents inherit the runner's environment: ship audit objects and heartbeat often, so the audit
# and node-health steps do not wait a production interval.
export COFFER_AGENT_AUDIT_SHIP_INTERVAL_SECS=${COFFER_AGENT_AUDIT_SHIP_INTERVAL_SECS:-2}
# shellcheck source=../../infra/local/cluster-stack.sh
source "$ROOT/infra/local/cluster-stack.sh"
start_control_plane "$DB_URL" "$WORK"
start_node_runner "$WORK"

export CP_URL RUNNER_STATE E2E_WORK="$WORK" E2E_DB_URL="$DB_URL"
mkdir -p "$HERE/artifacts"
cd "$HERE"
status=0
"$VENV/bin/python" -m pytest "$@" || status=$?
if [ $status -ne 0 ]; then
  e2e_log "control plane log (last 40 lines):"; tail -n 40 "$CP_LOG" >&2 || true
  e2e_log "node runner log (last 20 lines):"; tail -n 20 "$RUNNER_LOG" >&2 || true
  for f in "$RUNNER_STATE"/*/agent.log; do
    [ -f "$f" ] || continue
    e2e_log "$f (last 30 lines):"; tail -n 30 "$f" >&2
  done
fi
[ -f "$HERE/artifacts/report.json" ] && { e2e_log "time to usable:"; cat "$HERE/artifacts/report.json" >&2; }
exit $status
