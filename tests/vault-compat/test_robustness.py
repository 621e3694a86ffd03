"""Odd-but-valid-JSON bodies thrown at every writable endpoint family: whatever the server
decides, it answers (no dropped connection), never with a 5xx, and stays up. Catches panics
and unchecked conversions (huge numbers, negative counts, deep nesting, wrong JSON types).
"""

import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from conftest import uid
from harness.poll import wait_until

BODIES = {
    "empty object": "{}",
    "all nulls": json.dumps(
        {"type": None, "policy": None, "ttl": None, "plaintext": None, "data": None, "password": None}
    ),
    "wrong scalar types": json.dumps({"type": 1, "policy": 2, "ttl": True, "plaintext": 3, "data": 4, "password": 5}),
    "huge numbers": json.dumps({"ttl": 10**30, "num_uses": 2**64, "max_versions": -1, "bits": 10**9, "version": 1e308}),
    "negative durations": json.dumps({"ttl": "-5s", "token_ttl": "-1h", "secret_id_ttl": -10, "period": "-1m"}),
    "nested 100 deep": '{"data":' + '{"a":' * 100 + "1" + "}" * 100 + "}",
    # Deeper than any parser's recursion limit: must be refused, not overflow the stack.
    "nested 100000 deep": '{"data":' + "[" * 100_000 + "]" * 100_000 + "}",
    "lists for strings": json.dumps({"type": ["kv"], "policy": ["x"], "password": ["p"], "plaintext": ["eA=="]}),
    "unicode and nul": json.dumps({"policy": 'path "\u0000" { capabilities = ["read"] }', "password": "\ud7ff\u0000"}),
    "long strings": json.dumps({"policy": "x" * 100_000, "password": "p" * 100_000, "plaintext": "A" * 100_000}),
}

ENDPOINTS = [
    "sys/policies/acl/{u}",
    "sys/policy/{u}",
    "sys/mounts/{u}",
    "sys/mounts/{kv}/tune",
    "sys/auth/{u}",
    "sys/audit/{u}",
    "sys/capabilities-self",
    "sys/wrapping/wrap",
    "sys/wrapping/unwrap",
    "sys/wrapping/lookup",
    "sys/leases/lookup",
    "sys/leases/renew",
    "sys/unseal",
    "sys/init",
    "auth/token/create",
    "auth/token/lookup",
    "auth/token/renew",
    "auth/{up}/users/{u}",
    "auth/{up}/login/{u}",
    "auth/{ar}/role/{u}",
    "auth/{ar}/login",
    "{kv}/data/{u}",
    "{kv}/metadata/{u}",
    "{kv}/config",
    "{kv}/delete/{u}",
    "{kv}/destroy/{u}",
    "{tr}/keys/{u}",
    "{tr}/encrypt/{u}",
    "{tr}/decrypt/{u}",
    "{tr}/datakey/plaintext/{u}",
    "{tr}/hmac/{u}",
    "{tr}/sign/{u}",
    "{tr}/random/{u}",
]


@pytest.fixture(scope="module")
def targets(dev_server):
    client = dev_server.client()
    names = {"kv": uid("rkv"), "tr": uid("rtr"), "up": uid("rup"), "ar": uid("rar")}
    client.sys.enable_secrets_engine("kv", path=names["kv"], options={"version": "2"})
    client.sys.enable_secrets_engine("transit", path=names["tr"])
    client.sys.enable_auth_method("userpass", path=names["up"])
    client.sys.enable_auth_method("approle", path=names["ar"])
    client.secrets.transit.create_key("k", mount_point=names["tr"])
    yield names
    for m in ("kv", "tr"):
        client.sys.disable_secrets_engine(names[m])
    for m in ("up", "ar"):
        client.sys.disable_auth_method(names[m])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("body_name", list(BODIES))
