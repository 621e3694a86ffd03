"""One timed wrk case plus what the OS says it cost.

Why more than wrk's numbers: on a shared 2-core box throughput alone cannot tell "the server is
slow" from "something else was using the CPU". So each case also records the server's CPU time
(/proc/PID/stat), the load generator's CPU time (rusage of the reaped wrk child), the CPU used
by everything else on the machine (/proc/stat minus those two), and the server's resident
memory sampled while the load runs.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


class MeasureError(RuntimeError):
    pass


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of proc(5); `rest` starts at field 3.
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """Non-idle CPU time summed over all CPUs since boot."""
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    busy = sum(vals[:8]) - vals[3] - vals[4]
    return busy / CLK_TCK


def memory_kib(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(val.split()[0])
    return out


class RssSampler(threading.Thread):
    """Peak VmRSS of `pid`, sampled every 100 ms until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak = pid, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.peak = max(self.peak, memory_kib(self.pid)["VmRSS"])
            except (OSError, KeyError):
                return
            self._stop_event.wait(0.1)

    def finish(self) -> int:
        self._stop_event.set()
        self.join(timeout=5)
        return self.peak


@dataclass
class CaseResult:
    name: str
    requests: int
    seconds: float
    ops: float
    mean_us: float
    p50_us: int
    p90_us: int
    p99_us: int
    p999_us: int
    max_us: int
    errors: dict[str, int]
    server_cpu_s: float
    wrk_cpu_s: float
    other_cpu_s: float
    wall_s: float
    peak_rss_kib: int
    extra: dict = field(default_factory=dict)

    @property
    def server_cpu_us_per_op(self) -> float:
        return self.server_cpu_s * 1e6 / max(self.requests, 1)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def launch_prefix(cpus: str | None, nice: int) -> list[str]:
    """CPU pinning and scheduling priority, applied identically to the server and to wrk.

    A negative nice keeps the measured pair ahead of unrelated work (builds, tests) on a
    shared box; it needs root, so 0 means "leave priority alone"."""
    out: list[str] = []
    if nice != 0:
        out += ["nice", "-n", str(nice)]
    if cpus is not None:
        out += ["taskset", "-c", cpus]
    return out


def boost(pid: int, nice: int) -> None:
    """Applies `nice` to the process's scheduler autogroup as well.

    With kernel.sched_autogroup_enabled=1 the CPU is shared fairly between sessions first, so a
    plain `nice` only reorders our own processes. Started with start_new_session=True, the server
    and wrk each lead their own autogroup, and this gives that group the same nice value."""
    if nice == 0:
        return
    try:
        with open(f"/proc/{pid}/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:
        pass  # no autogroups (or no permission): the `nice` prefix alone applies


def run_boosted(cmd: list[str], nice: int, **kw) -> int:
    """subprocess.run for wrk with its autogroup boosted; returns the exit code."""
    proc = subprocess.Popen(cmd, start_new_session=True, **kw)
    boost(proc.pid, nice)
    return proc.wait()


def wrk_command(script: str, url: str, duration: float, threads: int, conns: int,
                cpus: str | None, nice: int = 0) -> list[str]:
    cmd = ["wrk", "--latency", "--timeout", "10s", f"-t{threads}", f"-c{conns}",
           f"-d{duration:g}s", "-s", script, url]
    return launch_prefix(cpus, nice) + cmd


class Profiler:
    """`perf record` attached to the server for one case (only with --perf: sampling costs CPU,
    so profiled runs are for finding hot spots, not for the reported numbers)."""

    def __init__(self, pid: int, data: Path):
        self.data = data
        self.proc = subprocess.Popen(
            ["perf", "record", "-F", "499", "--call-graph", "dwarf,8192", "-p", str(pid),
             "-o", str(data)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def finish(self) -> Path:
        """Stops recording and writes a flat (self time) and an inclusive top list."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
        text = self.data.with_suffix(".txt")
        with open(text, "w") as out:
            for mode in ("--no-children", "--children"):
                out.write(f"==== perf report {mode} ====\n")
                out.flush()
                subprocess.run(["perf", "report", "-i", str(self.data), "--stdio", mode,
                                "-g", "none", "--percent-limit", "0.5"],
                               stdout=out, stderr=subprocess.DEVNULL, timeout=300)
        return text


def run_case(name: str, script: str, url: str, *, duration: float, warmup: float, threads: int,
             conns: int, cpus: str | None, env: dict[str, str], server_pid: int,
             raw_log, perf_data: Path | None = None, nice: int = 0) -> CaseResult:
    if warmup > 0:
        rc = run_boosted(wrk_command(script, url, warmup, threads, conns, cpus, nice), nice,
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if rc != 0:
            raise MeasureError(f"wrk warm-up failed for {name} (exit {rc})")
    cmd = wrk_command(script, url, duration, threads, conns, cpus, nice)
    sampler = RssSampler(server_pid)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    srv0, box0, t0 = proc_cpu_seconds(server_pid), machine_busy_seconds(), time.monotonic()
    sampler.start()
    profiler = Profiler(server_pid, perf_data) if perf_data is not None else None
    with tempfile.TemporaryFile("w+") as out:
        rc = run_boosted(cmd, nice, env=env, stdout=out, stderr=subprocess.STDOUT)
        wall = time.monotonic() - t0
        srv1, box1 = proc_cpu_seconds(server_pid), machine_busy_seconds()
        peak = sampler.finish()
        if profiler is not None:
            profiler.finish()
        after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        text = out.read()
    raw_log.write(f"### {name}\n$ {' '.join(cmd)}\n{text}\n")
    raw_log.flush()
    if rc != 0:
        raise MeasureError(f"wrk failed for {name} (exit {rc}): {text[-1000:]}")
    line = next((l for l in text.splitlines() if l.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise MeasureError(f"no BENCH_RESULT from wrk for {name}: {text[-1000:]}")
    r = json.loads(line[len("BENCH_RESULT "):])
    wrk_cpu = (after_children.ru_utime - before_children.ru_utime
               + after_children.ru_stime - before_children.ru_stime)
    server_cpu = srv1 - srv0
    other = max(0.0, (box1 - box0) - server_cpu - wrk_cpu)
    seconds = r["duration_us"] / 1e6
    errors = {k[4:]: r[k] for k in r if k.startswith("err_") and r[k]}
    return CaseResult(
        name=name, requests=r["requests"], seconds=seconds, ops=r["requests"] / seconds,
        mean_us=r["mean_us"], p50_us=r["p50_us"], p90_us=r["p90_us"], p99_us=r["p99_us"],
        p999_us=r["p999_us"], max_us=r["max_us"], errors=errors, server_cpu_s=server_cpu,
        wrk_cpu_s=wrk_cpu, other_cpu_s=other, wall_s=wall, peak_rss_kib=peak,
    )
