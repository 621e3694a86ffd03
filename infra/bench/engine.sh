#!/usr/bin/env bash
# Provisioning-engine benchmark: N dev clusters created at once through one control-plane
# process against moto, then deleted; prints operations per second and the control plane's
# CPU time per operation (utime + stime of the process from /proc/<pid>/stat).
#
#   infra/bench/engine.sh [CLUSTERS]          default 50; ENGT_BENCH_CONCURRENCY (default 16)
#                                              sets provisioning.max_concurrent_operations
#   ENGT_PROFILE=debug infra/bench/engine.sh   skip the (slow, cold) release build
#
# Needs COFFER_TEST_DATABASE_URL (a PostgreSQL admin URL; ./dev up writes one to .dev/env,
# dev machines have /tmp/coffer/pg-url) and starts its own moto unless COFFER_TEST_MOTO_URL is
# set. The measurement itself is the ignored test `cases::bench::engine_benchmark` in
# control-plane/tests/provisioning, so it shares the engine tests' harness.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/coffer/target}
if [ -z "${COFFER_TEST_DATABASE_URL:-}" ]; then
  if [ -f "$ROOT/.dev/env" ]; then
    # shellcheck disable=SC1091
    source "$ROOT/.dev/env"
  elif [ -f /tmp/coffer/pg-url ]; then
    COFFER_TEST_DATABASE_URL=$(cat /tmp/coffer/pg-url)
  fi
fi
[ -n "${COFFER_TEST_DATABASE_URL:-}" ] || { echo "engine.sh: set COFFER_TEST_DATABASE_URL" >&2; exit 2; }
export COFFER_TEST_DATABASE_URL
export ENGT_BENCH_CLUSTERS=${1:-${ENGT_BENCH_CLUSTERS:-50}}
export ENGT_BENCH_CONCURRENCY=${ENGT_BENCH_CONCURRENCY:-16}
profile=${ENGT_PROFILE:-release}
flags=()
[ "$profile" = release ] && flags=(--release)
out=$(mktemp /tmp/engine-bench.XXXXXX.log)
cd "$ROOT"
echo "engine benchmark: $ENGT_BENCH_CLUSTERS clusters, concurrency $ENGT_BENCH_CONCURRENCY, $profile build," \
  "$(nproc) CPUs; full log: $out" >&2
cargo test "${flags[@]}" -q -p coffer-control-plane --test provisioning -- \
  --ignored --exact cases::bench::engine_benchmark --nocapture >"$out" 2>&1 || {
  tail -50 "$out" >&2
  exit 1
}
grep ENGINE_BENCH "$out"
