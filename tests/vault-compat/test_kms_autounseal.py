"""AWS KMS auto-unseal against a local KMS (moto_server from the venv): init with recovery
shares, restart, and the server comes back unsealed without anyone typing a key. With KMS
unreachable at start-up the server must not come up unsealed.
"""

import base64
import shutil
import sys
from pathlib import Path

import boto3
import pytest
import requests

from conftest import uid
from harness.poll import wait_until
from harness.process import Process, ProcessDied, free_port

REGION = "us-east-1"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    # Keep the server from finding real credentials or instance metadata.
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


def moto_server_binary():
    beside_python = Path(sys.executable).with_name("moto_server")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("moto_server")
    if not found:
        pytest.fail("moto_server not found; install requirements.txt (moto[server])")
    return found


@pytest.fixture
def kms(tmp_path):
    """A running moto KMS: yields (endpoint, key_id, process)."""
    port = free_port()
    proc = Process([moto_server_binary(), "-H", "127.0.0.1", "-p", str(port)], tmp_path / "moto.log").start()
    endpoint = f"http://127.0.0.1:{port}"
    proc.wait_http(f"{endpoint}/moto-api/", lambda r: r.status_code < 500, what="moto_server")
    kms_client = boto3.client(
        "kms", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )
    key_id = kms_client.create_key(Description="coffer auto-unseal test")["KeyMetadata"]["KeyId"]
    yield endpoint, key_id, proc
    proc.stop()


def seal_stanza(endpoint, key_id):
    return f"""
seal "awskms" {{
  region     = "{REGION}"
  kms_key_id = "{key_id}"
  endpoint   = "{endpoint}"
}}
"""


def test_init_with_recovery_keys_and_unseal_after_restart(make_config_server, kms):
    endpoint, key_id, _ = kms
    server = make_config_server(extra=seal_stanza(endpoint, key_id), env=AWS_ENV).start()
    anon = server.client(token="")
    status = anon.sys.read_seal_status()
    assert status["initialized"] is False
    assert status["type"] == "awskms"

    result = anon.sys.initialize(recovery_shares=3, recovery_threshold=2)
    assert len(result["recovery_keys"]) == 3
    assert len(result["recovery_keys_base64"]) == 3
    assert result["keys"] == []
    server.root_token = result["root_token"]

    # Auto-unseal: unsealed straight after init, no unseal keys involved.
    status = anon.sys.read_seal_status()
    assert status["sealed"] is False
    assert status["recovery_seal"] is True
    assert status["type"] == "awskms"

    root = server.client()
    mount = uid("kv")
    root.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    root.secrets.kv.v2.create_or_update_secret("db", {"password": "kms-protected"}, mount_point=mount)

    server.restart()
    wait_for_unsealed(server)
    got = root.secrets.kv.v2.read_secret("db", mount_point=mount, raise_on_deleted_version=True)
    assert got["data"]["data"] == {"password": "kms-protected"}

    server.kill9()
    server.start()
    wait_for_unsealed(server)
    assert root.secrets.kv.v2.read_secret("db", mount_point=mount, raise_on_deleted_version=True)["data"]["data"] == {
        "password": "kms-protected"
    }


def wait_for_unsealed(server):
    wait_until(
        lambda: requests.get(f"{server.url}/v1/sys/health", timeout=2).status_code == 200,
        timeout=30,
        interval=0.1,
        what="auto-unseal after restart",
    )


def test_root_key_is_not_stored_in_plaintext(make_config_server, kms):
    endpoint, key_id, _ = kms
    server = make_config_server(extra=seal_stanza(endpoint, key_id), env=AWS_ENV).start()
    result = server.client(token="").sys.initialize(recovery_shares=1, recovery_threshold=1)
    server.root_token = result["root_token"]
    server.client().sys.enable_secrets_engine("kv", path="kv", options={"version": "1"})
    server.client().secrets.kv.v1.create_or_update_secret("x", {"marker": "plain-marker-7f3a"}, mount_point="kv")
    server.stop()
    for path in server.storage_dir.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert b"plain-marker-7f3a" not in blob
            assert result["root_token"].encode() not in blob


def test_unreachable_kms_keeps_server_sealed(make_config_server, kms):
    endpoint, key_id, moto = kms
    server = make_config_server(extra=seal_stanza(endpoint, key_id), env=AWS_ENV).start()
    server.client(token="").sys.initialize(recovery_shares=1, recovery_threshold=1)
    server.stop()
    moto.stop()

    # Either the process refuses to run, or it runs sealed. It must never be unsealed.
    try:
        server.start()
    except ProcessDied:
        return
    resp = requests.get(f"{server.url}/v1/sys/health", timeout=5)
    assert resp.status_code == 503
    assert resp.json()["sealed"] is True


def test_generate_root_with_recovery_keys(make_config_server, kms):
    """Under an auto-seal, root generation is authorised by recovery shares, not unseal keys."""
    endpoint, key_id, _ = kms
    server = make_config_server(extra=seal_stanza(endpoint, key_id), env=AWS_ENV).start()
    anon = server.client(token="")
    init = anon.sys.initialize(recovery_shares=3, recovery_threshold=2)
    attempt = anon.sys.start_root_token_generation()
    assert attempt["required"] == 2
    anon.sys.generate_root(init["recovery_keys"][0], attempt["nonce"])
    done = anon.sys.generate_root(init["recovery_keys_base64"][1], attempt["nonce"])
    assert done["complete"] is True
    encoded = done["encoded_token"]
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    token = bytes(a ^ b for a, b in zip(raw, attempt["otp"].encode())).decode()
    assert server.client(token=token).auth.token.lookup_self()["data"]["policies"] == ["root"]
