"""Hostile and sloppy input: malformed JSON, wrong types, JSON nulls for unset fields, bodies
over max_request_size, unknown routes, path traversal. Every refusal is a 4xx carrying Vault's
`{"errors": [...]}` with Content-Type exactly application/json (hvac only parses errors then),
and never a 500.
"""

import http.client
import json
from urllib.parse import urlsplit

import hvac
import pytest
import requests

from conftest import uid


def raw(server, method, path, body=None, token=None, headers=None):
    hdrs = {"X-Vault-Token": token if token is not None else server.root_token}
    if headers:
        hdrs.update(headers)
    return requests.request(method, f"{server.url}{path}", data=body, headers=hdrs, timeout=15, verify=server.verify)


def assert_vault_error(resp, status=None):
    if status is None:
        assert 400 <= resp.status_code < 500, f"{resp.status_code}: {resp.text[:300]}"
    else:
        assert resp.status_code == status, f"{resp.status_code}: {resp.text[:300]}"
    assert resp.headers.get("Content-Type") == "application/json"
    body = resp.json()
    assert isinstance(body["errors"], list)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"data": {"a": }',
        b"not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"just a string"',
    ],
)
def test_malformed_json_is_400(dev_server, kv1_mount, body):
    resp = raw(dev_server, "POST", f"/v1/{kv1_mount}/x", body=body, headers={"Content-Type": "application/json"})
    assert_vault_error(resp, 400)


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/auth/token/create", {"ttl": {"nested": True}}),
        ("/v1/auth/token/create", {"num_uses": "many"}),
        ("/v1/auth/token/create", {"policies": {"a": 1}}),
        ("/v1/auth/token/create", {"renewable": "perhaps"}),
        ("/v1/auth/token/create", {"ttl": "ten minutes"}),
        ("/v1/sys/policies/acl/{uid}", {"policy": ["not", "a", "string"]}),
        ("/v1/sys/mounts/{uid}", {"type": 5}),
        ("/v1/sys/mounts/{uid}", {"type": "kv", "config": "not-an-object"}),
    ],
)
def test_wrong_types_are_400(dev_server, path, body):
    resp = raw(dev_server, "POST", path.format(uid=uid("x")), body=json.dumps(body))
    assert_vault_error(resp, 400)


@pytest.mark.parametrize("data", ["a string", 5, ["list"], None])
def test_kv2_data_must_be_an_object(client, kv2_mount, data):
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        client.adapter.post(f"/v1/{kv2_mount}/data/x", json={"data": data})
    assert err.value.errors


def test_json_nulls_mean_unset(dev_server, client):
    """Clients (hvac, Terraform) send null for fields they do not set."""
    resp = raw(
        dev_server,
        "POST",
        "/v1/auth/token/create",
        body=json.dumps(
            {
                "policies": ["default"],
                "ttl": None,
                "meta": None,
                "no_parent": None,
                "display_name": None,
                "num_uses": None,
                "period": None,
                "explicit_max_ttl": None,
                "renewable": None,
                "type": None,
            }
        ),
    )
    assert resp.status_code == 200, resp.text
    auth = resp.json()["auth"]
    assert auth["policies"] == ["default"]
    assert auth["renewable"] is True


def test_empty_body_post_is_accepted_where_no_fields_are_required(dev_server):
    resp = raw(dev_server, "POST", "/v1/auth/token/create", body=b"")
    assert resp.status_code == 200, resp.text


def test_unknown_route_is_404_with_errors(dev_server):
    resp = raw(dev_server, "GET", f"/v1/{uid('nomount')}/foo")
    assert_vault_error(resp, 404)
    assert resp.json()["errors"]


def test_missing_token_is_403(dev_server, kv1_mount):
    resp = requests.get(f"{dev_server.url}/v1/{kv1_mount}/x", timeout=10)
    assert_vault_error(resp, 403)


