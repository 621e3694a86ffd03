"""KV version 1 through `client.secrets.kv.v1`: write/read/list/delete, value types kept as
JSON, both list forms (the LIST verb and GET ?list=true), and 404 shapes.
"""

import hvac
import pytest

from harness.poll import wait_until


def test_write_read_delete(client, kv1_mount):
    assert client.secrets.kv.v1.create_or_update_secret(
        "app/config", {"user": "svc", "port": 5432, "tls": True, "hosts": ["a", "b"], "nested": {"k": None}},
        mount_point=kv1_mount,
    ).status_code == 204

    got = client.secrets.kv.v1.read_secret("app/config", mount_point=kv1_mount)
    assert got["data"] == {"user": "svc", "port": 5432, "tls": True, "hosts": ["a", "b"], "nested": {"k": None}}
    assert got["lease_id"] == ""
    assert got["renewable"] is False
    assert isinstance(got["request_id"], str) and got["request_id"]
    assert got["wrap_info"] is None
    assert got["auth"] is None
    assert got["mount_type"] == "kv"

    # A write replaces the whole entry (no merge in v1).
    client.secrets.kv.v1.create_or_update_secret("app/config", {"only": "this"}, mount_point=kv1_mount)
    assert client.secrets.kv.v1.read_secret("app/config", mount_point=kv1_mount)["data"] == {"only": "this"}

    assert client.secrets.kv.v1.delete_secret("app/config", mount_point=kv1_mount).status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath) as err:
        client.secrets.kv.v1.read_secret("app/config", mount_point=kv1_mount)
    assert err.value.errors == []


def test_read_missing_is_404_with_empty_errors(client, kv1_mount):
    with pytest.raises(hvac.exceptions.InvalidPath) as err:
        client.secrets.kv.v1.read_secret("does/not/exist", mount_point=kv1_mount)
    assert err.value.errors == []


def test_delete_missing_is_204(client, kv1_mount):
    assert client.secrets.kv.v1.delete_secret("never-written", mount_point=kv1_mount).status_code == 204


def test_list_immediate_children(client, kv1_mount):
    for path in ("a", "b", "dir/x", "dir/y", "dir/sub/z"):
        client.secrets.kv.v1.create_or_update_secret(path, {"p": path}, mount_point=kv1_mount)

    assert client.secrets.kv.v1.list_secrets("", mount_point=kv1_mount)["data"]["keys"] == ["a", "b", "dir/"]
    assert client.secrets.kv.v1.list_secrets("dir", mount_point=kv1_mount)["data"]["keys"] == ["sub/", "x", "y"]

    # The GET ?list=true form returns the same answer as the LIST verb.
    via_get = client.adapter.get(f"/v1/{kv1_mount}/dir/", params={"list": "true"})
    assert via_get["data"]["keys"] == ["sub/", "x", "y"]
    via_list = client.adapter.list(f"/v1/{kv1_mount}/dir")
    assert via_list["data"]["keys"] == ["sub/", "x", "y"]


def test_list_missing_prefix_is_404(client, kv1_mount):
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.secrets.kv.v1.list_secrets("nothing-here", mount_point=kv1_mount)


def test_write_requires_data(client, kv1_mount):
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        client.adapter.post(f"/v1/{kv1_mount}/empty", json={})
    assert err.value.errors


def test_ttl_key_sets_lease_duration(client, kv1_mount):
    client.secrets.kv.v1.create_or_update_secret("with-ttl", {"v": "x", "ttl": "30m"}, mount_point=kv1_mount)
    got = client.secrets.kv.v1.read_secret("with-ttl", mount_point=kv1_mount)
    assert got["lease_duration"] == 1800
    assert got["data"] == {"v": "x", "ttl": "30m"}


def test_upgrade_to_v2_via_tune_keeps_data(client, kv1_mount):
    client.secrets.kv.v1.create_or_update_secret("app/db", {"user": "u", "pw": "p"}, mount_point=kv1_mount)
    client.secrets.kv.v1.create_or_update_secret("top", {"k": "v"}, mount_point=kv1_mount)
    client.sys.tune_mount_configuration(kv1_mount, options={"version": "2"})
    assert client.sys.list_mounted_secrets_engines()["data"][kv1_mount + "/"]["options"]["version"] == "2"

    def upgraded():
        return client.secrets.kv.v2.read_secret("app/db", mount_point=kv1_mount, raise_on_deleted_version=True)

    got = wait_until(upgraded, timeout=15, interval=0.2, what="KV v1 -> v2 upgrade")
    assert got["data"]["data"] == {"user": "u", "pw": "p"}
    assert got["data"]["metadata"]["version"] == 1
    assert client.secrets.kv.v2.list_secrets("", mount_point=kv1_mount)["data"]["keys"] == ["app/", "top"]
    client.secrets.kv.v2.create_or_update_secret("top", {"k": "v2"}, mount_point=kv1_mount)
    assert client.secrets.kv.v2.read_secret_metadata("top", mount_point=kv1_mount)["data"]["current_version"] == 2
