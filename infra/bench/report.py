"""Markdown for docs/benchmarks.md: machine facts, one results table per CPU layout, and the
target checks. Ratios are always against the floor measured in the same run and layout."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

from measure import CaseResult

LABELS = {
    "floor": "HTTP floor (`GET sys/coffer/floor`)",
    "kv_read": "KV v2 read (`GET secret/data/bench/key-N`)",
    "transit_encrypt": "transit encrypt (`POST transit/encrypt/bench`)",
    "kv_write": "KV v2 write (`POST secret/data/bench/w-N`)",
    "floor_after": "HTTP floor again (drift check)",
}


def _cmd(args: list[str], cwd: Path | None = None) -> str:
    try:
        # rstrip only: `git status --porcelain` lines start with a significant space.
        return subprocess.run(args, capture_output=True, text=True, cwd=cwd,
                              check=True).stdout.rstrip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def binary_fact(binary: Path) -> str:
    """When the measured binary was built, and whether this run built it: with SKIP_BUILD=1 the
    binary can be older than the commit printed next to it."""
    built = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(binary.stat().st_mtime))
    how = ("built by this run from the work tree" if os.environ.get("BENCH_BUILT_BY_RUN") == "1"
           else "prebuilt (SKIP_BUILD=1), may predate the commit above")
    return f"release binary of {built}, {how}"


def machine_facts(repo: Path) -> dict[str, str]:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    dirty = _cmd(["git", "status", "--porcelain", "--untracked-files=no", "--",
                  "data-plane", "Cargo.toml", "Cargo.lock"], repo)
    dirty_files = [line[3:] for line in dirty.splitlines()] if dirty != "unknown" else []
    return {
        "date": _cmd(["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        "nproc": _cmd(["nproc"]),
        "cpu": model,
        "kernel": platform.release(),
        "commit": _cmd(["git", "rev-parse", "--short=12", "HEAD"], repo)
        + (f" + uncommitted edits in {', '.join(dirty_files)}" if dirty_files else ""),
        "rustc": _cmd(["rustc", "--version"]),
        "wrk": _cmd(["dpkg-query", "-W", "-f=${Version}", "wrk"]),
        "loadavg_at_start": load,
    }


def floor_ops(results: list[CaseResult]) -> float:
    floors = [r.ops for r in results if r.name.startswith("floor")]
    return sum(floors) / len(floors)


def _ms(us: float) -> str:
    return f"{us / 1000:.2f}"


def table(results: list[CaseResult]) -> str:
    base = floor_ops(results)
    floor_p99 = next(r.p99_us for r in results if r.name == "floor")
    floors = [r for r in results if r.name.startswith("floor")]
    floor_cpu = sum(r.server_cpu_us_per_op for r in floors) / len(floors)
    rows = [
        "| case | ops/s | × floor | p50 ms | p99 ms | p99 − floor p99 ms | server CPU µs/op "
        "| × floor by CPU | server CPU | wrk CPU | others' CPU | peak RSS MiB | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        errs = ", ".join(f"{k}={v}" for k, v in r.errors.items()) or "0"
        cap = r.wall_s  # one core-second per second = 100 %
        rows.append(
            f"| {LABELS.get(r.name, r.name)} | {r.ops:,.0f} | {r.ops / base:.2f} "
            f"| {_ms(r.p50_us)} | {_ms(r.p99_us)} | {_ms(r.p99_us - floor_p99)} "
            f"| {r.server_cpu_us_per_op:.1f} | {floor_cpu / r.server_cpu_us_per_op:.2f} "
            f"| {100 * r.server_cpu_s / cap:.0f} % "
            f"| {100 * r.wrk_cpu_s / cap:.0f} % | {100 * r.other_cpu_s / cap:.0f} % "
            f"| {r.peak_rss_kib / 1024:.1f} | {errs} |"
        )
    return "\n".join(rows)


def targets(results: list[CaseResult]) -> str:
    base = floor_ops(results)
    by = {r.name: r for r in results}
    lines = []
    if "kv_read" in by:
        ratio = by["kv_read"].ops / base
        lines.append(f"- KV v2 read ≥ 50 % of floor: **{ratio:.0%}** — "
                     f"{'met' if ratio >= 0.5 else 'MISSED'}")
    if "transit_encrypt" in by:
        ops = by["transit_encrypt"].ops
        lines.append(f"- transit encrypt ≥ 10,000 ops/s: **{ops:,.0f} ops/s** — "
                     f"{'met' if ops >= 10_000 else 'MISSED'}")
    return "\n".join(lines)


def render(facts: dict[str, str], command: str, params: dict, layouts: dict[str, dict]) -> str:
    out = ["## Run", "", "```", command, "```", ""]
    notes = [
        "CPU columns are % of ONE core over the case (the box has nproc of them); "
        "\"others' CPU\" is everything on the machine except the server and wrk.",
        "\"× floor by CPU\" = floor's server CPU µs/op ÷ this case's: the throughput ratio "
        "the case would have if the server were CPU-bound, robust to other load on the box.",
    ]
    out += [f"> {n}" for n in notes] + [""]
    out += [f"- {k}: {v}" for k, v in facts.items()]
    out += [f"- {k}: {v}" for k, v in params.items()]
    for name, lay in layouts.items():
        out += ["", f"### Layout: {name} — {lay['describe']}", ""]
        out += [f"- server RSS idle after seeding: {lay['idle_rss_kib'] / 1024:.1f} MiB; "
                f"VmHWM (peak ever) after all cases: {lay['hwm_kib'] / 1024:.1f} MiB; "
                f"VmRSS after all cases: {lay['end_rss_kib'] / 1024:.1f} MiB", ""]
        out += [table(lay["results"]), "", targets(lay["results"])]
    return "\n".join(out) + "\n"


START = "<!-- bench:results:start (generated by infra/bench/run.sh --update-doc) -->"
END = "<!-- bench:results:end -->"


def splice(doc: Path, md: str) -> None:
    """Replaces the generated block of `doc` (between START and END) with `md`."""
    text = doc.read_text()
    head, sep, rest = text.partition(START)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"{doc} has no {START} ... {END} block")
    doc.write_text(f"{head}{START}\n{md}{END}{tail}")
