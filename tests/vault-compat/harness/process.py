"""Start, watch and stop server processes (coffer-server, moto_server) for tests.

Every process is started in its own session so teardown can kill the whole group, and its
output goes to a log file whose tail is shown when a start-up fails: the server engineer
needs the server's own words, not just "connection refused".
"""

import os
import signal
import socket
import subprocess

import requests

from .poll import wait_until


def _die_with_parent():
    """Runs in the child before exec: ask Linux to SIGKILL it if the test runner dies, so an
    interrupted or killed pytest never leaves servers behind (teardown covers normal exits)."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass  # not Linux/glibc: fall back to fixture teardown only


class ProcessDied(RuntimeError):
    pass


def free_port():
    """A TCP port that is free right now (bind to port 0 and ask the kernel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path, head=15, tail=25):
    """The start and end of a log: a Rust error's message is at the top of its backtrace."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except OSError:
        return "<no log>"
    if len(lines) <= head + tail:
        return "".join(lines)
    return "".join(lines[:head]) + f"... ({len(lines) - head - tail} lines) ...\n" + "".join(lines[-tail:])


class Process:
    """A child process with its output in `log_path`."""

    def __init__(self, argv, log_path, env=None):
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.proc = None

    def start(self):
        full_env = dict(os.environ)
        if self.env:
            full_env.update(self.env)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=full_env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signal the process group and wait; return the exit code (None if never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        code = self.proc.returncode
        self.proc = None
        return code

    def kill9(self):
        self.stop(sig=signal.SIGKILL)

    def wait_http(self, url, ok, *, timeout=30.0, verify=True, what=None):
        """Poll `url` until `ok(response)` holds; fail early with the log if the process died."""

        def ready():
            if not self.alive():
                raise ProcessDied(f"{self.argv[0]} exited early:\n{log_tail(self.log_path)}")
            resp = requests.get(url, timeout=2, verify=verify)
            return ok(resp)

        try:
            wait_until(ready, timeout=timeout, interval=0.1, what=what or url, fatal=(ProcessDied,))
        except AssertionError as err:
            raise AssertionError(f"{err}\n--- {self.argv[0]} log tail ---\n{log_tail(self.log_path)}") from None
