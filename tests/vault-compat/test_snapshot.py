"""Snapshots via hvac's raft API: save with GET sys/storage/raft/snapshot, change data, restore
with POST, and the data is back to the snapshot's state. A corrupted snapshot is refused and
leaves the live data alone. Runs on a dedicated config server.
"""

import hvac
import pytest


def snapshot_bytes(client):
    resp = client.sys.take_raft_snapshot()
    assert resp.status_code == 200
    data = resp.content
    assert len(data) > 0
    return data


def kv_read(client, path):
    try:
        return client.secrets.kv.v1.read_secret(path, mount_point="kv")["data"]
    except hvac.exceptions.InvalidPath:
        return None


@pytest.fixture
def server_with_data(config_server_unsealed):
    root = config_server_unsealed.client()
    root.sys.enable_secrets_engine("kv", path="kv", options={"version": "1"})
    root.secrets.kv.v1.create_or_update_secret("a", {"v": "original"}, mount_point="kv")
    root.secrets.kv.v1.create_or_update_secret("c", {"v": "will be deleted"}, mount_point="kv")
    return config_server_unsealed


def test_save_change_restore(server_with_data):
    server = server_with_data
    root = server.client()
    snap = snapshot_bytes(root)

    root.secrets.kv.v1.create_or_update_secret("a", {"v": "changed"}, mount_point="kv")
    root.secrets.kv.v1.create_or_update_secret("b", {"v": "new"}, mount_point="kv")
    root.secrets.kv.v1.delete_secret("c", mount_point="kv")
    root.sys.enable_secrets_engine("kv", path="later", options={"version": "1"})
    assert kv_read(root, "a") == {"v": "changed"}

    resp = root.sys.restore_raft_snapshot(snap)
    assert resp.status_code == 204

    if root.sys.is_sealed():
        # Tolerated here (checked separately below): the contents are what this test is about.
        server.unseal()
    assert kv_read(root, "a") == {"v": "original"}
    assert kv_read(root, "b") is None
    assert kv_read(root, "c") == {"v": "will be deleted"}
    assert "later/" not in root.sys.list_mounted_secrets_engines()["data"]


def test_restore_keeps_the_server_unsealed(server_with_data):
    """Vault restores a snapshot of its own cluster without sealing (same barrier keys)."""
    root = server_with_data.client()
    snap = snapshot_bytes(root)
    root.sys.restore_raft_snapshot(snap)
    assert root.sys.is_sealed() is False
    assert kv_read(root, "a") == {"v": "original"}


def test_restored_state_survives_restart(server_with_data):
    server = server_with_data
    root = server.client()
    snap = snapshot_bytes(root)
    root.secrets.kv.v1.create_or_update_secret("a", {"v": "changed"}, mount_point="kv")
    root.sys.restore_raft_snapshot(snap)
    server.restart()
    server.unseal()
    assert kv_read(root, "a") == {"v": "original"}


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda s: s[: len(s) // 2],  # truncated
        lambda s: s[:-1] + bytes([s[-1] ^ 0xFF]),  # last byte flipped
        lambda s: s[:100] + bytes([s[100] ^ 0x01]) + s[101:],  # a bit flipped inside
        lambda s: b"not a snapshot at all",
        lambda s: b"",
    ],
)
def test_corrupt_snapshot_is_refused(server_with_data, corrupt):
    root = server_with_data.client()
    snap = snapshot_bytes(root)
    assert len(snap) > 101
    root.secrets.kv.v1.create_or_update_secret("a", {"v": "live"}, mount_point="kv")

    resp = root.adapter.post("/v1/sys/storage/raft/snapshot", data=corrupt(snap), raise_exception=False)
    assert 400 <= resp.status_code < 500
    assert resp.json()["errors"]
    assert root.sys.is_sealed() is False
    assert kv_read(root, "a") == {"v": "live"}


def test_snapshot_requires_root(server_with_data):
    server = server_with_data
    root = server.client()
    weak = server.client(token=root.auth.token.create(policies=["default"], ttl="5m")["auth"]["client_token"])
    with pytest.raises(hvac.exceptions.Forbidden):
        weak.sys.take_raft_snapshot()
    snap = snapshot_bytes(root)
    with pytest.raises(hvac.exceptions.Forbidden):
        weak.sys.restore_raft_snapshot(snap)


def test_restore_forgets_tokens_and_policies_created_after_the_snapshot(server_with_data):
    server = server_with_data
    root = server.client()
    before = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    snap = snapshot_bytes(root)
    after = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    root.sys.create_or_update_acl_policy("late", 'path "kv/*" { capabilities = ["read"] }')
    root.auth.token.revoke(before)

    root.sys.restore_raft_snapshot(snap)
    if root.sys.is_sealed():
        server.unseal()

    # The store is back to the snapshot: `before` lives again, `after` never existed.
    assert server.client(token=before).auth.token.lookup_self()["data"]["policies"] == ["default"]
    with pytest.raises(hvac.exceptions.Forbidden):
        server.client(token=after).auth.token.lookup_self()
    assert "late" not in root.sys.list_acl_policies()["data"]["keys"]
