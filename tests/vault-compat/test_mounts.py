"""Secrets-engine and auth-method mount tables: enable/list/read/tune/disable via hvac, the dev
server's default mounts, and the conflict/reserved-path rules Vault enforces.
"""

import hvac
import pytest

from conftest import uid
from harness.poll import wait_until

VAULT_DEFAULT_MAX_TTL = 768 * 3600  # Vault's system max lease TTL (32 days)


def test_dev_server_default_mounts(client):
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    assert mounts["secret/"]["type"] == "kv"
    assert mounts["secret/"]["options"] == {"version": "2"}
    assert mounts["sys/"]["type"] == "system"
    assert mounts["cubbyhole/"]["type"] == "cubbyhole"
    auths = client.sys.list_auth_methods()["data"]
    assert auths["token/"]["type"] == "token"


def test_enable_list_read_tune_disable(client):
    path = uid("mnt")
    resp = client.sys.enable_secrets_engine(
        "kv", path=path, description="team secrets", options={"version": "2"}
    )
    assert resp.status_code == 204

    entry = client.sys.list_mounted_secrets_engines()["data"][path + "/"]
    assert entry["type"] == "kv"
    assert entry["description"] == "team secrets"
    assert entry["options"] == {"version": "2"}
    assert entry["accessor"].startswith("kv_")
    assert entry["local"] is False
    assert entry["seal_wrap"] is False
    assert entry["config"]["default_lease_ttl"] == 0
    assert entry["config"]["max_lease_ttl"] == 0

    tune = client.sys.read_mount_configuration(path)["data"]
    assert tune["default_lease_ttl"] == VAULT_DEFAULT_MAX_TTL
    assert tune["max_lease_ttl"] == VAULT_DEFAULT_MAX_TTL

    assert client.sys.tune_mount_configuration(
        path, default_lease_ttl="1h", max_lease_ttl="2h", description="retuned"
    ).status_code == 204
    tune = client.sys.read_mount_configuration(path)["data"]
    assert tune["default_lease_ttl"] == 3600
    assert tune["max_lease_ttl"] == 7200
    assert tune["description"] == "retuned"
    listed = client.sys.list_mounted_secrets_engines()["data"][path + "/"]
    assert listed["config"]["default_lease_ttl"] == 3600
    assert listed["description"] == "retuned"

    assert client.sys.disable_secrets_engine(path).status_code == 204
    assert path + "/" not in client.sys.list_mounted_secrets_engines()["data"]


def test_tune_default_above_max_is_rejected(client):
    path = uid("mnt")
    client.sys.enable_secrets_engine("kv", path=path)
    try:
        with pytest.raises(hvac.exceptions.InvalidRequest):
            client.sys.tune_mount_configuration(path, default_lease_ttl="3h", max_lease_ttl="1h")
    finally:
        client.sys.disable_secrets_engine(path)


def test_disable_removes_data(client):
    path = uid("mnt")
    client.sys.enable_secrets_engine("kv", path=path, options={"version": "1"})
    client.secrets.kv.v1.create_or_update_secret("gone", {"a": "b"}, mount_point=path)
    client.sys.disable_secrets_engine(path)
    client.sys.enable_secrets_engine("kv", path=path, options={"version": "1"})
    try:
        with pytest.raises(hvac.exceptions.InvalidPath):
            client.secrets.kv.v1.read_secret("gone", mount_point=path)
    finally:
        client.sys.disable_secrets_engine(path)


def test_kv_v2_alias_type(client):
    path = uid("mnt")
    client.sys.enable_secrets_engine("kv-v2", path=path)
    try:
        entry = client.sys.list_mounted_secrets_engines()["data"][path + "/"]
        assert entry["type"] == "kv"
        assert entry["options"]["version"] == "2"
    finally:
        client.sys.disable_secrets_engine(path)


def test_nested_mount_paths(client):
    outer = uid("outer")
    client.sys.enable_secrets_engine("kv", path=f"{outer}/inner", options={"version": "1"})
    try:
        client.secrets.kv.v1.create_or_update_secret("k", {"v": "1"}, mount_point=f"{outer}/inner")
        assert client.secrets.kv.v1.read_secret("k", mount_point=f"{outer}/inner")["data"] == {"v": "1"}
        assert f"{outer}/inner/" in client.sys.list_mounted_secrets_engines()["data"]
    finally:
        client.sys.disable_secrets_engine(f"{outer}/inner")


@pytest.mark.parametrize(
    "backend, path",
    [
        ("kv", "sys"),
        ("kv", "sys/x"),
        ("kv", "cubbyhole"),
        ("kv", "auth"),
        ("kv", "identity"),
        ("no-such-engine", None),
    ],
)
def test_enable_rejects_reserved_paths_and_unknown_types(client, backend, path):
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        client.sys.enable_secrets_engine(backend, path=path or uid("mnt"))
    assert err.value.errors


