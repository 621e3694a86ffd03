# shellcheck shell=bash
# The cluster stack: a control plane WITH the provisioning engine against moto, plus the local node
# runner that turns every instance the engine launches into a real coffer-agent + coffer-server.
#
# Sourced (bash) after the base stack's env (.dev/env or $STACK/env: DATABASE_URL, AWS_ENDPOINT_URL,
# COFFER_VENV ...) is loaded. Used by `./dev up`, tests/e2e/run.sh and tests/browser/run.sh:
#
#   start_control_plane DB_URL WORKDIR   migrate, seed the release image catalog with a moto AMI in
#                                        every region, start `coffer-control-plane serve` with the
#                                        engine on; exports CP_URL, CP_PID, CP_LOG.
#   start_node_runner WORKDIR            start coffer-node-runner (state in WORKDIR/nodes); exports
#                                        RUNNER_PID, RUNNER_STATE (holds nodes.json), RUNNER_LOG. After
#                                        start_control_plane it runs only instances whose bootstrap
#                                        document names $CP_URL. Node N's files: $RUNNER_STATE/nodes/<id>/
#                                        (agent.log, server.log, user-data, data).
#   stop_cluster_stack                   stop the runner (it stops every node), then the control plane.
#   stop_cluster_stack_in WORKDIR        the same from the pid files in WORKDIR (another shell's stack,
#                                        e.g. `./dev down` after an interrupted `./dev up`).
#
# Optional environment:
#   CP_LISTEN=ADDR:PORT   where the control plane listens (./dev up passes $COFFER_LISTEN). Unset: a
#                         free loopback port. Not port 0: the engine writes the control plane's own URL
#                         into every node's bootstrap document, so it must be known before start.
#   COFFER_NODE_REGIONS   comma-separated regions to seed and watch (default: every supported region).
#   COFFER_NODE_RUNNER_POLL_MS  how often the runner looks for new instances (default 500): a
#                         longer one stands in for an instance's boot time.
#   COFFER_PROVISIONING__POLL_INTERVAL_MS (default 200), COFFER_TELEMETRY__LOG_FILTER: exported values
#                         win; other exported COFFER_* variables are inherited by the control plane.
# Binaries come from $CARGO_TARGET_DIR/debug (build them first: coffer-control-plane, coffer-node-runner,
# coffer-agent, coffer-server).

CS_REGIONS=${COFFER_NODE_REGIONS:-us-east-1,us-west-2,eu-west-1,eu-central-1,ap-southeast-1,ap-northeast-1}
# moto's default account; the control plane administers every cluster key as this principal.
CS_ADMIN_ARN=arn:aws:iam::123456789012:role/coffer-control-plane

_cs_log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
_cs_err() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; }

_cs_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A pid that exists and is not a zombie.
_cs_running() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

# _cs_stop PID SECONDS: SIGTERM the process group PID leads (or PID alone), poll until it is gone,
# SIGKILL after the deadline.
_cs_stop() {
  local pid=$1 secs=$2 i
  _cs_running "$pid" || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $((secs * 10))); do
    _cs_running "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  _cs_err "pid $pid did not stop within ${secs}s; killing it"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# One moto AMI per region ("region image" lines): the catalog needs an image that exists there.
_cs_moto_images() {
  "${COFFER_VENV:?COFFER_VENV is not set (load the stack env first)}/bin/python" - "$AWS_ENDPOINT_URL" "$CS_REGIONS" <<'EOF'
import sys, boto3
endpoint, regions = sys.argv[1], sys.argv[2].split(",")
for region in regions:
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint,
                       aws_access_key_id="test", aws_secret_access_key="test")
    # A name filter keeps moto from serialising its ~1300 public images per region (3 s each).
    found = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-2023*x86_64"]}])
    images = sorted(i["ImageId"] for i in found["Images"])
    if not images:
        images = sorted(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"])
    if not images:
        sys.exit(f"moto lists no public image in {region}")
    print(region, images[0])
EOF
}

