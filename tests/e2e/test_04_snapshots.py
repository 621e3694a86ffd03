"""Step 3: on-demand snapshot to the cluster's bucket (SSE-KMS under the cluster's key), then
restore brings the earlier state back."""

import secrets

import hvac
import pytest

from conftest import COMMAND_TIMEOUT
from harness import s3, vault
from harness.poll import until


def snapshot_of(body):
    return body.get("snapshot", body) if isinstance(body, dict) else body


def wait_snapshot(api, path, *, states, what):
    snap = until(
        lambda: snapshot_of(api.get(path)),
        timeout=COMMAND_TIMEOUT,
        done=lambda s: s.get("state") in states | {"failed"},
        what=what,
    )
    assert snap["state"] in states, f"snapshot ended {snap['state']}: {snap}"
    return snap


@pytest.fixture(scope="module")
def snapshot(owner, cluster):
    """A snapshot taken after writing `before`; yields (snapshot, before path, before value)."""
    c = cluster.vault()
    before = ("e2e/snap-before", secrets.token_urlsafe(16))
    vault.put(c, before[0], {"v": before[1]})
    created = snapshot_of(owner.api.post(cluster.path("/snapshots"), {}, 202))
    assert created["state"] in ("creating", "available"), created
    snap = wait_snapshot(
        owner.api, cluster.path(f"/snapshots/{created['id']}"), states={"available"}, what="the snapshot to be available"
    )
    return snap, before


def test_snapshot_is_listed(owner, cluster, snapshot):
    snap, _ = snapshot
    listed = owner.api.get(cluster.path("/snapshots"))
    items = listed.get("snapshots", listed) if isinstance(listed, dict) else listed
    assert snap["id"] in [s["id"] for s in items], listed


def test_snapshot_object_is_kms_encrypted_with_the_cluster_key(stack, cluster, snapshot):
    snap, _ = snapshot
    bucket, _ = stack.resource(cluster.id, "bucket", role="snapshots")
    key_id, key_arn = stack.resource(cluster.id, "kms_key")
    key = f"snapshots/{cluster.id}/{snap['id']}.snap"
    head = s3.client().head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms", head
    assert s3.key_matches(head.get("SSEKMSKeyId"), key_id, key_arn), (head.get("SSEKMSKeyId"), key_id, key_arn)
    assert head["ContentLength"] > 0
    sha = head.get("Metadata", {}).get("sha256")
    assert sha and len(sha) == 64, head.get("Metadata")
    if "size_bytes" in snap:
        assert snap["size_bytes"] == head["ContentLength"]
    if snap.get("sha256"):
        assert snap["sha256"] == sha


def test_restore_brings_the_earlier_state_back(owner, cluster, snapshot):
    snap, before = snapshot
    c = cluster.vault()
    # Change the world after the snapshot: overwrite `before`, add `after`.
    after = ("e2e/snap-after", secrets.token_urlsafe(16))
    vault.put(c, before[0], {"v": "changed"})
    vault.put(c, after[0], {"v": after[1]})
    assert vault.get(c, before[0]) == {"v": "changed"}

    started = owner.api.post(cluster.path(f"/snapshots/{snap['id']}/restore"), {}, 202)
    if isinstance(started, dict):
        assert snapshot_of(started).get("state") == "restoring", started
    wait_snapshot(
        owner.api,
        cluster.path(f"/snapshots/{snap['id']}"),
        states={"available"},
        what="the restore to finish (restoring -> available)",
    )
    vault.wait_unsealed(cluster.address, timeout=60, what="the node to serve after the restore")
    c = cluster.vault()
    # The admin token was issued before the snapshot, so it is part of the restored state.
    assert until(lambda: vault.get(c, before[0]), timeout=30, what="the restored secret") == {"v": before[1]}
    with pytest.raises(hvac.exceptions.InvalidPath):
        vault.get(c, after[0])
    # Everything written before the snapshot is still there.
    assert vault.get(c, cluster.first_secret[0]) == {"value": cluster.first_secret[1]}


def test_delete_snapshot_removes_the_object(stack, owner, cluster, snapshot):
    snap, _ = snapshot
    bucket, _ = stack.resource(cluster.id, "bucket", role="snapshots")
    key = f"snapshots/{cluster.id}/{snap['id']}.snap"
    s3c = s3.client()
    owner.api.delete(cluster.path(f"/snapshots/{snap['id']}"), 204)
    # Gone from the API at once; the node deletes the object through its command channel.
    assert owner.api.request("GET", cluster.path(f"/snapshots/{snap['id']}")).status_code == 404
    listed = owner.api.get(cluster.path("/snapshots"))["snapshots"]
    assert snap["id"] not in [s["id"] for s in listed]
    until(
        lambda: key not in s3.list_keys(s3c, bucket, f"snapshots/{cluster.id}/"),
        timeout=COMMAND_TIMEOUT,
        what=f"s3://{bucket}/{key} to be deleted by the node",
    )
