"""KV version 2 in full through `client.secrets.kv.v2`: versions, check-and-set, patch (hvac's
read+cas patch and the native HTTP PATCH), metadata (max_versions, cas_required,
custom_metadata), soft delete/undelete/destroy, delete of metadata, list, mount configuration.
"""

from concurrent.futures import ThreadPoolExecutor

import hvac
import pytest

from conftest import uid
from harness.poll import wait_until


def write(client, mount, path, data, cas=None):
    return client.secrets.kv.v2.create_or_update_secret(path, data, cas=cas, mount_point=mount)["data"]


def read(client, mount, path, version=None):
    return client.secrets.kv.v2.read_secret_version(
        path, version=version, mount_point=mount, raise_on_deleted_version=True
    )["data"]


def test_write_returns_version_metadata(client, kv2_mount):
    first = write(client, kv2_mount, "app", {"k": "v1"})
    assert first["version"] == 1
    assert first["deletion_time"] == ""
    assert first["destroyed"] is False
    assert first["created_time"].endswith("Z")
    assert first["custom_metadata"] is None

    second = write(client, kv2_mount, "app", {"k": "v2"})
    assert second["version"] == 2

    latest = read(client, kv2_mount, "app")
    assert latest["data"] == {"k": "v2"}
    assert latest["metadata"]["version"] == 2
    assert read(client, kv2_mount, "app", version=1)["data"] == {"k": "v1"}
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(client, kv2_mount, "app", version=99)


def test_read_missing_is_404(client, kv2_mount):
    with pytest.raises(hvac.exceptions.InvalidPath) as err:
        read(client, kv2_mount, "missing")
    assert err.value.errors == []


def test_check_and_set(client, kv2_mount):
    write(client, kv2_mount, "cas", {"n": 1}, cas=0)  # cas=0: only if it does not exist
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        write(client, kv2_mount, "cas", {"n": 2}, cas=0)
    assert "check-and-set" in err.value.errors[0]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        write(client, kv2_mount, "cas", {"n": 2}, cas=5)
    assert write(client, kv2_mount, "cas", {"n": 2}, cas=1)["version"] == 2
    assert read(client, kv2_mount, "cas")["data"] == {"n": 2}


def test_hvac_patch_merges(client, kv2_mount):
    write(client, kv2_mount, "p", {"a": "1", "b": "2"})
    patched = client.secrets.kv.v2.patch("p", {"b": "20", "c": "3"}, mount_point=kv2_mount)
    assert patched["data"]["version"] == 2
    assert read(client, kv2_mount, "p")["data"] == {"a": "1", "b": "20", "c": "3"}