def test_enable_rejects_conflicting_paths(client):
    path = uid("mnt")
    client.sys.enable_secrets_engine("kv", path=path)
    try:
        for conflicting in (path, f"{path}/child"):
            with pytest.raises(hvac.exceptions.InvalidRequest) as err:
                client.sys.enable_secrets_engine("kv", path=conflicting)
            assert "in use" in err.value.errors[0]
    finally:
        client.sys.disable_secrets_engine(path)


def test_disable_unknown_mount_is_not_an_error(client):
    # Vault treats disabling a path with no mount as a successful no-op.
    assert client.sys.disable_secrets_engine(uid("never-mounted")).status_code == 204


def test_auth_method_enable_list_tune_disable(client):
    path = uid("up")
    assert client.sys.enable_auth_method("userpass", path=path, description="people").status_code == 204
    entry = client.sys.list_auth_methods()["data"][path + "/"]
    assert entry["type"] == "userpass"
    assert entry["description"] == "people"
    assert entry["accessor"].startswith("auth_userpass_")

    client.sys.tune_auth_method(path, default_lease_ttl="15m", max_lease_ttl="1h")
    tune = client.sys.read_auth_method_tuning(path)["data"]
    assert tune["default_lease_ttl"] == 900
    assert tune["max_lease_ttl"] == 3600

    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.enable_auth_method("userpass", path=path)

    assert client.sys.disable_auth_method(path).status_code == 204
    assert path + "/" not in client.sys.list_auth_methods()["data"]


def test_mount_table_requires_privileges(dev_server, client):
    token = client.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"]
    weak = dev_server.client(token=token)
    with pytest.raises(hvac.exceptions.Forbidden):
        weak.sys.enable_secrets_engine("kv", path=uid("mnt"))
    with pytest.raises(hvac.exceptions.Forbidden):
        weak.sys.disable_secrets_engine("secret")


def test_internal_ui_mounts_reports_kv_version(dev_server, client, kv2_mount):
    """The vault CLI (`vault kv get`) and Terraform ask sys/internal/ui/mounts/<path> which
    engine and KV version serve a path before they build the request."""
    resp = client.adapter.get(f"/v1/sys/internal/ui/mounts/{kv2_mount}/some/key")
    data = resp["data"]
    assert data["path"] == kv2_mount + "/"
    assert data["type"] == "kv"
    assert data["options"] == {"version": "2"}

    # A token that can only read one secret may still ask (Vault allows any capability on the path).
    name = uid("uimounts")
    client.sys.create_or_update_acl_policy(name, f'path "{kv2_mount}/data/some/key" {{ capabilities = ["read"] }}')
    token = client.auth.token.create(policies=[name], ttl="5m")["auth"]["client_token"]
    limited = dev_server.client(token=token).adapter.get(f"/v1/sys/internal/ui/mounts/{kv2_mount}/some/key")
    assert limited["data"]["type"] == "kv"
    assert limited["data"]["options"]["version"] == "2"


def test_read_single_mount_and_auth_method(client, kv2_mount):
    """GET sys/mounts/<path> and sys/auth/<path> (Vault >= 1.10; used by the Terraform provider)."""
    mount = client.adapter.get(f"/v1/sys/mounts/{kv2_mount}")["data"]
    assert mount["type"] == "kv"
    assert mount["options"] == {"version": "2"}
    assert mount["accessor"].startswith("kv_")

    path = uid("up")
    client.sys.enable_auth_method("userpass", path=path)
    try:
        auth = client.adapter.get(f"/v1/sys/auth/{path}")["data"]
        assert auth["type"] == "userpass"
        assert auth["accessor"].startswith("auth_userpass_")
    finally:
        client.sys.disable_auth_method(path)

    with pytest.raises((hvac.exceptions.InvalidRequest, hvac.exceptions.InvalidPath)):
        client.adapter.get(f"/v1/sys/mounts/{uid('absent')}")


def test_move_backend(client):
    source, target = uid("from"), uid("to")
    client.sys.enable_secrets_engine("kv", path=source, options={"version": "2"})
    try:
        client.secrets.kv.v2.create_or_update_secret("moved", {"v": "1"}, mount_point=source)
        client.sys.move_backend(source, target)

        def moved():
            mounts = client.sys.list_mounted_secrets_engines()["data"]
            return target + "/" in mounts and source + "/" not in mounts

        wait_until(moved, timeout=15, interval=0.1, what="remount to finish")
        got = client.secrets.kv.v2.read_secret("moved", mount_point=target, raise_on_deleted_version=True)
        assert got["data"]["data"] == {"v": "1"}
        with pytest.raises((hvac.exceptions.InvalidPath, hvac.exceptions.Forbidden)):
            client.secrets.kv.v2.read_secret("moved", mount_point=source, raise_on_deleted_version=True)
    finally:
        client.sys.disable_secrets_engine(source)
        client.sys.disable_secrets_engine(target)
