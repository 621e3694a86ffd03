"""The coffer-server under test: write a config, start the binary (optionally pinned to a CPU),
find its bound address from its log, initialise + unseal it, seed data, stop it.

Why a config-file server and not `-dev`: dev mode keeps storage in memory, while a real
deployment writes through the durable redb file store (fsync per acknowledged write). The
benchmark must show the realistic cost, so it always uses a `storage "file"` config.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import time
from pathlib import Path

from measure import boost, launch_prefix

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# tracing's fmt layer prints the message, then the fields: "coffer server started address=IP:PORT".
LISTEN = re.compile(r"coffer server started.*?address=([0-9.]+):(\d+)")


BENCH_POLICY = """
path "secret/data/bench/*" {
  capabilities = ["create", "read", "update"]
}
path "transit/encrypt/bench" {
  capabilities = ["update"]
}
"""


class BenchError(RuntimeError):
    pass


def write_tls(workdir: Path) -> tuple[Path, Path]:
    """A throwaway self-signed P-256 certificate for 127.0.0.1 (loopback only)."""
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def write_config(workdir: Path, tls: bool) -> Path:
    if tls:
        cert, key = write_tls(workdir)
        tls_lines = f'  tls_cert_file = "{cert}"\n  tls_key_file = "{key}"\n'
    else:
        tls_lines = "  tls_disable = true\n"
    cfg = workdir / "server.hcl"
    cfg.write_text(
        f'storage "file" {{\n  path = "{workdir / "data"}"\n}}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:0"\n{tls_lines}}}\n'
    )
    return cfg


class Client:
    """One keep-alive connection speaking Vault's HTTP API (enough for setup and checks)."""

    def __init__(self, host: str, port: int, tls: bool, token: str | None = None):
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # self-signed loopback cert made by this run
            self.conn = http.client.HTTPSConnection(host, port, timeout=30, context=ctx)
        else:
            self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None, ok=(200, 204)) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["X-Vault-Token"] = self.token
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, "/v1/" + path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status not in ok:
            raise BenchError(f"{method} /v1/{path} -> {resp.status}: {raw[:300]!r}")
        return json.loads(raw) if raw else {}

    def close(self) -> None:
        self.conn.close()


class Server:
    def __init__(self, binary: Path, workdir: Path, tls: bool, cpus: str | None, nice: int = 0):
        self.binary, self.workdir, self.tls, self.cpus = binary, workdir, tls, cpus
        self.nice = nice
        self.proc: subprocess.Popen | None = None
        self.host, self.port = "127.0.0.1", 0
        self.token = ""
        self.log_path = workdir / "server.log"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise BenchError("server not started")
        return self.proc.pid

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def start(self, timeout: float = 30.0) -> None:
        cfg = write_config(self.workdir, self.tls)
        cmd = launch_prefix(self.cpus, self.nice) + [str(self.binary), "server", f"-config={cfg}"]
        env = dict(os.environ, COFFER_BENCH_FLOOR="1", NO_COLOR="1")
        env.pop("COFFER_LOG", None)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        boost(self.proc.pid, self.nice)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"server exited early: {self.log_tail()}")
            for line in ANSI.sub("", self.log_path.read_text(errors="replace")).splitlines():
                m = LISTEN.search(line)
                if m:
                    self.port = int(m.group(2))
                    return
            time.sleep(0.05)  # polling the log with a deadline
        raise BenchError(f"server did not report its address in {timeout}s: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "<no log>"

    def client(self, token: str | None = None) -> Client:
        return Client(self.host, self.port, self.tls, token)

    def init_unseal(self) -> None:
        c = self.client()
        init = c.call("PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1})
        st = c.call("PUT", "sys/unseal", {"key": init["keys_base64"][0]})
        if st.get("sealed") is not False:
            raise BenchError(f"unseal did not unseal: {st}")
        self.token = init["root_token"]
        c.close()

    def seed(self, keys: int) -> None:
        """secret/ as KV v2 with `keys` entries, transit/ with aes256-gcm96 key `bench`."""
        c = self.client(self.token)
        c.call("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}})
        c.call("POST", "sys/mounts/transit", {"type": "transit"})
        c.call("POST", "transit/keys/bench", {"type": "aes256-gcm96"})
        value = "v" * 64
        for i in range(1, keys + 1):
            c.call("POST", f"secret/data/bench/key-{i}", {"data": {"value": value, "n": i}})
        # Every case must answer what we think before it is timed.
        got = c.call("GET", f"secret/data/bench/key-{keys}")
        if got["data"]["data"]["n"] != keys:
            raise BenchError(f"seeded KV read returned {got}")
        enc = c.call("POST", "transit/encrypt/bench", {"plaintext": "aGVsbG8="})
        ct = enc["data"]["ciphertext"]
        if not ct.startswith("vault:v1:"):
            raise BenchError(f"transit encrypt returned {enc}")
        dec = c.call("POST", "transit/decrypt/bench", {"ciphertext": ct})
        if dec["data"]["plaintext"] != "aGVsbG8=":
            raise BenchError(f"transit round trip returned {dec}")
        floor = c.call("GET", "sys/coffer/floor")
        if floor.get("data", {}).get("floor") is not True:
            raise BenchError("floor route missing: server lacks COFFER_BENCH_FLOOR support")
        c.close()

    def policy_token(self) -> str:
        """A non-root token limited to what the cases touch: the root token skips the ACL
        check entirely, so benchmarking with it would hide the cost real clients pay."""
        c = self.client(self.token)
        c.call("PUT", "sys/policies/acl/bench", {"policy": BENCH_POLICY})
        tok = c.call("POST", "auth/token/create", {"policies": ["bench"], "ttl": "2h"})
        c.close()
        token = tok["auth"]["client_token"]
        probe = self.client(token)
        probe.call("GET", "secret/data/bench/key-1")
        probe.call("GET", "sys/mounts", ok=(403,))  # the token really is limited
        probe.close()
        return token

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
