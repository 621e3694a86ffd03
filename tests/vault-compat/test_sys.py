"""sys/* lifecycle on a config-file server: init, unseal, seal, seal-status, health (GET and
HEAD, with the status-code override query parameters), leader, key rotation, restart/durability
and the TLS listener. These run against a fresh server each (a config server starts
uninitialised), never against the shared dev server.
"""

import base64
import secrets
import signal
import socket
import ssl
from urllib.parse import urlsplit

import hvac
import pytest
import requests

from conftest import uid
from harness.hcl import make_self_signed_cert
from harness.poll import wait_until


def health(server, method="GET", **params):
    return requests.request(method, f"{server.url}/v1/sys/health", params=params, verify=server.verify, timeout=10)


def test_initialize_and_unseal_with_threshold(make_config_server):
    server = make_config_server().start()
    anon = server.client(token="")

    assert anon.sys.is_initialized() is False
    status = anon.sys.read_init_status()
    assert status == {"initialized": False}

    result = anon.sys.initialize(secret_shares=3, secret_threshold=2)
    assert len(result["keys"]) == 3
    assert len(result["keys_base64"]) == 3
    assert len(set(result["keys"])) == 3
    assert isinstance(result["root_token"], str) and result["root_token"]
    assert anon.sys.is_initialized() is True

    seal = anon.sys.read_seal_status()
    assert seal["type"] == "shamir"
    assert seal["initialized"] is True
    assert seal["sealed"] is True
    assert (seal["t"], seal["n"], seal["progress"]) == (2, 3, 0)

    first = anon.sys.submit_unseal_key(result["keys"][1])
    assert first["sealed"] is True
    assert first["progress"] == 1
    # base64 shares are accepted as well as hex ones.
    second = anon.sys.submit_unseal_key(result["keys_base64"][2])
    assert second["sealed"] is False
    assert second["progress"] == 0
    assert anon.sys.is_sealed() is False

    root = server.client(token=result["root_token"])
    me = root.auth.token.lookup_self()["data"]
    assert me["policies"] == ["root"]


def test_initialize_twice_is_rejected(make_config_server):
    server = make_config_server().start()
    server.init_and_unseal()
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        server.client(token="").sys.initialize(secret_shares=1, secret_threshold=1)
    assert err.value.errors


def test_wrong_unseal_key_is_rejected_and_progress_resets(make_config_server):
    server = make_config_server().start()
    anon = server.client(token="")
    keys = anon.sys.initialize(secret_shares=3, secret_threshold=2)["keys"]

    anon.sys.submit_unseal_key(keys[0])
    bogus = secrets.token_bytes(len(bytes.fromhex(keys[0]))).hex()
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        anon.sys.submit_unseal_key(bogus)
    assert err.value.errors
    status = anon.sys.read_seal_status()
    assert status["sealed"] is True
    assert status["progress"] == 0

    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.sys.submit_unseal_key("this is not a key")

    # reset=true discards a partial unseal.
    anon.sys.submit_unseal_key(keys[0])
    assert anon.sys.read_seal_status()["progress"] == 1
    assert anon.sys.submit_unseal_key(reset=True)["progress"] == 0

    assert anon.sys.submit_unseal_keys(keys[1:])["sealed"] is False


def test_seal_blocks_requests_and_unseal_restores_data(make_config_server):
    server = make_config_server().start()
    server.init_and_unseal()
    root = server.client()
    root.sys.enable_secrets_engine("kv", path="kv", options={"version": "2"})
    root.secrets.kv.v2.create_or_update_secret("app/db", {"password": "s3cr3t"}, mount_point="kv")

    root.sys.seal()
    assert root.sys.is_sealed() is True
    with pytest.raises(hvac.exceptions.VaultDown):
        root.secrets.kv.v2.read_secret("app/db", mount_point="kv", raise_on_deleted_version=True)

    server.unseal()
    secret = root.secrets.kv.v2.read_secret("app/db", mount_point="kv", raise_on_deleted_version=True)
    assert secret["data"]["data"] == {"password": "s3cr3t"}


def test_seal_requires_a_token(make_config_server):
    server = make_config_server().start()
    server.init_and_unseal()
    with pytest.raises((hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized)):
        server.client(token="").sys.seal()
    assert server.client().sys.is_sealed() is False


