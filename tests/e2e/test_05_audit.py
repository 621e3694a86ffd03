"""Step 4: the node's audit trail reaches the cluster's audit bucket within the shipping
interval, HMAC'd (no secret value, no token in clear), and the control plane serves it back."""

import datetime as dt
import re
import secrets

import pytest

from harness import audit, s3, vault
from harness.poll import until

# run.sh starts agents with a short shipping interval; the wait allows a few of them.
SHIP_TIMEOUT = 90
KEY_RE = r"audit/{cid}/node-0/\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/(\d{{20}})-(\d{{20}})\.jsonl\.gz"


@pytest.fixture(scope="module")
def marked_write(cluster):
    """A KV write whose audit entries the shipped objects must contain (hashed)."""
    path, value = f"e2e/audit-{secrets.token_hex(4)}", "s3cr3t-" + secrets.token_urlsafe(18)
    vault.put(cluster.vault(), path, {"password": value})
    return f"secret/data/{path}", value


@pytest.fixture(scope="module")
def shipped(stack, cluster, marked_write):
    """{key: (head, text)} of every audit object once one contains the marked write."""
    s3c = s3.client()
    bucket, _ = stack.resource(cluster.id, "bucket", role="audit")
    prefix = f"audit/{cluster.id}/"
    seen = {}

    def probe():
        for key in s3.list_keys(s3c, bucket, prefix):
            if key not in seen:
                body = s3c.get_object(Bucket=bucket, Key=key)
                seen[key] = (body, audit.gunzip_text(body["Body"].read()))
        return any(marked_write[0] in text for _, text in seen.values())

    until(probe, timeout=SHIP_TIMEOUT, what=f"an audit object under s3://{bucket}/{prefix} with the marked write")
    return bucket, seen


def test_keys_follow_the_contract_layout(cluster, shipped):
    _, objects = shipped
    pattern = re.compile(KEY_RE.format(cid=re.escape(cluster.id)))
    for key, (obj, text) in objects.items():
        m = pattern.fullmatch(key)
        assert m, f"unexpected audit key {key}"
        start, end = int(m.group(1)), int(m.group(2))
        # Offsets are byte offsets of whole lines in the node's audit file.
        assert end - start == len(text.encode()), (key, end - start, len(text.encode()))
        meta = obj.get("Metadata", {})
        assert int(meta["lines"]) == len(text.splitlines()), meta
        for k in ("first-time", "last-time"):
            dt.datetime.fromisoformat(meta[k].replace("Z", "+00:00"))
        assert obj.get("ServerSideEncryption") == "aws:kms", key


def test_lines_are_json_and_hmacd(cluster, shipped, marked_write):
    _, objects = shipped
    entries = [e for _, text in objects.values() for e in audit.parse_lines(text)]
    ours = audit.requests_to(entries, marked_write[0])
    assert ours, "the marked write is not among the shipped request entries"
    req = ours[0]
    assert req["auth"]["client_token"].startswith("hmac-sha256:"), req["auth"]
    assert req["auth"]["accessor"].startswith("hmac-sha256:"), req["auth"]
    assert req["request"]["data"]["data"]["password"].startswith("hmac-sha256:"), req["request"]


def test_no_secret_value_or_token_in_shipped_objects(cluster, shipped, marked_write):
    _, objects = shipped
    everything = "\n".join(text for _, text in objects.values())
    for needle, what in (
        (marked_write[1], "the marked secret value"),
        (cluster.first_secret[1], "the first secret value"),
        (cluster.admin_token, "the admin token"),
        (cluster.accessor, "the admin token's accessor"),
    ):
        assert needle not in everything, f"{what} appears in a shipped audit object"


def test_control_plane_lists_and_downloads_the_objects(owner, cluster, shipped, marked_write):
    _, objects = shipped
    now = dt.datetime.now(dt.timezone.utc)
    window = {
        "from": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": (now + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    listed = owner.api.get(cluster.path("/audit-logs"), params=window)
    items = listed.get("objects", listed) if isinstance(listed, dict) else listed
    listed_keys = {o["key"] for o in items}
    assert set(objects) <= listed_keys, (sorted(objects), sorted(listed_keys))

    r = owner.api.request("GET", cluster.path("/audit-logs/download"), params=window)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("application/x-ndjson"), r.headers
    entries = audit.parse_lines(r.text)
    assert audit.requests_to(entries, marked_write[0]), "the download lacks the marked write"
    assert marked_write[1] not in r.text and cluster.admin_token not in r.text


def test_audit_logs_need_a_valid_range(owner, cluster):
    r = owner.api.request("GET", cluster.path("/audit-logs"), params={"from": "yesterday", "to": "now"})
    assert r.status_code == 400, r.text[:300]
