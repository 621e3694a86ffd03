"""Tests for the harness's own logic (run: python3 -m unittest infra/bench/test_bench.py).

The parts that can silently produce wrong numbers are tested here: finding the server's port in
its log, reading CPU time and memory from /proc, the target verdicts, and the doc splice."""

from __future__ import annotations

import os
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report  # noqa: E402
from coffer_proc import ANSI, LISTEN  # noqa: E402
from measure import CaseResult, launch_prefix, memory_kib, proc_cpu_seconds  # noqa: E402


def result(name: str, ops: float, cpu_us: float = 10.0) -> CaseResult:
    return CaseResult(
        name=name, requests=int(ops * 10), seconds=10.0, ops=ops, mean_us=1.0, p50_us=1,
        p90_us=1, p99_us=2, p999_us=3, max_us=4, errors={}, server_cpu_s=cpu_us * ops * 10 / 1e6,
        wrk_cpu_s=1.0, other_cpu_s=0.0, wall_s=10.0, peak_rss_kib=1024)


class ListenLine(unittest.TestCase):
    def check(self, line: str, expect: int | None) -> None:
        m = LISTEN.search(ANSI.sub("", line))
        self.assertEqual(int(m.group(2)) if m else None, expect, line)

    def test_lines(self) -> None:
        self.check("2026-11-22T12:00:00Z  INFO coffer_server: coffer server started "
                   "address=127.0.0.1:41234", 41234)
        self.check("\x1b[32m INFO\x1b[0m \x1b[2mcoffer_server\x1b[0m: coffer server started "
                   "\x1b[3maddress\x1b[0m\x1b[2m=\x1b[0m127.0.0.1:5001", 5001)
        # the per-listener line comes first and must not be taken for readiness
        self.check(" INFO coffer_server::server: listening address=127.0.0.1:5001 tls=false", None)
        self.check("coffer server stopped", None)


class Proc(unittest.TestCase):
    def test_own_process(self) -> None:
        sum(i * i for i in range(200_000))  # burn a little CPU so the counter moves
        self.assertGreater(proc_cpu_seconds(os.getpid()), 0.0)
        mem = memory_kib(os.getpid())
        self.assertGreater(mem["VmRSS"], 0)
        self.assertGreaterEqual(mem["VmHWM"], mem["VmRSS"])

    def test_launch_prefix(self) -> None:
        for cpus, nice, expect in [
            (None, 0, []),
            ("0", 0, ["taskset", "-c", "0"]),
            (None, -10, ["nice", "-n", "-10"]),
            ("1", -5, ["nice", "-n", "-5", "taskset", "-c", "1"]),
        ]:
            self.assertEqual(launch_prefix(cpus, nice), expect)


class Report(unittest.TestCase):
    def test_targets(self) -> None:
        for read_ops, transit_ops, expect in [
            (50_000, 10_000, ["met", "met"]),
            (49_000, 9_999, ["MISSED", "MISSED"]),
        ]:
            rs = [result("floor", 100_000), result("kv_read", read_ops),
                  result("transit_encrypt", transit_ops), result("floor_after", 100_000)]
            verdicts = [line.rsplit(" ", 1)[1] for line in report.targets(rs).splitlines()]
            self.assertEqual(verdicts, expect)

    def test_floor_is_mean_of_both_runs(self) -> None:
        rs = [result("floor", 80_000), result("kv_read", 1), result("floor_after", 120_000)]
        self.assertEqual(report.floor_ops(rs), 100_000)

    def test_cpu_ratio_column(self) -> None:
        rs = [result("floor", 1000, cpu_us=5.0), result("kv_read", 1000, cpu_us=20.0)]
        row = report.table(rs).splitlines()[3]
        self.assertIn("| 20.0 | 0.25 |", row)

    def test_splice(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            doc = Path(d) / "doc.md"
            doc.write_text(f"intro\n{report.START}\nold\n{report.END}\noutro\n")
            report.splice(doc, "new\n")
            self.assertEqual(doc.read_text(),
                             f"intro\n{report.START}\nnew\n{report.END}\noutro\n")
            doc.write_text("no markers\n")
            with self.assertRaises(ValueError):
                report.splice(doc, "x\n")


if __name__ == "__main__":
    unittest.main()
