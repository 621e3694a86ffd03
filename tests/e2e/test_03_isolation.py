"""Tenant isolation: another organisation's user sees the cluster as missing (404) on every
cluster-data route, exactly like a cluster that does not exist, and changes nothing."""

import datetime as dt
import uuid

import pytest

ROUTES = [
    ("GET", ""),
    ("GET", "/nodes"),
    ("POST", "/admin-token"),
    ("POST", "/revoke-admin-tokens"),
    ("GET", "/snapshots"),
    ("POST", "/snapshots"),
    ("GET", "/audit-logs"),
    ("GET", "/audit-logs/download"),
    ("DELETE", ""),
]


@pytest.mark.parametrize("method,suffix", ROUTES)
def test_foreign_org_gets_404(cluster, stranger, method, suffix):
    # Both spellings: the victim's org in the path, and the stranger's own org with the victim's cluster.
    for org in (cluster.org_id, stranger.org_id):
        path = f"/v1/orgs/{org}/clusters/{cluster.id}{suffix}"
        r = stranger.api.request(method, path, json={} if method == "POST" else None, params=_range(suffix))
        assert r.status_code == 404, f"{method} {path}: {r.status_code} {r.text[:300]}"
        assert r.json()["error"]["code"] == "not_found"


def _range(suffix):
    """A valid time range for the audit-log routes, so the answer is about the cluster alone."""
    if not suffix.startswith("/audit-logs"):
        return None
    now = dt.datetime.now(dt.timezone.utc)
    return {"from": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "to": now.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_foreign_snapshot_id_is_404(cluster, stranger):
    path = f"/v1/orgs/{cluster.org_id}/clusters/{cluster.id}/snapshots/{uuid.uuid4()}"
    assert stranger.api.request("GET", path).status_code == 404


def test_cluster_untouched_by_stranger(owner, cluster):
    got = owner.api.get(cluster.path())
    assert got["state"] == "running", got
    # The stranger's revoke attempt must not have revoked anything.
    assert cluster.vault().auth.token.lookup_self()["data"]["accessor"] == cluster.accessor