@pytest.mark.parametrize(
    "state, expect",
    [
        ("uninitialized", 501),
        ("sealed", 503),
        ("active", 200),
    ],
)
def test_health_status_codes_get_and_head(make_config_server, state, expect):
    server = make_config_server().start()
    if state != "uninitialized":
        server.init_and_unseal()
    if state == "sealed":
        server.client().sys.seal()

    got = health(server)
    assert got.status_code == expect
    body = got.json()
    assert body["initialized"] is (state != "uninitialized")
    assert body["sealed"] is (state != "active")
    if state == "active":
        assert body["standby"] is False
    assert isinstance(body["server_time_utc"], int)
    assert isinstance(body["version"], str)

    head = server.client(token="").sys.read_health_status(method="HEAD")
    assert head.status_code == expect
    assert head.content == b""


@pytest.mark.parametrize(
    "state, params, expect",
    [
        ("uninitialized", {"uninitcode": 299}, 299),
        ("sealed", {"sealedcode": 299}, 299),
        ("active", {"activecode": 204}, 204),
        # A code for another state does not apply.
        ("active", {"sealedcode": 299, "uninitcode": 298}, 200),
        ("sealed", {"activecode": 299}, 503),
    ],
)
def test_health_code_overrides(make_config_server, state, params, expect):
    server = make_config_server().start()
    if state != "uninitialized":
        server.init_and_unseal()
    if state == "sealed":
        server.client().sys.seal()
    assert health(server, **params).status_code == expect
    assert health(server, method="HEAD", **params).status_code == expect


def test_health_via_hvac_get_with_overrides(make_config_server):
    server = make_config_server().start()
    anon = server.client(token="")
    resp = anon.sys.read_health_status(method="GET", uninit_code=299)
    assert resp.status_code == 299
    assert resp.json()["initialized"] is False


def test_leader_status(config_server_unsealed):
    leader = config_server_unsealed.client().sys.read_leader_status()
    assert isinstance(leader["ha_enabled"], bool)
    assert isinstance(leader["leader_address"], str)
    if leader["ha_enabled"]:
        assert leader["is_self"] is True
        assert leader["leader_address"] == config_server_unsealed.url


def test_key_status_and_rotate_keep_data_readable(config_server_unsealed):
    root = config_server_unsealed.client()
    root.sys.enable_secrets_engine("kv", path="kv", options={"version": "1"})
    root.secrets.kv.v1.create_or_update_secret("before", {"v": "1"}, mount_point="kv")

    status = root.sys.get_encryption_key_status()
    assert status["data"]["term"] == 1
    assert status["data"]["install_time"]

    root.sys.rotate_encryption_key()
    assert root.sys.get_encryption_key_status()["data"]["term"] == 2
    root.secrets.kv.v1.create_or_update_secret("after", {"v": "2"}, mount_point="kv")

    root.sys.rotate_encryption_key()
    assert root.sys.get_encryption_key_status()["data"]["term"] == 3

    # Entries written under older terms stay readable, across a seal/unseal too.
    root.sys.seal()
    config_server_unsealed.unseal()
    assert root.secrets.kv.v1.read_secret("before", mount_point="kv")["data"] == {"v": "1"}
    assert root.secrets.kv.v1.read_secret("after", mount_point="kv")["data"] == {"v": "2"}
    assert root.sys.get_encryption_key_status()["data"]["term"] == 3


def test_key_status_requires_root(config_server_unsealed):
    root = config_server_unsealed.client()
    weak = root.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"]
    with pytest.raises(hvac.exceptions.Forbidden):
        config_server_unsealed.client(token=weak).sys.rotate_encryption_key()


@pytest.mark.parametrize("how", ["graceful", "kill -9"])
def test_restart_keeps_acknowledged_writes(make_config_server, how):
    server = make_config_server().start()
    server.init_and_unseal()
    root = server.client()
    mount = uid("kv")
    root.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    for i in range(20):
        root.secrets.kv.v2.create_or_update_secret(f"k{i}", {"i": str(i)}, mount_point=mount)

    if how == "kill -9":
        server.kill9()
    else:
        server.stop()
    server.start()

    anon = server.client(token="")
    assert anon.sys.is_initialized() is True
    assert anon.sys.is_sealed() is True
    server.unseal()
    for i in range(20):
        got = root.secrets.kv.v2.read_secret(f"k{i}", mount_point=mount, raise_on_deleted_version=True)
        assert got["data"]["data"] == {"i": str(i)}
    assert mount + "/" in root.sys.list_mounted_secrets_engines()["data"]