# Every known release runs the moto image in every watched region.
_cs_seed_images() {
  local db=$1 region image sql=""
  while read -r region image; do
    [[ $region =~ ^[a-z0-9-]+$ && $image =~ ^ami-[0-9a-z]+$ ]] || { _cs_err "odd moto image: $region $image"; return 1; }
    sql+="INSERT INTO release_images (version, region, image_id) SELECT version, '$region', '$image' FROM releases
          ON CONFLICT (version, region) DO UPDATE SET image_id = EXCLUDED.image_id;"
  done < <(_cs_moto_images) || return 1
  [ -n "$sql" ] || { _cs_err "no moto images found"; return 1; }
  psql -q -v ON_ERROR_STOP=1 "$db" -c "$sql" >/dev/null
}

start_control_plane() {
  local db=${1:?usage: start_control_plane DB_URL WORKDIR} work=${2:?usage: start_control_plane DB_URL WORKDIR}
  local bin="$CARGO_TARGET_DIR/debug/coffer-control-plane" listen attempt i
  : "${AWS_ENDPOINT_URL:?AWS_ENDPOINT_URL is not set (load the stack env first)}"
  [ -x "$bin" ] || { _cs_err "$bin is missing (cargo build -p coffer-control-plane)"; return 1; }
  mkdir -p "$work"
  CP_LOG="$work/control-plane.log"
  COFFER_DATABASE__URL=$db "$bin" migrate >>"$CP_LOG" 2>&1 \
    || { tail -n 20 "$CP_LOG" >&2; _cs_err "migrations failed"; return 1; }
  _cs_seed_images "$db" || { _cs_err "could not seed the release image catalog"; return 1; }
  for attempt in 1 2 3; do
    listen=${CP_LISTEN:-127.0.0.1:$(_cs_free_port)}
    CP_URL="http://$listen"
    # Other COFFER_* variables the caller exported are inherited; these are the ones we own.
    # moto is plain HTTP, so the engine's TLS-only bucket policy would refuse every object request
    # (snapshots, audit shipping, audit-log reads): locally the buckets get none.
    setsid env \
      COFFER_TELEMETRY__LOG_FILTER="${COFFER_TELEMETRY__LOG_FILTER:-info,sqlx=warn,aws=warn,hyper=warn}" \
      COFFER_PROVISIONING__POLL_INTERVAL_MS="${COFFER_PROVISIONING__POLL_INTERVAL_MS:-200}" \
      NO_COLOR=1 \
      COFFER_DATABASE__URL="$db" \
      COFFER_HTTP__LISTEN_ADDR="$listen" \
      COFFER_PROVISIONING__ENABLED=true \
      COFFER_PROVISIONING__CONTROL_PLANE_URL="$CP_URL" \
      COFFER_PROVISIONING__AWS__ENDPOINT_URL="$AWS_ENDPOINT_URL" \
      COFFER_PROVISIONING__AWS__ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" \
      COFFER_PROVISIONING__AWS__SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}" \
      COFFER_PROVISIONING__AWS__CONTROL_PLANE_PRINCIPAL_ARN="$CS_ADMIN_ARN" \
      COFFER_PROVISIONING__AWS__S3_FORCE_PATH_STYLE=true \
      COFFER_PROVISIONING__TLS_ONLY_BUCKETS=false \
      COFFER_MSP__SIGNING_KEY_FILE="$work/msp.key" \
      COFFER_MSP__GENERATE_IF_MISSING=true \
      "$bin" serve >>"$CP_LOG" 2>&1 </dev/null &
    CP_PID=$!
    echo "$CP_PID" > "$work/control-plane.pid"
    for i in $(seq 1 600); do
      if curl -fsS -o /dev/null "$CP_URL/v1/health" 2>/dev/null; then
        export CP_URL CP_PID CP_LOG
        _cs_log "control plane (provisioning on) at $CP_URL, log $CP_LOG"
        return 0
      fi
      _cs_running "$CP_PID" || break
      sleep 0.1
    done
    _cs_stop "$CP_PID" 5
    # Another process took the free port between the probe and the bind: try another one.
    if [ -z "${CP_LISTEN:-}" ] && grep -qi 'address already in use' "$CP_LOG"; then continue; fi
    break
  done
  tail -n 30 "$CP_LOG" >&2
  _cs_err "the control plane did not start (log: $CP_LOG)"
  return 1
}

