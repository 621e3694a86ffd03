"""Response wrapping: X-Vault-Wrap-TTL on any request (hvac's wrap_ttl), sys/wrapping/wrap,
unwrap (single use, both as body token and as X-Vault-Token), lookup, rewrap and wrap-TTL expiry.
"""

from concurrent.futures import ThreadPoolExecutor

import hvac
import pytest

from conftest import uid
from harness.poll import wait_until


def test_wrapped_token_create_and_unwrap(dev_server, client):
    resp = client.auth.token.create(policies=["default"], ttl="10m", wrap_ttl="60s")
    assert resp["auth"] is None
    assert resp["data"] is None
    info = resp["wrap_info"]
    assert info["ttl"] == 60
    assert info["token"] and info["accessor"]
    assert info["creation_path"] == "auth/token/create"
    assert info["creation_time"]

    inner = client.sys.unwrap(token=info["token"])
    token = inner["auth"]["client_token"]
    assert dev_server.client(token=token).auth.token.lookup_self()["data"]["policies"] == ["default"]

    # Single use.
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        client.sys.unwrap(token=info["token"])
    assert "wrapping token is not valid or does not exist" in err.value.errors[0]


def test_wrap_arbitrary_data_and_unwrap_with_wrapping_token_as_auth(dev_server, client):
    resp = client.sys.wrap(payload={"db": "pass", "n": 3}, ttl=120)
    info = resp["wrap_info"]
    assert info["ttl"] == 120
    assert info["creation_path"] == "sys/wrapping/wrap"

    # Unwrap presenting the wrapping token itself as X-Vault-Token, no body token.
    unwrapped = dev_server.client(token=info["token"]).sys.unwrap()
    assert unwrapped["data"] == {"db": "pass", "n": 3}


def test_wrapped_kv_read(client, kv1_mount):
    client.secrets.kv.v1.create_or_update_secret("w", {"api_key": "abc123"}, mount_point=kv1_mount)
    resp = client.read(f"{kv1_mount}/w", wrap_ttl="30s")
    assert resp["data"] is None
    assert resp["wrap_info"]["creation_path"] == f"{kv1_mount}/w"
    assert "abc123" not in str(resp)
    assert client.sys.unwrap(token=resp["wrap_info"]["token"])["data"] == {"api_key": "abc123"}


def test_lookup_wrapping_token(dev_server, client):
    info = client.sys.wrap(payload={"a": "b"}, ttl=90)["wrap_info"]
    looked = dev_server.client(token="").adapter.post("/v1/sys/wrapping/lookup", json={"token": info["token"]})
    data = looked["data"]
    assert data["creation_path"] == "sys/wrapping/wrap"
    assert data["creation_ttl"] == 90
    assert data["creation_time"]
    # Lookup does not consume the token.
    assert client.sys.unwrap(token=info["token"])["data"] == {"a": "b"}


def test_rewrap_invalidates_old_token(client):
    old = client.sys.wrap(payload={"k": "v"}, ttl=300)["wrap_info"]["token"]
    new = client.adapter.post("/v1/sys/wrapping/rewrap", json={"token": old})["wrap_info"]
    assert new["token"] != old
    assert new["ttl"] == 300
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.unwrap(token=old)
    assert client.sys.unwrap(token=new["token"])["data"] == {"k": "v"}


def test_wrapping_token_expires(client):
    token = client.sys.wrap(payload={"k": "v"}, ttl=2)["wrap_info"]["token"]
    assert client.adapter.post("/v1/sys/wrapping/lookup", json={"token": token})["data"]["creation_ttl"] == 2

    def expired():
        try:
            client.adapter.post("/v1/sys/wrapping/lookup", json={"token": token})
        except hvac.exceptions.InvalidRequest:
            return True
        return False

    wait_until(expired, timeout=15, interval=0.2, what="wrapping token expiry")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.unwrap(token=token)


def test_unwrap_bogus_token(client):
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.unwrap(token="hvs.definitely-not-a-wrapping-token")


def test_policy_wrapping_ttl_bounds(dev_server, client, kv1_mount):
    client.secrets.kv.v1.create_or_update_secret("wrapped-only", {"v": "1"}, mount_point=kv1_mount)
    name = uid("wrapttl")
    client.sys.create_or_update_acl_policy(
        name,
        f"""
path "{kv1_mount}/wrapped-only" {{
  capabilities     = ["read"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = "10m"
}}
""",
    )
    token = client.auth.token.create(policies=[name], ttl="5m")["auth"]["client_token"]
    user = dev_server.client(token=token)
    with pytest.raises(hvac.exceptions.Forbidden):
        user.adapter.get(f"/v1/{kv1_mount}/wrapped-only")  # unwrapped: below the minimum
    with pytest.raises(hvac.exceptions.Forbidden):
        user.adapter.get(f"/v1/{kv1_mount}/wrapped-only", wrap_ttl="30s")
    with pytest.raises(hvac.exceptions.Forbidden):
        user.adapter.get(f"/v1/{kv1_mount}/wrapped-only", wrap_ttl="1h")
    wrapped = user.adapter.get(f"/v1/{kv1_mount}/wrapped-only", wrap_ttl="5m")
    assert wrapped["wrap_info"]["ttl"] == 300
    assert client.sys.unwrap(token=wrapped["wrap_info"]["token"])["data"] == {"v": "1"}


def test_unwrap_is_single_use_under_concurrency(dev_server, client):
    token = client.sys.wrap(payload={"once": "only"}, ttl=60)["wrap_info"]["token"]

    def unwrap(_):
        try:
            return dev_server.client().sys.unwrap(token=token)["data"]
        except hvac.exceptions.InvalidRequest:
            return None

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(unwrap, range(10)))
    assert [r for r in results if r is not None] == [{"once": "only"}]