def test_native_merge_patch(client, kv2_mount):
    write(client, kv2_mount, "np", {"a": "1", "b": "2", "keep": {"x": 1}})
    resp = client.adapter.request(
        "PATCH",
        f"/v1/{kv2_mount}/data/np",
        json={"data": {"a": None, "b": "22", "new": True}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert resp["data"]["version"] == 2
    assert read(client, kv2_mount, "np")["data"] == {"b": "22", "keep": {"x": 1}, "new": True}


def test_native_patch_requires_merge_patch_content_type(client, kv2_mount):
    write(client, kv2_mount, "np2", {"a": "1"})
    resp = client.adapter.request(
        "PATCH",
        f"/v1/{kv2_mount}/data/np2",
        json={"data": {"a": "2"}},
        headers={"Content-Type": "application/json"},
        raise_exception=False,
    )
    assert not isinstance(resp, dict), "PATCH with Content-Type application/json must be refused (415)"
    assert resp.status_code == 415
    assert resp.json()["errors"]


def test_native_patch_of_missing_secret_is_404(client, kv2_mount):
    resp = client.adapter.request(
        "PATCH",
        f"/v1/{kv2_mount}/data/nope",
        json={"data": {"a": "2"}},
        headers={"Content-Type": "application/merge-patch+json"},
        raise_exception=False,
    )
    assert resp.status_code == 404


def test_metadata_read_and_update(client, kv2_mount):
    write(client, kv2_mount, "m", {"v": "1"})
    write(client, kv2_mount, "m", {"v": "2"})

    meta = client.secrets.kv.v2.read_secret_metadata("m", mount_point=kv2_mount)["data"]
    assert meta["current_version"] == 2
    assert meta["oldest_version"] == 0
    assert meta["max_versions"] == 0
    assert meta["cas_required"] is False
    assert meta["delete_version_after"] == "0s"
    assert meta["custom_metadata"] is None
    assert sorted(meta["versions"]) == ["1", "2"]
    assert meta["versions"]["1"]["destroyed"] is False
    assert meta["versions"]["1"]["deletion_time"] == ""
    assert meta["created_time"] <= meta["updated_time"]

    assert client.secrets.kv.v2.update_metadata(
        "m", max_versions=5, custom_metadata={"owner": "payments", "tier": "1"}, mount_point=kv2_mount
    ).status_code == 204
    meta = client.secrets.kv.v2.read_secret_metadata("m", mount_point=kv2_mount)["data"]
    assert meta["max_versions"] == 5
    assert meta["custom_metadata"] == {"owner": "payments", "tier": "1"}
    # custom_metadata is echoed in the data read's metadata too.
    assert read(client, kv2_mount, "m")["metadata"]["custom_metadata"] == {"owner": "payments", "tier": "1"}


def test_max_versions_prunes_old_versions(client, kv2_mount):
    write(client, kv2_mount, "mv", {"v": "0"})
    client.secrets.kv.v2.update_metadata("mv", max_versions=2, mount_point=kv2_mount)
    for i in range(1, 4):
        write(client, kv2_mount, "mv", {"v": str(i)})

    meta = client.secrets.kv.v2.read_secret_metadata("mv", mount_point=kv2_mount)["data"]
    assert meta["current_version"] == 4
    assert sorted(meta["versions"]) == ["3", "4"]
    assert meta["oldest_version"] == 3
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(client, kv2_mount, "mv", version=1)
    assert read(client, kv2_mount, "mv", version=3)["data"] == {"v": "2"}


def test_cas_required_on_key(client, kv2_mount):
    write(client, kv2_mount, "cr", {"v": "1"})
    client.secrets.kv.v2.update_metadata("cr", cas_required=True, mount_point=kv2_mount)
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        write(client, kv2_mount, "cr", {"v": "2"})
    assert "check-and-set" in err.value.errors[0]
    assert write(client, kv2_mount, "cr", {"v": "2"}, cas=1)["version"] == 2


def test_soft_delete_undelete_destroy(client, kv2_mount):
    for i in range(1, 4):
        write(client, kv2_mount, "d", {"v": str(i)})

    assert client.secrets.kv.v2.delete_latest_version_of_secret("d", mount_point=kv2_mount).status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(client, kv2_mount, "d")
    deleted = client.secrets.kv.v2.read_secret("d", mount_point=kv2_mount, raise_on_deleted_version=False)
    assert deleted["data"]["data"] is None
    assert deleted["data"]["metadata"]["version"] == 3
    assert deleted["data"]["metadata"]["deletion_time"] != ""

    client.secrets.kv.v2.delete_secret_versions("d", [1], mount_point=kv2_mount)
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(client, kv2_mount, "d", version=1)
    assert read(client, kv2_mount, "d", version=2)["data"] == {"v": "2"}

    client.secrets.kv.v2.undelete_secret_versions("d", [1, 3], mount_point=kv2_mount)
    assert read(client, kv2_mount, "d", version=1)["data"] == {"v": "1"}
    assert read(client, kv2_mount, "d")["data"] == {"v": "3"}

    client.secrets.kv.v2.destroy_secret_versions("d", [2], mount_point=kv2_mount)
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(client, kv2_mount, "d", version=2)
    meta = client.secrets.kv.v2.read_secret_metadata("d", mount_point=kv2_mount)["data"]
    assert meta["versions"]["2"]["destroyed"] is True
    assert meta["versions"]["1"]["destroyed"] is False
    assert meta["versions"]["3"]["deletion_time"] == ""
    # A destroyed version cannot be brought back.
    client.secrets.kv.v2.undelete_secret_versions("d", [2], mount_point=kv2_mount)
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(client, kv2_mount, "d", version=2)


def test_delete_metadata_and_all_versions(client, kv2_mount):
    write(client, kv2_mount, "gone", {"v": "1"})
    write(client, kv2_mount, "gone", {"v": "2"})
    assert client.secrets.kv.v2.delete_metadata_and_all_versions("gone", mount_point=kv2_mount).status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.secrets.kv.v2.read_secret_metadata("gone", mount_point=kv2_mount)
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(client, kv2_mount, "gone", version=1)
    # Writing again starts from version 1.
    assert write(client, kv2_mount, "gone", {"v": "new"})["version"] == 1


def test_list_secrets(client, kv2_mount):
    for path in ("a", "b", "team/x", "team/y", "team/deep/z"):
        write(client, kv2_mount, path, {"p": path})
    assert client.secrets.kv.v2.list_secrets("", mount_point=kv2_mount)["data"]["keys"] == ["a", "b", "team/"]
    assert client.secrets.kv.v2.list_secrets("team", mount_point=kv2_mount)["data"]["keys"] == ["deep/", "x", "y"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.secrets.kv.v2.list_secrets("empty", mount_point=kv2_mount)
    # Soft-deleted secrets are still listed (their metadata exists).
    client.secrets.kv.v2.delete_latest_version_of_secret("a", mount_point=kv2_mount)
    assert "a" in client.secrets.kv.v2.list_secrets("", mount_point=kv2_mount)["data"]["keys"]


def test_mount_configuration(client, kv2_mount):
    config = client.secrets.kv.v2.read_configuration(mount_point=kv2_mount)["data"]
    assert config == {"max_versions": 0, "cas_required": False, "delete_version_after": "0s"}

    assert client.secrets.kv.v2.configure(
        max_versions=2, cas_required=False, delete_version_after="1h", mount_point=kv2_mount
    ).status_code == 204
    config = client.secrets.kv.v2.read_configuration(mount_point=kv2_mount)["data"]
    assert config == {"max_versions": 2, "cas_required": False, "delete_version_after": "1h0m0s"}

    # The mount-wide max_versions applies to keys without their own setting.
    for i in range(3):
        write(client, kv2_mount, "cfg", {"v": str(i)})
    meta = client.secrets.kv.v2.read_secret_metadata("cfg", mount_point=kv2_mount)["data"]
    assert sorted(meta["versions"]) == ["2", "3"]


def test_mount_cas_required(client, kv2_mount):
    client.secrets.kv.v2.configure(cas_required=True, mount_point=kv2_mount)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        write(client, kv2_mount, "strict", {"v": "1"})
    assert write(client, kv2_mount, "strict", {"v": "1"}, cas=0)["version"] == 1


def test_v1_style_path_on_v2_mount_is_not_a_secret(client, kv2_mount):
    write(client, kv2_mount, "plain", {"v": "1"})
    # Vault answers a read outside data/ or metadata/ on a v2 mount with 404 (or a hint, never the data).
    resp = client.adapter.get(f"/v1/{kv2_mount}/plain", raise_exception=False)
    assert resp.status_code in (400, 404, 405)


def test_concurrent_check_and_set_is_atomic(dev_server, client, kv2_mount):
    """Many writers race with cas=<version they read>: each version is won by exactly one."""
    write(client, kv2_mount, "race", {"n": "0"})

    def attempt(worker):
        c = dev_server.client()
        wins = []
        for _ in range(10):
            current = c.secrets.kv.v2.read_secret_metadata("race", mount_point=kv2_mount)["data"]["current_version"]
            try:
                got = c.secrets.kv.v2.create_or_update_secret(
                    "race", {"by": str(worker)}, cas=current, mount_point=kv2_mount
                )
                wins.append(got["data"]["version"])
            except hvac.exceptions.InvalidRequest:
                pass
        return wins

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    won = [v for wins in results for v in wins]
    assert len(won) == len(set(won)), "two writers were both told they created the same version"
    meta = client.secrets.kv.v2.read_secret_metadata("race", mount_point=kv2_mount)["data"]
    assert meta["current_version"] == 1 + len(won)
    assert sorted(won) == list(range(2, 2 + len(won)))


def test_subkeys(client, kv2_mount):
    write(client, kv2_mount, "sk", {"user": "u", "nested": {"a": 1, "deeper": {"b": 2}}, "list": [1, 2]})
    resp = client.adapter.get(f"/v1/{kv2_mount}/subkeys/sk")
    assert resp["data"]["subkeys"] == {"user": None, "nested": {"a": None, "deeper": {"b": None}}, "list": None}
    assert resp["data"]["metadata"]["version"] == 1
    depth1 = client.adapter.get(f"/v1/{kv2_mount}/subkeys/sk", params={"depth": 1})
    assert depth1["data"]["subkeys"] == {"user": None, "nested": None, "list": None}


def test_metadata_patch(client, kv2_mount):
    write(client, kv2_mount, "mp", {"v": "1"})
    client.secrets.kv.v2.update_metadata("mp", max_versions=7, custom_metadata={"a": "1", "b": "2"}, mount_point=kv2_mount)
    client.adapter.request(
        "PATCH",
        f"/v1/{kv2_mount}/metadata/mp",
        json={"custom_metadata": {"a": None, "c": "3"}, "cas_required": True},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    meta = client.secrets.kv.v2.read_secret_metadata("mp", mount_point=kv2_mount)["data"]
    assert meta["custom_metadata"] == {"b": "2", "c": "3"}
    assert meta["cas_required"] is True
    assert meta["max_versions"] == 7  # untouched by the patch


def test_delete_version_after(client, kv2_mount):
    client.secrets.kv.v2.update_metadata("ephemeral", delete_version_after="2s", mount_point=kv2_mount)
    write(client, kv2_mount, "ephemeral", {"v": "short-lived"})
    meta = client.secrets.kv.v2.read_secret_metadata("ephemeral", mount_point=kv2_mount)["data"]
    assert meta["delete_version_after"] == "2s"
    assert meta["versions"]["1"]["deletion_time"] != ""  # scheduled in advance
    assert read(client, kv2_mount, "ephemeral")["data"] == {"v": "short-lived"}

    def gone():
        try:
            read(client, kv2_mount, "ephemeral")
        except hvac.exceptions.InvalidPath:
            return True
        return False

    wait_until(gone, timeout=15, interval=0.2, what="version auto-deletion")


def test_hvac_defaults_work_against_dev_secret_mount(dev_server):
    """hvac's default mount_point is `secret`, which dev mode mounts as KV v2, like Vault."""
    c = dev_server.client()
    path = uid("default-mount")
    c.secrets.kv.create_or_update_secret(path, {"hello": "world"})  # hvac's default KV version is 2
    assert c.secrets.kv.read_secret_version(path, raise_on_deleted_version=True)["data"]["data"] == {"hello": "world"}
    assert c.is_authenticated() is True
    c.secrets.kv.delete_metadata_and_all_versions(path)
