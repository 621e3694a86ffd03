#!/usr/bin/env bash
# Coffer data-plane benchmark: build the release server, then run bench.py (floor, KV v2
# read, transit encrypt, KV v2 write, floor again) under wrk for each CPU layout and print a
# markdown report. Loopback only; every process it starts is stopped before it exits.
#
#   infra/bench/run.sh                      # defaults: 10 s per case, -t2 -c32, pinned + shared
#   infra/bench/run.sh --duration 5 --layouts pinned --tls
#   SKIP_BUILD=1 infra/bench/run.sh ...     # reuse the existing release binary
#
# Results: stdout and /tmp/coffer-bench/{results.md,results.json,wrk-raw.log} (see --out).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/coffer/target-dp}"

for tool in wrk taskset python3 openssl; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool (apt-get install -y wrk util-linux ...)" >&2; exit 1; }
done

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  (cd "$repo" && cargo build --release -p coffer-server)
  export BENCH_BUILT_BY_RUN=1
fi
bin="$CARGO_TARGET_DIR/release/coffer-server"
[[ -x "$bin" ]] || { echo "no server binary at $bin" >&2; exit 1; }

exec python3 "$here/bench.py" --bin "$bin" --command "infra/bench/run.sh $*" "$@"