start_node_runner() {
  local work=${1:?usage: start_node_runner WORKDIR} d="$CARGO_TARGET_DIR/debug" b i
  : "${AWS_ENDPOINT_URL:?AWS_ENDPOINT_URL is not set (load the stack env first)}"
  for b in coffer-node-runner coffer-agent coffer-server; do
    [ -x "$d/$b" ] || { _cs_err "$d/$b is missing (cargo build -p $b)"; return 1; }
  done
  RUNNER_STATE="$work/nodes"
  RUNNER_LOG="$work/node-runner.log"
  mkdir -p "$RUNNER_STATE"
  # Only this control plane's instances (when it runs): stacks sharing one moto (./dev test runs the
  # e2e and browser suites against the same one) must not run each other's nodes.
  local only=()
  [ -z "${CP_URL:-}" ] || only=(--control-plane-url "$CP_URL")
  setsid env NO_COLOR=1 "$d/coffer-node-runner" --aws-endpoint "$AWS_ENDPOINT_URL" --regions "$CS_REGIONS" \
    --state-dir "$RUNNER_STATE" --agent-bin "$d/coffer-agent" --server-bin "$d/coffer-server" "${only[@]}" \
    --poll-ms "${COFFER_NODE_RUNNER_POLL_MS:-500}" \
    >>"$RUNNER_LOG" 2>&1 </dev/null &
  RUNNER_PID=$!
  echo "$RUNNER_PID" > "$work/node-runner.pid"
  # The runner writes nodes.json once it has started watching.
  for i in $(seq 1 300); do
    if [ -f "$RUNNER_STATE/nodes.json" ] && grep -q 'watching' "$RUNNER_LOG"; then
      export RUNNER_PID RUNNER_STATE RUNNER_LOG
      _cs_log "node runner watching $CS_REGIONS, nodes in $RUNNER_STATE/nodes.json, log $RUNNER_LOG"
      return 0
    fi
    _cs_running "$RUNNER_PID" || break
    sleep 0.1
  done
  tail -n 30 "$RUNNER_LOG" >&2
  _cs_stop "$RUNNER_PID" 5
  _cs_err "the node runner did not start (log: $RUNNER_LOG)"
  return 1
}

# The runner stops its nodes on SIGTERM; the nodes.json sweep catches any agent a killed runner left
# (only processes whose command line still names their instance: never a recycled pid).
stop_cluster_stack() {
  local pid id
  if [ -n "${RUNNER_PID:-}" ]; then
    _cs_stop "$RUNNER_PID" 30
    unset RUNNER_PID
  fi
  if [ -f "${RUNNER_STATE:-/nonexistent}/nodes.json" ]; then
    while read -r pid id; do
      if tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qx -- "$id"; then _cs_stop "$pid" 10; fi
    done < <(python3 -c 'import json,sys
for n in json.load(open(sys.argv[1])).get("nodes", []):
    if n.get("agent_pid"): print(n["agent_pid"], n["instance_id"])' "$RUNNER_STATE/nodes.json" 2>/dev/null)
  fi
  if [ -n "${CP_PID:-}" ]; then
    _cs_stop "$CP_PID" 15
    unset CP_PID
  fi
}

# _cs_pid_of FILE NAME: the pid in FILE if that process still runs the binary NAME (not a recycled pid).
_cs_pid_of() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  if _cs_running "$pid" && tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | head -n1 | grep -q "/$2\$"; then
    echo "$pid"
  fi
}

stop_cluster_stack_in() {
  local work=${1:?usage: stop_cluster_stack_in WORKDIR}
  RUNNER_PID=$(_cs_pid_of "$work/node-runner.pid" coffer-node-runner)
  RUNNER_STATE="$work/nodes"
  CP_PID=$(_cs_pid_of "$work/control-plane.pid" coffer-control-plane)
  stop_cluster_stack
  rm -f "$work/node-runner.pid" "$work/control-plane.pid"
}