def test_error_content_type_is_exact_so_hvac_parses_errors(dev_server, client):
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        client.adapter.post("/v1/auth/token/create", json={"ttl": "ten minutes"})
    # hvac compares Content-Type to "application/json" exactly; with a charset suffix it would
    # lose the errors list.
    assert isinstance(err.value.errors, list) and err.value.errors


@pytest.fixture
def small_limit_server(make_config_server):
    server = make_config_server(listener_extra="  max_request_size = 4096").start()
    server.init_and_unseal()
    server.client().sys.enable_secrets_engine("kv", path="kv", options={"version": "1"})
    return server


def test_body_over_max_request_size_is_refused(small_limit_server):
    server = small_limit_server
    ok = raw(server, "POST", "/v1/kv/small", body=json.dumps({"v": "x" * 1000}))
    assert ok.status_code == 204

    big = raw(server, "POST", "/v1/kv/big", body=json.dumps({"v": "x" * 64 * 1024}))
    assert big.status_code in (400, 413), big.status_code
    assert big.json()["errors"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        server.client().secrets.kv.v1.read_secret("big", mount_point="kv")


def test_default_max_request_size_refuses_huge_bodies(dev_server, kv1_mount):
    """Vault's default limit is 32 MiB; a 40 MiB body must be refused, not buffered and stored."""
    body = b'{"v": "' + b"x" * (40 * 1024 * 1024) + b'"}'
    try:
        resp = raw(dev_server, "POST", f"/v1/{kv1_mount}/huge", body=body)
    except requests.exceptions.ConnectionError:
        # Closing the connection mid-upload is an acceptable refusal.
        resp = None
    if resp is not None:
        assert resp.status_code in (400, 413)
    with pytest.raises(hvac.exceptions.InvalidPath):
        dev_server.client().secrets.kv.v1.read_secret("huge", mount_point=kv1_mount)


def send_raw_path(server, token, path):
    """http.client sends the path byte-for-byte (requests/urllib3 would normalise `..`)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path, headers={"X-Vault-Token": token})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "template",
    [
        "/v1/{mount}/allowed/../private",
        "/v1/{mount}/allowed/%2e%2e/private",
        "/v1/{mount}/allowed/%2E%2E%2Fprivate",
        "/v1/{mount}/allowed/..%2fprivate",
        "/v1/{mount}/allowed/./../private",
        "/v1/{mount}/allowed//../private",
    ],
)
def test_path_traversal_does_not_escape_policy(dev_server, client, kv1_mount, template):
    client.secrets.kv.v1.create_or_update_secret("private", {"v": "top-secret-value"}, mount_point=kv1_mount)
    client.secrets.kv.v1.create_or_update_secret("allowed/ok", {"v": "fine"}, mount_point=kv1_mount)
    name = uid("trav")
    client.sys.create_or_update_acl_policy(name, f'path "{kv1_mount}/allowed/*" {{ capabilities = ["read"] }}')
    token = client.auth.token.create(policies=[name], ttl="5m")["auth"]["client_token"]

    status, body = send_raw_path(dev_server, token, f"/v1/{kv1_mount}/allowed/ok")
    assert status == 200 and b"fine" in body

    status, body = send_raw_path(dev_server, token, template.format(mount=kv1_mount))
    assert status != 200
    assert status < 500
    assert b"top-secret-value" not in body


def test_path_traversal_cannot_reach_another_mount(dev_server, client, kv1_mount):
    other = uid("kvother")
    client.sys.enable_secrets_engine("kv", path=other, options={"version": "1"})
    try:
        client.secrets.kv.v1.create_or_update_secret("s", {"v": "other-mount-secret"}, mount_point=other)
        name = uid("trav")
        client.sys.create_or_update_acl_policy(name, f'path "{kv1_mount}/*" {{ capabilities = ["read"] }}')
        token = client.auth.token.create(policies=[name], ttl="5m")["auth"]["client_token"]
        status, body = send_raw_path(dev_server, token, f"/v1/{kv1_mount}/../{other}/s")
        assert status != 200 and status < 500
        assert b"other-mount-secret" not in body
    finally:
        client.sys.disable_secrets_engine(other)
