"""Session fixtures of the end-to-end suite: one control plane + node runner (started by
run.sh), one customer, one dev cluster that every step module works on, in file order.

The cluster fixture is also the "time to usable" measurement: create request -> create
operation succeeded -> admin token -> first authenticated KV write on the node. It is written to
artifacts/report.json and printed at the end of the run.

When a test fails, the tails of the control-plane, runner, agent and server logs and nodes.json
are attached to its report, because an e2e failure is rarely explained by the assertion alone.
"""

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import vault
from harness.api import Api, describe_operation, new_user, wait_operation
from harness.poll import until
from harness.stack import Stack

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
REGION = "us-east-1"
# Creating a cluster on moto with a debug build: engine steps, node start, bootstrap, registration.
CREATE_TIMEOUT = 300
# A node command (admin token, snapshot) travels through the agent's long poll.
COMMAND_TIMEOUT = 120


@dataclass
class Customer:
    api: Api
    org_id: str
    email: str


@dataclass
class Cluster:
    org_id: str
    id: str
    address: str
    admin_token: str
    accessor: str
    first_secret: tuple  # (path, value) written as the first KV write
    timings: dict = field(default_factory=dict)

    def path(self, suffix=""):
        return f"/v1/orgs/{self.org_id}/clusters/{self.id}{suffix}"

    def vault(self, token=None):
        return vault.client(self.address, token or self.admin_token)


_report = {}


@pytest.fixture(scope="session")
def stack():
    return Stack.from_env()


@pytest.fixture(scope="session")
def anon(stack):
    return Api(stack.cp_url)


@pytest.fixture(scope="session")
def owner(anon):
    api, org_id, email = new_user(anon, "owner")
    return Customer(api, org_id, email)


@pytest.fixture(scope="session")
def stranger(anon):
    """A user of another organisation (tenant isolation)."""
    api, org_id, email = new_user(anon, "stranger")
    return Customer(api, org_id, email)


def issue_admin_token(api, cluster_path, ttl="1h", timeout=COMMAND_TIMEOUT):
    """POST .../admin-token, retrying while the node is not yet answering commands (503)."""
    attempts = []

    def probe():
        r = api.request("POST", cluster_path + "/admin-token", json={"ttl": ttl}, timeout=90)
        attempts.append(r.status_code)
        if r.status_code == 503:
            return None
        assert r.status_code == 200, f"admin-token: {r.status_code} {r.text[:500]}"
        assert "no-store" in r.headers.get("cache-control", ""), "admin-token answers must not be cached"
        return r.json()

    out = until(probe, timeout=timeout, what="an admin token (node_unavailable until the agent polls)", interval=0.5)
    return out, len(attempts)


@pytest.fixture(scope="session")
def cluster(owner, stack):
    api = owner.api
    name = f"e2e-{secrets.token_hex(3)}"
    t0 = time.monotonic()
    created = api.post(
        f"/v1/orgs/{owner.org_id}/clusters",
        {"name": name, "tier": "dev", "size": "small", "region": REGION},
        202,
    )
    t_accepted = time.monotonic()
    cid, op_id = created["cluster"]["id"], created["operation"]["id"]
    op = wait_operation(api, owner.org_id, op_id, timeout=CREATE_TIMEOUT)
    t_op = time.monotonic()
    assert op["state"] == "succeeded", describe_operation(op)

    path = f"/v1/orgs/{owner.org_id}/clusters/{cid}"
    # The customer-facing address is the leader node's api_address (from its heartbeats). The
    # engine's last create step also writes one (the instance's EC2 address), so wait until the
    # cluster shows the address the node itself reports.
    node_seen = []

    def cluster_and_nodes():
        cl, nodes = api.get(path), api.get(path + "/nodes")["nodes"]
        if not node_seen and nodes and nodes[0].get("api_address"):
            node_seen.append(time.monotonic())
        return cl, nodes

    got, _ = until(
        cluster_and_nodes,
        timeout=COMMAND_TIMEOUT,
        done=lambda cn: cn[1] and cn[0].get("address") and cn[0]["address"] == cn[1][0].get("api_address"),
        what="the cluster's address to be its node's api_address",
    )
    t_address = time.monotonic()
    token, attempts = issue_admin_token(api, path)
    t_token = time.monotonic()

    c = vault.client(got["address"], token["token"])
    vault.ensure_kv2(c)
    first = ("e2e/first", secrets.token_urlsafe(24))
    vault.put(c, first[0], {"value": first[1]})
    t_kv = time.monotonic()

    timings = {
        "create_accepted_s": round(t_accepted - t0, 3),
        "operation_succeeded_s": round(t_op - t0, 3),
        "node_api_address_known_s": round(node_seen[0] - t0, 3),
        "address_known_s": round(t_address - t0, 3),
        "admin_token_s": round(t_token - t0, 3),
        "admin_token_attempts": attempts,
        "first_kv_write_s": round(t_kv - t0, 3),
    }
    _report.update(
        {
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "what": "dev cluster on the local stack (moto + coffer-node-runner, debug binaries): "
            "POST clusters -> create operation succeeded -> admin token -> first KV v2 write via hvac",
            "cluster_id": cid,
            "region": REGION,
            "time_to_usable_s": timings["first_kv_write_s"],
            **timings,
            "operation_steps": [
                {"name": s["name"], "attempt": s["attempt"], "started_at": s["started_at"], "finished_at": s["finished_at"]}
                for s in op.get("steps", [])
            ],
        }
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report.json").write_text(json.dumps(_report, indent=2) + "\n")
    return Cluster(owner.org_id, cid, got["address"], token["token"], token["accessor"], first, timings)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and call.when in ("setup", "call"):
        try:
            report.sections.append(("stack context", Stack.from_env().diagnostics()))
        except Exception as e:  # noqa: BLE001 - context is best effort; the failure itself stands
            report.sections.append(("stack context", f"unavailable: {e}"))
    return report


def pytest_terminal_summary(terminalreporter):
    if not _report:
        return
    tr = terminalreporter
    tr.section("time to usable (dev cluster)")
    for k in (
        "create_accepted_s",
        "operation_succeeded_s",
        "node_api_address_known_s",
        "address_known_s",
        "admin_token_s",
        "first_kv_write_s",
    ):
        tr.write_line(f"  {k:<24} {_report.get(k)}")
    tr.write_line(f"  TIME TO USABLE: {_report['time_to_usable_s']} s  (written to {ARTIFACTS / 'report.json'})")
