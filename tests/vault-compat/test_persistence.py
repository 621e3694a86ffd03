"""Everything a client configured survives a restart (graceful and kill -9) of a config-file
server: mounts, policies, auth methods and their users/roles, tokens and their expiry, audit
devices. Expiry keeps running across the restart: a token whose TTL ends while the server is
down is dead when it comes back.
"""

import signal
import time

import hvac
import pytest

from harness.poll import wait_until


def token_valid(server, token):
    try:
        server.client(token=token).auth.token.lookup_self()
    except hvac.exceptions.Forbidden:
        return False
    return True


@pytest.mark.parametrize("how", ["graceful", "kill -9"])
def test_configuration_survives_restart(config_server_unsealed, tmp_path, how):
    server = config_server_unsealed
    root = server.client()
    audit_log = tmp_path / "audit.log"
    root.sys.enable_audit_device("file", path="file", options={"file_path": str(audit_log)})
    root.sys.enable_secrets_engine("kv", path="kv", options={"version": "2"})
    root.secrets.kv.v2.create_or_update_secret("app", {"v": "1"}, mount_point="kv")
    root.sys.create_or_update_acl_policy("reader", 'path "kv/data/*" { capabilities = ["read"] }')
    root.sys.enable_auth_method("userpass", path="userpass")
    root.auth.userpass.create_or_update_user("u", "pw", policies=["reader"])
    root.sys.enable_auth_method("approle", path="approle")
    root.auth.approle.create_or_update_approle("r", token_policies=["reader"])
    role_id = root.auth.approle.read_role_id("r")["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("r")["data"]["secret_id"]
    long_token = root.auth.token.create(policies=["reader"], ttl="1h")["auth"]["client_token"]
    wrapped = root.sys.wrap(payload={"w": "x"}, ttl=600)["wrap_info"]["token"]

    if how == "kill -9":
        server.kill9()
    else:
        server.stop()
    server.start()
    server.unseal()

    assert root.secrets.kv.v2.read_secret("app", mount_point="kv", raise_on_deleted_version=True)["data"]["data"] == {
        "v": "1"
    }
    assert "reader" in root.sys.list_acl_policies()["data"]["keys"]
    assert token_valid(server, long_token)
    reader = server.client(token=long_token)
    reader.secrets.kv.v2.read_secret("app", mount_point="kv", raise_on_deleted_version=True)
    with pytest.raises(hvac.exceptions.Forbidden):
        reader.secrets.kv.v2.create_or_update_secret("app", {"v": "2"}, mount_point="kv")

    assert server.client(token="").auth.userpass.login("u", "pw")["auth"]["policies"] == ["default", "reader"]
    assert server.client(token="").auth.approle.login(role_id, secret_id)["auth"]["policies"] == ["default", "reader"]
    assert server.client().sys.unwrap(token=wrapped)["data"] == {"w": "x"}

    assert "file/" in root.sys.list_enabled_audit_devices()["data"]
    before = audit_log.read_text().count("\n")
    root.auth.token.lookup_self()
    wait_until(lambda: audit_log.read_text().count("\n") > before, timeout=10, what="audit after restart")


def test_token_expiring_while_down_is_dead_after_restart(config_server_unsealed):
    server = config_server_unsealed
    root = server.client()
    short = root.auth.token.create(policies=["default"], ttl="3s", renewable=False)["auth"]["client_token"]
    assert token_valid(server, short)
    server.stop()
    # Stay down past the TTL. The condition is the passage of time itself (nothing to poll).
    deadline = time.monotonic() + 4
    wait_until(lambda: time.monotonic() >= deadline, timeout=10, interval=0.2, what="TTL to pass")
    server.start()
    server.unseal()
    assert not token_valid(server, short)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_signals_shut_down_cleanly(config_server_unsealed, sig):
    server = config_server_unsealed
    server.client().auth.token.lookup_self()
    code = server.stop(sig=getattr(signal, sig), timeout=15)
    assert code == 0
