"""Coffer data-plane benchmark driver (run through infra/bench/run.sh).

One run = for each CPU layout: start a fresh config-file coffer-server (durable redb storage,
COFFER_BENCH_FLOOR=1), init + unseal + seed over the Vault API, then time with wrk, in order:
floor, KV v2 read, transit encrypt, KV v2 write, floor again. The second floor run shows drift
from other load on the machine; ratios use the mean of both floors. Writes go last because they
grow the database. Everything binds to 127.0.0.1 and is stopped before the driver exits.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from coffer_proc import BenchError, Server
from measure import MeasureError, memory_kib, run_case
import report

HERE = Path(__file__).resolve().parent
CASES = [
    ("floor", "floor.lua", "/v1/sys/coffer/floor"),
    ("kv_read", "kv_read.lua", "/v1/secret/data/bench/key-1"),
    ("transit_encrypt", "transit_encrypt.lua", "/v1/transit/encrypt/bench"),
    ("kv_write", "kv_write.lua", "/v1/secret/data/bench/w-1"),
    ("floor_after", "floor.lua", "/v1/sys/coffer/floor"),
]
LAYOUTS = {
    # server and load generator on separate cores: the server's number is one core's worth.
    "pinned": {"server": "0", "wrk": "1",
               "describe": "server pinned to CPU 0, wrk pinned to CPU 1 (taskset)"},
    # both float over both cores, as on a real 2-core host that also runs its client.
    "shared": {"server": None, "wrk": None,
               "describe": "server and wrk unpinned, sharing both cores"},
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bin", required=True, type=Path, help="coffer-server release binary")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per case")
    p.add_argument("--warmup", type=float, default=2.0, help="untimed seconds before each case")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--keys", type=int, default=1000, help="seeded KV keys read at random")
    p.add_argument("--write-keys", type=int, default=10000, help="key space for KV writes")
    p.add_argument("--layouts", default="pinned,shared", help="comma list of: pinned, shared")
    p.add_argument("--tls", action="store_true", help="serve (and load) over TLS")
    p.add_argument("--token", choices=["policy", "root"], default="policy",
                   help="load with a policy-limited token (default) or the root token")
    p.add_argument("--out", type=Path, default=Path("/tmp/coffer-bench"),
                   help="directory for results.md, results.json and the raw wrk log")
    p.add_argument("--nice", type=int, default=-10 if os.geteuid() == 0 else 0,
                   help="nice level for server and wrk (default -10 as root, else 0)")
    p.add_argument("--perf", action="store_true",
                   help="profile the server with perf during each case (distorts the numbers)")
    p.add_argument("--update-doc", type=Path, default=None,
                   help="replace the block between the bench:results markers in this file")
    p.add_argument("--command", default="", help="command line to print in the report")
    args = p.parse_args(argv)
    for name in args.layouts.split(","):
        if name not in LAYOUTS:
            p.error(f"unknown layout {name!r}")
    return args


def run_layout(args: argparse.Namespace, name: str, raw_log) -> dict:
    lay = LAYOUTS[name]
    with tempfile.TemporaryDirectory(prefix=f"coffer-bench-{name}-") as tmp:
        server = Server(args.bin, Path(tmp), args.tls, lay["server"], args.nice)
        try:
            server.start()
            server.init_unseal()
            server.seed(args.keys)
            token = server.token if args.token == "root" else server.policy_token()
            idle = memory_kib(server.pid)["VmRSS"]
            env = dict(os.environ, VAULT_TOKEN=token, BENCH_LUA_DIR=str(HERE / "lua"),
                       BENCH_KEYS=str(args.keys), BENCH_WRITE_KEYS=str(args.write_keys))
            base = f"{server.scheme}://{server.host}:{server.port}"
            results = []
            for case, script, path in CASES:
                print(f"[{name}] {case} ...", file=sys.stderr, flush=True)
                results.append(run_case(
                    case, str(HERE / "lua" / script), base + path, duration=args.duration,
                    warmup=args.warmup, threads=args.threads, conns=args.connections,
                    cpus=lay["wrk"], env=env, server_pid=server.pid, raw_log=raw_log,
                    perf_data=(args.out / f"perf-{name}-{case}.data") if args.perf else None,
                    nice=args.nice))
            end = memory_kib(server.pid)
        except (BenchError, MeasureError):
            print(server.log_tail(), file=sys.stderr)
            raise
        finally:
            server.stop()
    return {"describe": lay["describe"], "idle_rss_kib": idle, "end_rss_kib": end["VmRSS"],
            "hwm_kib": end["VmHWM"], "results": results}


def main(argv: list[str]) -> int:
    # SIGTERM (e.g. from `timeout`) must still run the `finally` that stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    repo = HERE.parent.parent
    facts = report.machine_facts(repo)
    facts["binary"] = report.binary_fact(args.bin)
    params = {
        "per case": f"{args.duration:g} s timed after {args.warmup:g} s warm-up, "
                    f"wrk -t{args.threads} -c{args.connections}",
        "transport": "HTTPS (rustls, self-signed P-256)" if args.tls else "plain HTTP (tls_disable)",
        "priority": f"server and wrk at nice {args.nice}, each in its own scheduler autogroup "
                    f"with that nice (shared box: other engineers' builds run at nice 0)",
        "token": "non-root token with a 2-path ACL policy" if args.token == "policy"
                 else "root token (skips ACL evaluation)",
        "storage": "config-file server, storage \"file\" (redb, fsync per write), init + unseal via API",
        "data": f"{args.keys} KV v2 keys (64-byte value) read at random; writes over "
                f"{args.write_keys} keys; transit key aes256-gcm96, 32-byte plaintext",
    }
    # A private copy: other people rebuild the shared target dir, and every layout of one run
    # must measure the same binary.
    private = args.out / "coffer-server"
    shutil.copy2(args.bin, private)
    args.bin = private
    layouts = {}
    with open(args.out / "wrk-raw.log", "w") as raw_log:
        for name in args.layouts.split(","):
            layouts[name] = run_layout(args, name, raw_log)
    md = report.render(facts, args.command or "infra/bench/run.sh " + shlex.join(argv),
                       params, layouts)
    (args.out / "results.md").write_text(md)
    dump = {"facts": facts, "params": params,
            "layouts": {k: dict(v, results=[asdict(r) for r in v["results"]])
                        for k, v in layouts.items()}}
    (args.out / "results.json").write_text(json.dumps(dump, indent=2))
    if args.update_doc is not None:
        report.splice(args.update_doc, md)
    print(md)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (BenchError, MeasureError, ValueError) as e:
        print(f"benchmark failed: {e}", file=sys.stderr)
        sys.exit(1)
