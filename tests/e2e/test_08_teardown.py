"""Step 7: revoking the admin tokens makes them useless at once; deleting the cluster stops its
node (processes gone, nodes.json says stopped). Runs last: the cluster is gone afterwards."""

import hvac
import pytest

from conftest import CREATE_TIMEOUT, issue_admin_token
from harness import vault
from harness.api import describe_operation, wait_operation
from harness.poll import until
from harness.stack import alive, pids_in_dir


def test_revoke_admin_tokens(owner, cluster):
    # A second token, so revocation has more than one to find.
    second, _ = issue_admin_token(owner.api, cluster.path(), ttl="10m")
    c2 = vault.client(cluster.address, second["token"])
    assert vault.get(c2, cluster.first_secret[0])
    out = owner.api.post(cluster.path("/revoke-admin-tokens"), {})
    assert out["revoked"] >= 2, out
    for token in (cluster.admin_token, second["token"]):
        with pytest.raises(hvac.exceptions.Forbidden):
            vault.get(vault.client(cluster.address, token), cluster.first_secret[0])


def test_delete_cluster_stops_the_node(stack, owner, cluster):
    node = stack.node(cluster.id)
    out = owner.api.delete(cluster.path())
    op = wait_operation(owner.api, cluster.org_id, out["operation"]["id"], timeout=CREATE_TIMEOUT)
    assert op["state"] == "succeeded", describe_operation(op)
    until(
        lambda: stack.cluster_nodes(cluster.id),
        timeout=60,
        done=lambda ns: ns and all(n.get("state") == "stopped" for n in ns),
        what="nodes.json to mark the cluster's node stopped",
    )
    until(lambda: not pids_in_dir(node["data_dir"]), timeout=60, what="the node's agent and server to exit")
    assert not alive(node["agent_pid"])
    got = owner.api.request("GET", cluster.path())
    assert got.status_code == 404 or got.json().get("state") in ("deleted",), got.text[:300]
