"""sys/metrics: Prometheus text exposition (format=prometheus) and Vault's JSON form, on a
config server with a `telemetry` stanza as an operator would configure it.
"""

import re

import hvac
import pytest
import requests

TELEMETRY = """
telemetry {
  prometheus_retention_time = "30s"
  disable_hostname          = true
}
"""

# name{labels} value [timestamp]
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEinfNa]+( [0-9]+)?$')


@pytest.fixture
def metrics_server(make_config_server):
    server = make_config_server(extra=TELEMETRY).start()
    server.init_and_unseal()
    return server


def get_metrics(server, token, **params):
    headers = {"X-Vault-Token": token} if token else {}
    return requests.get(f"{server.url}/v1/sys/metrics", params=params, headers=headers, verify=server.verify, timeout=10)


def test_prometheus_text_format(metrics_server):
    root = metrics_server.client()
    root.auth.token.lookup_self()  # make sure some requests have been counted

    resp = get_metrics(metrics_server, metrics_server.root_token, format="prometheus")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    lines = resp.text.splitlines()
    samples = [line for line in lines if line and not line.startswith("#")]
    assert samples, "no metric samples at all"
    for line in samples:
        assert SAMPLE.match(line), f"not a Prometheus sample line: {line!r}"
    types = [line for line in lines if line.startswith("# TYPE ")]
    assert types
    for line in types:
        assert line.split()[3] in ("counter", "gauge", "histogram", "summary", "untyped")


def test_prometheus_counts_requests(metrics_server):
    root = metrics_server.client()

    def total_requests():
        text = get_metrics(metrics_server, metrics_server.root_token, format="prometheus").text
        total = 0.0
        for line in text.splitlines():
            if line.startswith("vault_core_handle_request_count"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    before = total_requests()
    for _ in range(5):
        root.auth.token.lookup_self()
    assert total_requests() >= before + 5


def test_json_format(metrics_server):
    resp = get_metrics(metrics_server, metrics_server.root_token)
    assert resp.status_code == 200
    body = resp.json()
    for key in ("Gauges", "Counters", "Samples"):
        assert isinstance(body[key], list)


def test_metrics_require_a_token(metrics_server):
    resp = get_metrics(metrics_server, None, format="prometheus")
    assert resp.status_code in (400, 403)
    assert resp.json()["errors"]


def test_metrics_via_hvac_adapter(metrics_server):
    root = metrics_server.client()
    resp = root.adapter.get("/v1/sys/metrics", params={"format": "prometheus"}, raise_exception=False)
    # Not JSON, so hvac's JSON adapter hands back the raw Response.
    assert not isinstance(resp, dict)
    assert resp.status_code == 200
    assert "# TYPE" in resp.text
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.adapter.get("/v1/sys/metrics", params={"format": "no-such-format"})


def test_unauthenticated_metrics_access(make_config_server):
    """Prometheus scrapers are usually configured without a token, via the listener's telemetry block."""
    server = make_config_server(
        extra=TELEMETRY,
        listener_extra="  telemetry {\n    unauthenticated_metrics_access = true\n  }",
    ).start()
    server.init_and_unseal()
    resp = get_metrics(server, None, format="prometheus")
    assert resp.status_code == 200
    assert "# TYPE" in resp.text
