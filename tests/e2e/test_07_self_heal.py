"""Step 6: a crashed server is restarted by the agent and auto-unseals through KMS; a crashed
node (agent and server killed together, like a reboot) is restarted by the runner. Data
survives both."""

import os
import signal

from harness import vault
from harness.poll import until
from harness.stack import alive, server_pids

RECOVER_TIMEOUT = 120


def check_data(cluster):
    path, value = cluster.first_secret
    return vault.get(cluster.vault(), path) == {"value": value}


def test_kill_9_server_agent_restarts_it_unsealed(stack, cluster):
    node = stack.node(cluster.id)
    old = server_pids(node["data_dir"])
    assert len(old) == 1, f"expected one coffer-server for {node['data_dir']}, found {old}"
    os.kill(old[0], signal.SIGKILL)
    until(lambda: not alive(old[0]), timeout=10, what=f"server pid {old[0]} to die")
    new = until(
        lambda: server_pids(node["data_dir"]),
        timeout=RECOVER_TIMEOUT,
        done=lambda pids: len(pids) == 1 and pids[0] != old[0],
        what="the agent to start a new coffer-server",
    )
    vault.wait_unsealed(cluster.address, timeout=RECOVER_TIMEOUT, what="the restarted server to auto-unseal")
    assert until(lambda: check_data(cluster), timeout=30, what="the secret after the server restart")
    # The agent itself was not restarted.
    assert stack.node(cluster.id)["agent_pid"] == node["agent_pid"]
    assert alive(node["agent_pid"]) and new[0] != old[0]


def test_kill_9_node_runner_restarts_it(stack, cluster):
    node = stack.node(cluster.id)
    agent = int(node["agent_pid"])
    server = server_pids(node["data_dir"])
    # The agent leads its own process group (the runner starts it so); the server is in it.
    assert os.getpgid(agent) == agent, "the agent should lead its own process group"
    os.killpg(agent, signal.SIGKILL)
    until(lambda: not alive(agent) and not any(alive(p) for p in server), timeout=10, what="the node's processes to die")
    restarted = until(
        lambda: stack.node(cluster.id),
        timeout=RECOVER_TIMEOUT,
        done=lambda n: int(n["agent_pid"]) != agent and alive(n["agent_pid"]),
        what="the runner to restart the node's agent",
    )
    assert restarted["restarts"] >= node.get("restarts", 0) + 1, restarted
    assert restarted["address"] == node["address"], "a restarted node keeps its address"
    vault.wait_unsealed(cluster.address, timeout=RECOVER_TIMEOUT, what="the rebooted node to auto-unseal")
    assert until(lambda: check_data(cluster), timeout=30, what="the secret after the node restart")
    assert len(server_pids(node["data_dir"])) == 1
