"""Throughput smoke benchmark: KV v2 read/write and transit encrypt against a dev-mode server,
over keep-alive HTTP from N client threads. Not a test (no pass/fail); it prints ops/s so a
change that serialises the hot path shows up. Run the same against `vault server -dev` for a
like-for-like comparison:

    python bench.py --bin <coffer-server> [--threads 8] [--seconds 5]
    python bench.py --url http://127.0.0.1:8200 --token root     # an already running server
"""

import argparse
import base64
import tempfile
import threading
import time

import requests

from harness.coffer import dev_server


def worker(url, token, op, stop, counts, idx):
    s = requests.Session()
    s.headers["X-Vault-Token"] = token
    n = 0
    payload = {"plaintext": base64.b64encode(b"x" * 64).decode()}
    while not stop.is_set():
        if op == "kv-write":
            r = s.post(f"{url}/v1/bench-kv/data/k{idx}-{n % 100}", json={"data": {"v": str(n)}})
        elif op == "kv-read":
            r = s.get(f"{url}/v1/bench-kv/data/shared")
        else:
            r = s.post(f"{url}/v1/bench-transit/encrypt/k", json=payload)
        if r.status_code >= 300:
            raise RuntimeError(f"{op}: {r.status_code} {r.text[:200]}")
        n += 1
    counts[idx] = n


def run(url, token, threads, seconds):
    s = requests.Session()
    s.headers["X-Vault-Token"] = token
    s.post(f"{url}/v1/sys/mounts/bench-kv", json={"type": "kv", "options": {"version": "2"}})
    s.post(f"{url}/v1/sys/mounts/bench-transit", json={"type": "transit"})
    s.post(f"{url}/v1/bench-transit/keys/k", json={})
    s.post(f"{url}/v1/bench-kv/data/shared", json={"data": {"v": "shared"}})
    for op in ("kv-write", "kv-read", "transit-encrypt"):
        stop, counts = threading.Event(), [0] * threads
        ts = [threading.Thread(target=worker, args=(url, token, op, stop, counts, i)) for i in range(threads)]
        for t in ts:
            t.start()
        time.sleep(seconds)  # the measurement window itself, not synchronisation
        stop.set()
        for t in ts:
            t.join()
        print(f"{op:16s} {sum(counts) / seconds:10.0f} ops/s  ({threads} threads, {seconds}s)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin")
    p.add_argument("--url")
    p.add_argument("--token", default="")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--seconds", type=float, default=5)
    a = p.parse_args()
    if a.url:
        run(a.url, a.token, a.threads, a.seconds)
        return
    server = dev_server(a.bin, tempfile.mkdtemp(prefix="coffer-bench-"))
    try:
        run(server.url, server.root_token, a.threads, a.seconds)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