def test_no_5xx_and_still_alive(dev_server, targets, endpoint, body_name):
    path = endpoint.format(u=uid("x"), **targets)
    resp = requests.post(
        f"{dev_server.url}/v1/{path}",
        data=BODIES[body_name].encode(),
        headers={"X-Vault-Token": dev_server.root_token, "Content-Type": "application/json"},
        timeout=15,
    )
    assert resp.status_code < 500, f"POST {path} [{body_name}] -> {resp.status_code}: {resp.text[:300]}"
    if resp.status_code >= 400:
        assert isinstance(resp.json()["errors"], list)
    assert dev_server.alive()
    assert requests.get(f"{dev_server.url}/v1/sys/health", timeout=5).status_code == 200


@pytest.mark.parametrize(
    "method, path, params, headers",
    [
        ("GET", "{kv}/data/x", {"version": "abc"}, {}),
        ("GET", "{kv}/data/x", {"version": "-1"}, {}),
        ("GET", "{kv}/data/x", {"version": str(2**70)}, {}),
        ("GET", "{kv}/metadata/", {"list": "maybe"}, {}),
        ("GET", "{kv}/subkeys/x", {"depth": "-3"}, {}),
        ("GET", "sys/health", {"activecode": "abc"}, {}),
        ("GET", "sys/health", {"sealedcode": "99999"}, {}),
        ("GET", "auth/token/lookup-self", {}, {"X-Vault-Wrap-TTL": "soon"}),
        ("GET", "auth/token/lookup-self", {}, {"X-Vault-Wrap-TTL": "-5m"}),
        ("GET", "auth/token/lookup-self", {}, {"X-Vault-Token": "x" * 10_000}),
        ("GET", "auth/token/lookup-self", {}, {"X-Vault-Token": ""}),
        ("GET", "auth/token/lookup-self", {}, {"Authorization": "Bearer"}),
        ("GET", "auth/token/lookup-self", {}, {"Authorization": "Basic dXNlcjpwYXNz"}),
        ("POST", "{kv}/data/x", {}, {"Content-Type": "text/plain"}),
        ("BREW", "{kv}/data/x", {}, {}),
        ("GET", "%ff%fe/bad-utf8", {}, {}),
        ("GET", "{kv}/data/" + "a/" * 2000, {}, {}),
    ],
)
def test_odd_requests_get_clean_answers(dev_server, targets, method, path, params, headers):
    hdrs = {"X-Vault-Token": dev_server.root_token}
    hdrs.update(headers)
    resp = requests.request(
        method,
        f"{dev_server.url}/v1/{path.format(**targets)}",
        params=params,
        headers=hdrs,
        data=b'{"data": {"a": "b"}}' if method == "POST" else None,
        timeout=15,
    )
    assert resp.status_code < 500, f"{method} {path} -> {resp.status_code}: {resp.text[:300]}"
    assert dev_server.alive()


def open_stragglers(server, count):
    """Connections that send part of a request head and then go quiet."""
    parts = urlsplit(server.url)
    socks = []
    for _ in range(count):
        sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
        sock.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        socks.append(sock)
    return socks


def test_slow_clients_do_not_block_others(dev_server):
    stragglers = open_stragglers(dev_server, 100)
    try:
        for _ in range(5):
            assert requests.get(f"{dev_server.url}/v1/sys/health", timeout=5).status_code == 200
    finally:
        for sock in stragglers:
            sock.close()


def test_slow_clients_are_dropped_after_http_read_header_timeout(make_config_server):
    """Slow-loris guard, configured the Vault way (listener `http_read_header_timeout`, default 10s)."""
    server = make_config_server(listener_extra='  http_read_header_timeout = "2s"').start()
    (probe,) = open_stragglers(server, 1)
    probe.settimeout(0.5)

    def closed_by_server():
        try:
            return probe.recv(1024) == b""
        except socket.timeout:
            return False
        except OSError:
            return True  # a reset also counts as dropped

    try:
        wait_until(closed_by_server, timeout=10, interval=0.1, what="server to drop a header-less connection")
    finally:
        probe.close()
