"""Vault's response envelope and verbs, checked once across a few endpoints: every JSON answer
carries the full envelope, 204s have no body, the LIST verb and GET ?list=true (in every
spelling hvac and the vault CLI use) are the same operation, and request ids are unique.
"""

import re
import uuid

import pytest
import requests


ENVELOPE_KEYS = {"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth"}


def call(server, method, path, **kwargs):
    headers = kwargs.pop("headers", {})
    headers.setdefault("X-Vault-Token", server.root_token)
    return requests.request(method, f"{server.url}/v1/{path}", headers=headers, timeout=10, **kwargs)


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "auth/token/lookup-self"),
        ("GET", "sys/mounts"),
        ("GET", "sys/policies/acl/default"),
        ("LIST", "sys/policies/acl"),
    ],
)
def test_full_envelope(dev_server, method, path):
    resp = call(dev_server, method, path)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert ENVELOPE_KEYS <= set(body), ENVELOPE_KEYS - set(body)
    uuid.UUID(body["request_id"])
    assert body["lease_id"] == ""
    assert body["renewable"] is False
    assert body["wrap_info"] is None
    assert isinstance(body["data"], dict)


def test_kv_read_envelope_values(dev_server, client, kv1_mount):
    client.secrets.kv.v1.create_or_update_secret("e", {"k": "v"}, mount_point=kv1_mount)
    body = call(dev_server, "GET", f"{kv1_mount}/e").json()
    assert body["data"] == {"k": "v"}
    assert body["auth"] is None
    assert body["warnings"] is None
    assert body["mount_type"] == "kv"
    assert body["lease_duration"] == 2764800


def test_request_ids_are_unique(dev_server):
    ids = {call(dev_server, "GET", "auth/token/lookup-self").json()["request_id"] for _ in range(20)}
    assert len(ids) == 20


def test_no_content_has_empty_body(dev_server, kv1_mount):
    resp = call(dev_server, "POST", f"{kv1_mount}/nc", json={"a": "b"})
    assert resp.status_code == 204
    assert resp.content == b""
    resp = call(dev_server, "DELETE", f"{kv1_mount}/nc")
    assert resp.status_code == 204
    assert resp.content == b""


@pytest.mark.parametrize(
    "method, suffix, params",
    [
        ("LIST", "dir", None),
        ("LIST", "dir/", None),
        ("GET", "dir", {"list": "true"}),
        ("GET", "dir/", {"list": "true"}),
        ("GET", "dir", {"list": "True"}),  # hvac sends Python's True
        ("GET", "dir", {"list": "1"}),
    ],
)
def test_list_spellings_are_equivalent(dev_server, client, kv1_mount, method, suffix, params):
    for key in ("dir/a", "dir/b", "dir/sub/c"):
        client.secrets.kv.v1.create_or_update_secret(key, {"v": key}, mount_point=kv1_mount)
    resp = call(dev_server, method, f"{kv1_mount}/{suffix}", params=params)
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"]["keys"] == ["a", "b", "sub/"]


def test_put_and_post_are_the_same_write(dev_server, client, kv1_mount):
    assert call(dev_server, "PUT", f"{kv1_mount}/put", json={"via": "put"}).status_code == 204
    assert call(dev_server, "POST", f"{kv1_mount}/post", json={"via": "post"}).status_code == 204
    assert client.secrets.kv.v1.read_secret("put", mount_point=kv1_mount)["data"] == {"via": "put"}
    assert client.secrets.kv.v1.read_secret("post", mount_point=kv1_mount)["data"] == {"via": "post"}


def test_token_via_authorization_bearer(dev_server, kv1_mount, client):
    client.secrets.kv.v1.create_or_update_secret("bearer", {"ok": "yes"}, mount_point=kv1_mount)
    resp = requests.get(
        f"{dev_server.url}/v1/{kv1_mount}/bearer",
        headers={"Authorization": f"Bearer {dev_server.root_token}"},
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.json()["data"] == {"ok": "yes"}


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "auth/token/lookup-self"),
        ("GET", "sys/health"),
        ("GET", "sys/seal-status"),
        ("GET", "no-such-mount/x"),
    ],
)
def test_responses_are_not_cacheable(dev_server, method, path):
    """Vault sets Cache-Control: no-store on every answer: secrets must not land in proxy caches."""
    resp = call(dev_server, method, path)
    assert resp.headers.get("Cache-Control") == "no-store"


@pytest.mark.parametrize(
    "key",
    [
        "with space",
        "ünïcödé/ключ",
        "percent%25literal",
        "plus+sign",
        "semi;colon",
        "quote'mark",
    ],
)
def test_unusual_key_names_round_trip(client, kv2_mount, key):
    client.secrets.kv.v2.create_or_update_secret(key, {"k": key}, mount_point=kv2_mount)
    got = client.secrets.kv.v2.read_secret(key, mount_point=kv2_mount, raise_on_deleted_version=True)
    assert got["data"]["data"] == {"k": key}
    top = key.split("/")[0] + ("/" if "/" in key else "")
    assert top in client.secrets.kv.v2.list_secrets("", mount_point=kv2_mount)["data"]["keys"]


def test_reports_a_vault_compatible_version(dev_server):
    """Clients gate features on the server's version (terraform-provider-vault reads it from
    sys/seal-status and compares with Vault releases), so the version must read as a Vault
    release that has the APIs coffer implements (>= 1.12), with coffer's own version as metadata."""
    for path in ("sys/seal-status", "sys/health"):
        version = call(dev_server, "GET", path).json()["version"]
        m = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
        assert m, version
        assert (int(m.group(1)), int(m.group(2))) >= (1, 12), version
