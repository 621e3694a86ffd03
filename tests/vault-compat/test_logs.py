"""The server's own log, at its most verbose level, never contains a secret: not the KV values,
not tokens (root, child, login, wrapping), not unseal keys, not passwords or transit plaintext.
"""

import base64

from conftest import uid

SECRET = "log-canary-value-5d2c"
PASSWORD = "log-canary-password-91ab"
PLAINTEXT = "log-canary-plaintext-77e0"


def test_trace_log_has_no_secrets(make_config_server):
    server = make_config_server(extra_args=["-log-level=trace"]).start()
    init = server.init_and_unseal()
    root = server.client()

    mount = uid("kv")
    root.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    root.secrets.kv.v2.create_or_update_secret("s", {"value": SECRET}, mount_point=mount)
    root.secrets.kv.v2.read_secret("s", mount_point=mount, raise_on_deleted_version=True)

    child = root.auth.token.create(policies=["default"], ttl="5m")["auth"]["client_token"]
    server.client(token=child).auth.token.lookup_self()

    root.sys.enable_auth_method("userpass", path="userpass")
    root.auth.userpass.create_or_update_user("logger", PASSWORD, policies=["default"])
    login = server.client(token="").auth.userpass.login("logger", PASSWORD)["auth"]["client_token"]
    try:
        server.client(token="").auth.userpass.login("logger", PASSWORD + "-wrong")
    except Exception:  # noqa: BLE001 - the failed login is only there to be logged
        pass

    root.sys.enable_secrets_engine("transit", path="transit")
    root.secrets.transit.create_key("k", mount_point="transit")
    ct = root.secrets.transit.encrypt_data(
        "k", base64.b64encode(PLAINTEXT.encode()).decode(), mount_point="transit"
    )["data"]["ciphertext"]
    root.secrets.transit.decrypt_data("k", ct, mount_point="transit")

    wrapping = root.sys.wrap(payload={"w": SECRET}, ttl=60)["wrap_info"]["token"]
    root.sys.unwrap(token=wrapping)

    root.sys.seal()
    server.unseal()
    server.stop()

    log = server.log_path.read_text(errors="replace")
    assert log, "the server logged nothing at trace level"
    canaries = {
        "kv value": SECRET,
        "password": PASSWORD,
        "transit plaintext": PLAINTEXT,
        "transit plaintext (base64)": base64.b64encode(PLAINTEXT.encode()).decode(),
        "root token": server.root_token,
        "child token": child,
        "login token": login,
        "wrapping token": wrapping,
    }
    for i, key in enumerate(init["keys"]):
        canaries[f"unseal key {i}"] = key
        canaries[f"unseal key {i} (base64)"] = init["keys_base64"][i]
    leaked = [name for name, value in canaries.items() if value in log]
    assert not leaked, f"secrets in the server log: {leaked}"
