"""Step 5: a platform operator publishes an MSP policy bundle; the node applies it with an
ephemeral root token (generate-root from the KMS-held recovery shares, write, revoke-self), all
of which the customer can see in the cluster's audit log, and no root token survives."""

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
    """Publishes a bundle that adds a marked rule to coffer-operator and waits until applied."""
    marker = secrets.token_hex(6)
    hcl = current_operator_policy() + f'\n# e2e {marker}\npath "sys/leases/lookup" {{ capabilities = ["list"] }}\n'
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
    return version


def node_audit_entries(stack, cluster):
    node = stack.node(cluster.id)
    return audit.parse_lines((Path(node["data_dir"]) / "audit" / "audit.log").read_text())


def test_node_reports_the_applied_version(owner, cluster, applied):
    nodes = until(
        lambda: owner.api.get(cluster.path("/nodes"))["nodes"],
        timeout=APPLY_TIMEOUT,
        done=lambda ns: ns and ns[0].get("msp_bundle_version") == applied,
        what=f"node 0 to report bundle version {applied}",
    )
    assert nodes[0]["healthy"], nodes


def test_customer_routes_refuse_operator_tokens(operator, cluster):
    r = operator.request("GET", cluster.path())
    assert r.status_code == 401, r.status_code


def test_apply_is_in_the_customer_audit_log(stack, cluster, applied):
    entries = node_audit_entries(stack, cluster)
    order = []
    for i, e in enumerate(entries):
        if e.get("type") == "response":
            order.append((i, audit.path_of(e), e))
    attempt = [i for i, p, e in order if p == "sys/generate-root/attempt" and not e.get("error")]
    update = [i for i, p, e in order if p == "sys/generate-root/update" and not e.get("error")]
    write = [i for i, p, e in order if p in ("sys/policies/acl/coffer-operator", "sys/policy/coffer-operator")]
    revoke = [i for i, p, e in order if p == "auth/token/revoke-self"]
    assert attempt and update and write and revoke, (
        f"attempt={attempt} update={update} write={write} revoke={revoke}; "
        f"paths seen: {sorted({p for _, p, _ in order})}"
    )
    # Generated, used, revoked: in that order, the revoke last.
    assert attempt[-1] < update[-1] < write[-1] < revoke[-1]
    last_revoke = entries[revoke[-1]]
    assert not last_revoke.get("error"), last_revoke
    assert "root" in (last_revoke.get("auth") or {}).get("policies", []), "revoke-self must be the root token's"


def test_no_root_token_survives(cluster, applied):
    c = cluster.vault()
    accessors = c.auth.token.list_accessors()["data"]["keys"]
    assert accessors, "the admin token itself should be listed"
    policies = {a: c.auth.token.lookup_accessor(a)["data"]["policies"] for a in accessors}
    roots = [a for a, p in policies.items() if "root" in p]
    assert not roots, f"root tokens still alive: {roots}"
    assert cluster.accessor in policies


def test_bundle_apply_visible_through_the_audit_logs_api(owner, cluster, applied):
    now = dt.datetime.now(dt.timezone.utc)
    window = {
        "from": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": (now + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

    def probe():
        r = owner.api.request("GET", cluster.path("/audit-logs/download"), params=window)
        assert r.status_code == 200, r.text[:300]
        return {audit.path_of(e) for e in audit.parse_lines(r.text)}

    until(
        probe,
        timeout=APPLY_TIMEOUT,
        done=lambda paths: {"sys/generate-root/attempt", "sys/generate-root/update", "auth/token/revoke-self"} <= paths,
        what="the bundle apply entries in the shipped audit log",
    )

