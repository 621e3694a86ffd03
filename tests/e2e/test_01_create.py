"""Step 1: sign up, create a dev cluster, wait for it, measure the time until it is usable."""

import json

from conftest import ARTIFACTS
from harness import vault


def test_cluster_is_running_with_one_healthy_node(owner, cluster):
    got = owner.api.get(cluster.path())
    assert got["state"] == "running", got
    assert got["tier"] == "dev" and got["node_count"] == 1, got
    assert got["address"] == cluster.address
    nodes = owner.api.get(cluster.path("/nodes"))
    nodes = nodes.get("nodes", nodes) if isinstance(nodes, dict) else nodes
    assert len(nodes) == 1, nodes
    node = nodes[0]
    assert node.get("healthy") is True and node.get("sealed") is False, node
    assert node.get("api_address") == cluster.address, node


def test_first_write_reads_back(cluster):
    path, value = cluster.first_secret
    assert vault.get(cluster.vault(), path) == {"value": value}


def test_time_to_usable_is_recorded(cluster):
    report = json.loads((ARTIFACTS / "report.json").read_text())
    t = report
    assert report["cluster_id"] == cluster.id
    # The phases happen in this order, each after the previous one.
    assert 0 < t["create_accepted_s"] <= t["operation_succeeded_s"] <= t["address_known_s"]
    assert t["address_known_s"] <= t["admin_token_s"] <= t["first_kv_write_s"] == t["time_to_usable_s"]
    print(f"\nTIME TO USABLE (dev cluster): {t['time_to_usable_s']} s -> {ARTIFACTS / 'report.json'}")
