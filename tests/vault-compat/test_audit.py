"""Audit devices: a file device records every request/response as one JSON object per line with
sensitive strings HMAC'd; the secret value and the client token never appear in plaintext, and
sys/audit-hash reproduces the HMACs found in the log. The server fails closed: it never serves a
request it could not audit. Runs on dedicated config servers (an audit device sees every request).
"""

import json
import os
import signal

import hvac
import pytest

from conftest import uid
from harness.poll import wait_until


SECRET_VALUE = "pl41ntext-must-never-be-logged"


def read_entries(path):
    with open(path, "r", encoding="utf-8") as fh:
        lines = [line for line in fh.read().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line must be one JSON object


def test_file_device_enable_list_disable(config_server_unsealed, tmp_path):
    root = config_server_unsealed.client()
    log_path = tmp_path / "audit.log"
    device = uid("file")
    assert root.sys.enable_audit_device(
        "file", path=device, description="compliance", options={"file_path": str(log_path)}
    ).status_code == 204

    devices = root.sys.list_enabled_audit_devices()["data"]
    entry = devices[device + "/"]
    assert entry["type"] == "file"
    assert entry["description"] == "compliance"
    assert entry["options"]["file_path"] == str(log_path)

    assert root.sys.disable_audit_device(device).status_code == 204
    assert device + "/" not in root.sys.list_enabled_audit_devices()["data"]


def test_entries_are_json_lines_with_hmacd_secrets(config_server_unsealed, tmp_path):
    server = config_server_unsealed
    root = server.client()
    log_path = tmp_path / "audit.log"
    device = uid("file")
    root.sys.enable_audit_device("file", path=device, options={"file_path": str(log_path)})

    root.sys.enable_secrets_engine("kv", path="kv", options={"version": "2"})
    root.secrets.kv.v2.create_or_update_secret("payments/db", {"password": SECRET_VALUE}, mount_point="kv")
    got = root.secrets.kv.v2.read_secret("payments/db", mount_point="kv", raise_on_deleted_version=True)
    assert got["data"]["data"]["password"] == SECRET_VALUE

    def read_logged():
        entries = read_entries(log_path)
        paths = [(e["type"], e["request"]["path"], e["request"]["operation"]) for e in entries]
        return entries if ("response", "kv/data/payments/db", "read") in paths else None

    entries = wait_until(read_logged, timeout=10, what="audit entries for the kv read")
    raw = log_path.read_text()
    assert SECRET_VALUE not in raw
    assert server.root_token not in raw

    for entry in entries:
        assert entry["type"] in ("request", "response")
        assert entry["time"]
        assert entry["request"]["id"]
        assert entry["request"]["path"]

    value_hash = root.sys.calculate_hash(device, SECRET_VALUE)["data"]["hash"]
    assert value_hash.startswith("hmac-sha256:")
    write_req = next(
        e for e in entries
        if e["type"] == "request"
        and e["request"]["path"] == "kv/data/payments/db"
        and e["request"]["operation"] in ("create", "update")
    )
    assert write_req["request"]["data"]["data"]["password"] == value_hash
    read_resp = next(
        e for e in entries
        if e["type"] == "response" and e["request"]["path"] == "kv/data/payments/db" and e["request"]["operation"] == "read"
    )
    assert read_resp["response"]["data"]["data"]["password"] == value_hash

    token_hash = root.sys.calculate_hash(device, server.root_token)["data"]["hash"]
    assert read_resp["request"]["client_token"] == token_hash
    assert read_resp["auth"]["client_token"] == token_hash


def test_login_response_token_is_hmacd(config_server_unsealed, tmp_path):
    server = config_server_unsealed
    root = server.client()
    log_path = tmp_path / "audit.log"
    device = uid("file")
    root.sys.enable_audit_device("file", path=device, options={"file_path": str(log_path)})
    root.sys.enable_auth_method("userpass", path="userpass")
    root.auth.userpass.create_or_update_user("eve", "hunter2-password", policies=["default"])
    issued = server.client(token="").auth.userpass.login("eve", "hunter2-password")["auth"]["client_token"]

    def logged():
        return any(
            e["type"] == "response" and e["request"]["path"] == "auth/userpass/login/eve" for e in read_entries(log_path)
        )

    wait_until(logged, timeout=10, what="login response in the audit log")
    raw = log_path.read_text()
    assert issued not in raw
    assert "hunter2-password" not in raw
    assert root.sys.calculate_hash(device, issued)["data"]["hash"] in raw


def test_audit_hash_is_per_device_and_deterministic(config_server_unsealed, tmp_path):
    root = config_server_unsealed.client()
    a, b = uid("a"), uid("b")
    root.sys.enable_audit_device("file", path=a, options={"file_path": str(tmp_path / "a.log")})
    root.sys.enable_audit_device("file", path=b, options={"file_path": str(tmp_path / "b.log")})
    ha1 = root.sys.calculate_hash(a, "same input")["data"]["hash"]
    ha2 = root.sys.calculate_hash(a, "same input")["data"]["hash"]
    hb = root.sys.calculate_hash(b, "same input")["data"]["hash"]
    assert ha1 == ha2
    assert ha1 != hb
    assert root.sys.calculate_hash(a, "other input")["data"]["hash"] != ha1
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.sys.calculate_hash("no-such-device", "x")


def test_enable_rejects_bad_options(config_server_unsealed, tmp_path):
    root = config_server_unsealed.client()
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.sys.enable_audit_device("file", path=uid("bad"), options={})
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.sys.enable_audit_device("no-such-type", path=uid("bad"), options={"file_path": str(tmp_path / "x")})
    # A directory cannot be an audit log: refused, and as a client error rather than a 500.
    with pytest.raises(hvac.exceptions.VaultError) as err:
        root.sys.enable_audit_device("file", path=uid("bad"), options={"file_path": str(tmp_path)})
    assert not isinstance(err.value, hvac.exceptions.InternalServerError)
    assert root.sys.list_enabled_audit_devices()["data"] == {}


def test_fails_closed_when_the_log_cannot_be_written(config_server_unsealed):
    """/dev/full accepts open() but every write fails with ENOSPC (even for root). Vault either
    refuses to enable such a device (its test write fails) or, once enabled as the only device,
    refuses every request it cannot audit. Serving the request unaudited is the one wrong answer.
    """
    server = config_server_unsealed
    root = server.client()
    root.sys.enable_secrets_engine("kv", path="kv", options={"version": "1"})
    root.secrets.kv.v1.create_or_update_secret("x", {"v": "before"}, mount_point="kv")

    try:
        root.sys.enable_audit_device("file", path="full", options={"file_path": "/dev/full"})
    except hvac.exceptions.VaultError:
        # Refused up front: no device was added, and service continues normally.
        assert "full/" not in root.sys.list_enabled_audit_devices()["data"]
        assert root.secrets.kv.v1.read_secret("x", mount_point="kv")["data"] == {"v": "before"}
        return

    with pytest.raises(hvac.exceptions.VaultError) as err:
        root.secrets.kv.v1.read_secret("x", mount_point="kv")
    # The client learns nothing about the cause (no path, no OS error text), like Vault.
    assert err.value.errors == ["internal error"]
    assert "/dev/full" not in str(err.value.json) and "No space" not in str(err.value.json)
    with pytest.raises(hvac.exceptions.VaultError):
        root.secrets.kv.v1.create_or_update_secret("x", {"v": "unaudited"}, mount_point="kv")
    assert server.alive()


def test_entries_record_the_client_address(config_server_unsealed, tmp_path):
    root = config_server_unsealed.client()
    log_path = tmp_path / "audit.log"
    device = uid("file")
    root.sys.enable_audit_device("file", path=device, options={"file_path": str(log_path)})
    root.auth.token.lookup_self()

    def lookup_entries():
        return [e for e in read_entries(log_path) if e["request"]["path"] == "auth/token/lookup-self"]

    entries = wait_until(lookup_entries, timeout=10, what="lookup-self in the audit log")
    for entry in entries:
        assert entry["request"]["remote_address"] == "127.0.0.1"
        assert entry["request"]["operation"] == "read"


def test_sighup_reopens_the_file_for_logrotate(config_server_unsealed, tmp_path):
    server = config_server_unsealed
    root = server.client()
    log_path = tmp_path / "audit.log"
    root.sys.enable_audit_device("file", path="rotated", options={"file_path": str(log_path)})
    root.auth.token.lookup_self()
    rotated = tmp_path / "audit.log.1"
    os.rename(log_path, rotated)  # what logrotate does before signalling
    server.send_signal(signal.SIGHUP)

    def reopened():
        root.auth.token.lookup_self()
        return log_path.exists() and any(e["request"]["path"] == "auth/token/lookup-self" for e in read_entries(log_path))

    wait_until(reopened, timeout=15, interval=0.2, what="audit file recreated after SIGHUP")
    assert server.alive()
    assert read_entries(rotated)  # the old file kept what was written before the rotation
