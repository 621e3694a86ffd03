"""sys/tools/random and sys/tools/hash: the transit utilities without a transit mount."""

import base64
import hashlib

import hvac
import pytest


@pytest.mark.parametrize("fmt, decode", [("base64", base64.b64decode), ("hex", bytes.fromhex)])
def test_random(client, fmt, decode):
    one = client.adapter.post("/v1/sys/tools/random/24", json={"format": fmt})["data"]["random_bytes"]
    two = client.adapter.post("/v1/sys/tools/random/24", json={"format": fmt})["data"]["random_bytes"]
    assert len(decode(one)) == 24
    assert one != two


@pytest.mark.parametrize(
    "algorithm, fn",
    [("sha2-256", hashlib.sha256), ("sha2-384", hashlib.sha384), ("sha2-512", hashlib.sha512)],
)
def test_hash(client, algorithm, fn):
    resp = client.adapter.post(
        f"/v1/sys/tools/hash/{algorithm}", json={"input": base64.b64encode(b"coffer").decode(), "format": "hex"}
    )
    assert resp["data"]["sum"] == fn(b"coffer").hexdigest()


def test_random_rejects_absurd_sizes(client):
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.adapter.post("/v1/sys/tools/random/0")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.adapter.post("/v1/sys/tools/random/100000000")
