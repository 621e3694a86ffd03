# shellcheck shell=bash
# The local stack: real PostgreSQL, moto (AWS) and Pebble (ACME) on loopback, each on a free port.
#
# Sourced by ./dev. Every function is idempotent: a service that is already running (pid alive) is
# reused, so `./dev up` twice is safe. State for one stack lives under $STACK (ports, pids, data, logs);
# `./dev up` uses .dev/stack, `./dev test` a fresh throwaway directory so tests never share a database
# with a developer's running stack.

ROOT=${ROOT:?}
DEV_DIR="$ROOT/.dev"
VENV="${COFFER_VENV:-$DEV_DIR/venv}"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT NAME LOGFILE: poll until something accepts on 127.0.0.1:PORT (30 s deadline).
wait_port() {
  local port=$1 name=$2 logfile=$3 i
  for i in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  tail -n 20 "$logfile" >&2 || true
  die "$name did not start on port $port (log: $logfile)"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# ---------------------------------------------------------------- installation

apt_ready=
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  log "installing Debian packages: ${missing[*]}"
  if [ -z "$apt_ready" ]; then $sudo apt-get update -qq >/dev/null; apt_ready=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_packages() {
  apt_install postgresql pebble openssl ca-certificates curl "$@"
  [ -x "$PG_BIN/initdb" ] || PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
}

# The Python venv holds moto (AWS), hvac and pytest (Vault-client compatibility tests).
ensure_venv() {
  local req="$ROOT/infra/local/requirements.txt" stamp="$VENV/.requirements.sha256" want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "creating Python venv $VENV (moto, hvac, pytest)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
}

# Pebble ships without certificates: make a CA and a listener certificate for 127.0.0.1 once.
ensure_pebble_certs() {
  local d="$DEV_DIR/pebble-certs"
  [ -f "$d/listener.pem" ] && return 0
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=Coffer local Pebble listener CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$d/listener.key" -out "$d/listener.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$d/ext.cnf"
  openssl x509 -req -in "$d/listener.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -extfile "$d/ext.cnf" -out "$d/listener.pem" 2>/dev/null
}

# ---------------------------------------------------------------- services

# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  local d="$STACK/pg" port
  if [ -f "$STACK/pg.port" ] && as_pg "$PG_BIN/pg_ctl" -D "$d/data" status >/dev/null 2>&1; then
    PG_PORT=$(cat "$STACK/pg.port"); return 0
  fi
  mkdir -p "$d"
  if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$STACK"; chown postgres "$d"
    # A clone below a directory the postgres user cannot enter (/root is 0700): keep the data
    # directory in /tmp instead, linked from the stack so everything else stays the same.
    if ! as_pg test -w "$d"; then
      rmdir "$d"; local alt; alt=$(mktemp -d /tmp/coffer-pg-XXXXXX); chmod 755 "$alt"; chown postgres "$alt"
      ln -s "$alt" "$d"; log "PostgreSQL data in $alt ($STACK is not reachable by the postgres user)"
    fi
  fi
  as_pg test -w "$d/" || die "the postgres user cannot write $d"
  if [ ! -f "$d/data/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$d/data" -A trust --no-sync -U postgres >"$STACK/initdb.log" 2>&1 \
      || { cat "$STACK/initdb.log" >&2; die "initdb failed"; }
  fi
  port=$(free_port)
  as_pg "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/log" -w -t 30 \
    -o "-p $port -k $d -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400" start >/dev/null \
    || { tail -n 20 "$d/log" >&2; die "PostgreSQL did not start"; }
  echo "$port" > "$STACK/pg.port"; PG_PORT=$port
}

# start_bg NAME PORTVAR CMD...: run CMD in the background with its own log and pid file.
start_bg() {
  local name=$1; shift
  setsid "$@" >"$STACK/$name.log" 2>&1 < /dev/null &
  echo $! > "$STACK/$name.pid"
}

start_moto() {
  if alive "$STACK/moto.pid"; then MOTO_PORT=$(cat "$STACK/moto.port"); return 0; fi
  MOTO_PORT=$(free_port); echo "$MOTO_PORT" > "$STACK/moto.port"
  start_bg moto "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
  wait_port "$MOTO_PORT" moto "$STACK/moto.log"
}

start_pebble() {
  if alive "$STACK/pebble.pid" && alive "$STACK/challtestsrv.pid"; then
    read -r PEBBLE_PORT PEBBLE_MGMT_PORT DNS_PORT CHALL_PORT < "$STACK/pebble.ports"; return 0
  fi
  PEBBLE_PORT=$(free_port); PEBBLE_MGMT_PORT=$(free_port); DNS_PORT=$(free_port); CHALL_PORT=$(free_port)
  echo "$PEBBLE_PORT $PEBBLE_MGMT_PORT $DNS_PORT $CHALL_PORT" > "$STACK/pebble.ports"
  local c="$DEV_DIR/pebble-certs"
  cat > "$STACK/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$PEBBLE_PORT", "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
  "certificate": "$c/listener.pem", "privateKey": "$c/listener.key", "httpPort": 5002, "tlsPort": 5001,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
  start_bg challtestsrv pebble-challtestsrv -dns01 "127.0.0.1:$DNS_PORT" -management "127.0.0.1:$CHALL_PORT" \
    -http01 "" -https01 "" -tlsalpn01 ""
  wait_port "$CHALL_PORT" pebble-challtestsrv "$STACK/challtestsrv.log"
  PEBBLE_VA_NOSLEEP=1 start_bg pebble pebble -config "$STACK/pebble.json" -dnsserver "127.0.0.1:$DNS_PORT"
  wait_port "$PEBBLE_PORT" pebble "$STACK/pebble.log"
}

start_stack() {
  mkdir -p "$STACK"
  start_postgres
  start_moto
  start_pebble
  write_env
}

# A stack of its own in a temp dir under .dev, for a test suite run on its own (outside
# ./dev test); loads its endpoints into the caller's shell. Stop it with stop_throwaway_stack.
start_throwaway_stack() {
  ensure_packages
  ensure_venv
  ensure_pebble_certs
  mkdir -p "$DEV_DIR"
  STACK=$(mktemp -d "$DEV_DIR/test-XXXXXX"); STACK_THROWAWAY=1
  start_stack
  # shellcheck disable=SC1091
  source "$STACK/env"
}

stop_throwaway_stack() {
  stop_stack
  rm -rf "$STACK"
}

# Shell-sourceable endpoints for humans, scripts and tests.
write_env() {
  cat > "$STACK/env" <<EOF
export COFFER_API_URL=http://${COFFER_LISTEN:-127.0.0.1:8080}
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/coffer
export COFFER_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres
export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
export COFFER_TEST_MOTO_URL=http://127.0.0.1:$MOTO_PORT
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export ACME_DIRECTORY_URL=https://127.0.0.1:$PEBBLE_PORT/dir
export ACME_CA_CERT=$DEV_DIR/pebble-certs/ca.pem
export ACME_DNS_MANAGEMENT_URL=http://127.0.0.1:$CHALL_PORT
export COFFER_VENV=$VENV
EOF
}

stop_stack() {
  local n
  for n in pebble challtestsrv moto; do
    if alive "$STACK/$n.pid"; then kill -- -"$(cat "$STACK/$n.pid")" 2>/dev/null || kill "$(cat "$STACK/$n.pid")" 2>/dev/null || true; fi
    rm -f "$STACK/$n.pid"
  done
  if [ -d "$STACK/pg/data" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$STACK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  # The /tmp fallback of start_postgres belongs to this stack: remove it with a throwaway stack.
  if [ -L "$STACK/pg" ] && [ -n "${STACK_THROWAWAY:-}" ]; then rm -rf "$(readlink "$STACK/pg")"; fi
}
