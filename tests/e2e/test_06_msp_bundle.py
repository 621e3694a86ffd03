"""Step 5: a platform operator publishes an MSP policy bundle; the node applies it with an
ephemeral root token (generate-root from the KMS-held recovery shares, write, revoke-self); the
customer sees the root token's generation, its write and its revoke-self in the cluster's audit log,
and no root token survives."""

import datetime as dt
import re
import secrets
from pathlib import Path

import pytest

from harness import audit
from harness.api import Api
from harness.poll import until

REPO = Path(__file__).resolve().parents[2]
APPLY_TIMEOUT = 120


def current_operator_policy():
    """The provisioned `coffer-operator` HCL, so the bundle changes it without taking rights away."""
    src = (REPO / "agent/src/provision/policies.rs").read_text()
    m = re.search(r'pub const OPERATOR_HCL: &str = r#"(.*?)"#;', src, re.S)
    assert m, "cannot find OPERATOR_HCL in agent/src/provision/policies.rs"
    return m.group(1)


@pytest.fixture(scope="module")
def operator(stack):
    email = f"ops-{secrets.token_hex(4)}@coffer.example"
    password = "ops-" + secrets.token_urlsafe(18)
    stack.operator_create(email, password)
    login = Api(stack.cp_url).post("/v1/platform/login", {"email": email, "password": password})
    token = login["access_token"]
    assert token.startswith("cpo_"), "operator tokens are cpo_ tokens"
    return Api(stack.cp_url, token)


def cluster_status(body, cluster_id):
    rows = body.get("clusters", []) if isinstance(body, dict) else []
    for row in rows if isinstance(rows, list) else []:
        if row.get("cluster_id") == cluster_id:
            return row
    return None


@pytest.fixture(scope="module")
def applied(stack, cluster, operator):
    """Publishes a bundle that adds a marked rule to coffer-operator and waits until applied.
    Returns (version, UTC second the publish started at, as audit entries spell time)."""
    marker = secrets.token_hex(6)
    hcl = current_operator_policy() + f'\n# e2e {marker}\npath "sys/leases/lookup" {{ capabilities = ["list"] }}\n'
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    out = operator.post("/v1/platform/msp-bundles", {"policies": {"coffer-operator": hcl}}, {200, 201, 202})
    assert out["clusters"] >= 1, out
    version = out["version"]
    status = until(
        lambda: cluster_status(operator.get(f"/v1/platform/msp-bundles/{version}"), cluster.id),
        timeout=APPLY_TIMEOUT,
        done=lambda row: row is not None and row.get("state") in ("applied", "failed"),
        what=f"bundle {version} to be applied on cluster {cluster.id}",
    )
    assert status["state"] == "applied", status
    return version, since


def root_use_and_revoke(entries, since):
    """The bundle apply as the audit log shows it: the coffer-operator write and the
    revoke-self, both by one root token, after `since`. Returns (write, revoke) entries."""
    after = [e for e in entries if e.get("type") == "response" and e.get("time", "")[:19] >= since]
    root = [e for e in after if "root" in ((e.get("auth") or {}).get("policies") or [])]
    writes = [e for e in root if audit.path_of(e) in ("sys/policies/acl/coffer-operator", "sys/policy/coffer-operator")]
    revokes = [e for e in root if audit.path_of(e) == "auth/token/revoke-self"]
    assert writes and revokes, f"root-token entries after {since}: {[audit.path_of(e) for e in root]}"
    write, revoke = writes[-1], revokes[-1]
    assert not write.get("error") and not revoke.get("error"), (write.get("error"), revoke.get("error"))
    # One token (accessors are HMAC'd with the device's key, so equal hashes = equal accessors).
    assert write["auth"]["accessor"] == revoke["auth"]["accessor"]
    assert write["auth"]["accessor"].startswith("hmac-sha256:")
    assert write["time"] <= revoke["time"]
    return write, revoke


def node_audit_entries(stack, cluster):
    node = stack.node(cluster.id)
    return audit.parse_lines((Path(node["data_dir"]) / "audit" / "audit.log").read_text())


def test_node_reports_the_applied_version(owner, cluster, applied):
    nodes = until(
        lambda: owner.api.get(cluster.path("/nodes"))["nodes"],
        timeout=APPLY_TIMEOUT,
        done=lambda ns: ns and ns[0].get("msp_bundle_version") == applied[0],
        what=f"node 0 to report bundle version {applied[0]}",
    )
    assert nodes[0]["healthy"], nodes


def test_customer_routes_refuse_operator_tokens(operator, cluster):
    r = operator.request("GET", cluster.path())
    assert r.status_code == 401, r.status_code


def test_apply_root_token_used_then_revoked_in_the_audit_log(stack, cluster, applied):
    _, since = applied
    root_use_and_revoke(node_audit_entries(stack, cluster), since)


def test_root_generation_is_in_the_audit_log(stack, cluster, applied):
    _, since = applied
    paths = [audit.path_of(e) for e in node_audit_entries(stack, cluster) if e.get("time", "")[:19] >= since]
    assert "sys/generate-root/attempt" in paths and "sys/generate-root/update" in paths, sorted(set(paths))


def test_no_root_token_survives(cluster, applied):
    c = cluster.vault()
    accessors = c.auth.token.list_accessors()["data"]["keys"]
    assert accessors, "the admin token itself should be listed"
    policies = {a: c.auth.token.lookup_accessor(a)["data"]["policies"] for a in accessors}
    roots = [a for a, p in policies.items() if "root" in p]
    assert not roots, f"root tokens still alive: {roots}"
    assert cluster.accessor in policies


def test_bundle_apply_visible_through_the_audit_logs_api(owner, cluster, applied):
    _, since = applied
    now = dt.datetime.now(dt.timezone.utc)
    window = {
        "from": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": (now + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

    def probe():
        r = owner.api.request("GET", cluster.path("/audit-logs/download"), params=window)
        assert r.status_code == 200, r.text[:300]
        return root_use_and_revoke(audit.parse_lines(r.text), since)

    until(probe, timeout=APPLY_TIMEOUT, what="the bundle apply (root write + revoke-self) in the shipped audit log")