def test_tls_listener(make_config_server):
    server = make_config_server(tls=True).start()
    assert server.url.startswith("https://")
    assert health(server).status_code == 501

    server.init_and_unseal()
    assert server.client().auth.token.lookup_self()["data"]["policies"] == ["root"]

    # The TLS port does not also speak plain HTTP: either the connection fails or the server
    # answers 400 ("client sent an HTTP request to an HTTPS server"), never a health document.
    plain = server.url.replace("https://", "http://")
    try:
        resp = requests.get(f"{plain}/v1/sys/health", timeout=5)
    except requests.exceptions.RequestException:
        return
    assert resp.status_code == 400


def test_generate_root_with_otp(make_config_server):
    server = make_config_server().start()
    result = server.init_and_unseal(shares=3, threshold=2)
    anon = server.client(token="")

    progress = anon.sys.read_root_generation_progress()
    assert progress["started"] is False

    attempt = anon.sys.start_root_token_generation()
    assert attempt["started"] is True
    assert attempt["required"] == 2
    otp, nonce = attempt["otp"], attempt["nonce"]
    assert otp and nonce

    first = anon.sys.generate_root(result["keys"][0], nonce)
    assert first["progress"] == 1 and first["complete"] is False
    second = anon.sys.generate_root(result["keys"][2], nonce)
    assert second["complete"] is True
    encoded = second["encoded_token"]

    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    token = bytes(a ^ b for a, b in zip(raw, otp.encode())).decode()
    new_root = server.client(token=token)
    assert new_root.auth.token.lookup_self()["data"]["policies"] == ["root"]
    assert token != result["root_token"]
    assert anon.sys.read_root_generation_progress()["started"] is False


def test_sealed_server_answers_503_everywhere_but_the_unauthenticated_status_endpoints(make_config_server):
    server = make_config_server().start()
    server.init_and_unseal()
    root = server.client()
    root.sys.enable_auth_method("userpass", path="userpass")
    root.sys.seal()

    def status(method, path, token=True, body=None):
        headers = {"X-Vault-Token": server.root_token} if token else {}
        return requests.request(method, f"{server.url}/v1/{path}", headers=headers, json=body, timeout=10).status_code

    for method, path, token in [
        ("GET", "auth/token/lookup-self", True),
        ("GET", "sys/mounts", True),
        ("GET", "secret/data/x", True),
        ("LIST", "sys/policies/acl", True),
        ("POST", "auth/userpass/login/alice", False),
        ("GET", "auth/token/lookup-self", False),
    ]:
        assert status(method, path, token, body={"password": "x"} if "login" in path else None) == 503, path
    assert status("GET", "sys/seal-status", False) == 200
    assert status("GET", "sys/init", False) == 200
    assert status("GET", "sys/health", False) == 503


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # asking for TLS 1.1 is the point
def test_tls_refuses_legacy_protocol_versions(make_config_server):
    server = make_config_server(tls=True).start()
    parts = urlsplit(server.url)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as raw_sock:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            with ctx.wrap_socket(raw_sock) as tls:
                tls.do_handshake()


def test_sighup_reloads_tls_certificate(make_config_server):
    """Vault re-reads tls_cert_file/tls_key_file on SIGHUP so certificates rotate without a restart."""
    server = make_config_server(tls=True).start()
    parts = urlsplit(server.url)

    def served_cert():
        return ssl.get_server_certificate((parts.hostname, parts.port))

    before = served_cert()
    fresh_dir = server.workdir / "fresh"
    fresh_dir.mkdir()
    new_cert, new_key = make_self_signed_cert(fresh_dir)
    (server.workdir / "tls-cert.pem").write_bytes(new_cert.read_bytes())
    (server.workdir / "tls-key.pem").write_bytes(new_key.read_bytes())
    server.send_signal(signal.SIGHUP)
    wait_until(lambda: served_cert() != before, timeout=10, interval=0.2, what="new certificate after SIGHUP")
    assert ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(served_cert())) == ssl.DER_cert_to_PEM_cert(
        ssl.PEM_cert_to_DER_cert(new_cert.read_text())
    )
    assert server.alive()
