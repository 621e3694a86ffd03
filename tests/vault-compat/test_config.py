"""Vault-format server config files as operators actually write them: the value spellings HCL1
accepted (`tls_disable = 1`, `"true"`), comments of every style, global lease TTLs, the `file`
storage name, JSON config files and a config directory. An existing Vault config must start
coffer-server unchanged.
"""

import json
import secrets as pysecrets

import pytest

from harness.coffer import CofferServer, server_from_text
from harness.process import free_port


def hcl(listener_line, extra=""):
    def render(port, data):
        return f"""
# hash comment
// slash comment
/* block
   comment */
storage "raft" {{
  path = "{data}"
}}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  {listener_line}
}}
{extra}
"""

    return render


@pytest.mark.parametrize("tls_disable", ["true", "1", '"true"', '"1"'])
def test_tls_disable_spellings(server_bin, tmp_path, tls_disable):
    server = server_from_text(server_bin, tmp_path, hcl(f"tls_disable = {tls_disable}"))
    try:
        server.start()
        server.init_and_unseal()
        assert server.client().auth.token.lookup_self()["data"]["policies"] == ["root"]
    finally:
        server.stop()


def test_global_lease_ttls(server_bin, tmp_path):
    server = server_from_text(
        server_bin, tmp_path, hcl("tls_disable = true", extra='default_lease_ttl = "1h"\nmax_lease_ttl = "2h"')
    )
    try:
        server.start()
        server.init_and_unseal()
        root = server.client()
        assert root.auth.token.create(policies=["default"])["auth"]["lease_duration"] == 3600
        capped = root.auth.token.create(policies=["default"], ttl="10h")["auth"]["lease_duration"]
        assert capped == 7200
        root.sys.enable_secrets_engine("kv", path="kv")
        tune = root.sys.read_mount_configuration("kv")["data"]
        assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (3600, 7200)
    finally:
        server.stop()


def test_file_storage_name(server_bin, tmp_path):
    def render(port, data):
        return f"""
storage "file" {{
  path = "{data}"
}}
listener "tcp" {{
  address     = "127.0.0.1:{port}"
  tls_disable = true
}}
"""

    server = server_from_text(server_bin, tmp_path, render)
    try:
        server.start()
        server.init_and_unseal()
        root = server.client()
        root.sys.enable_secrets_engine("kv", path="kv")
        root.secrets.kv.v1.create_or_update_secret("k", {"v": "1"}, mount_point="kv")
        server.restart()
        server.unseal()
        assert root.secrets.kv.v1.read_secret("k", mount_point="kv")["data"] == {"v": "1"}
    finally:
        server.stop()


def json_config(port, data):
    return json.dumps(
        {
            "storage": {"raft": {"path": str(data)}},
            "listener": [{"tcp": {"address": f"127.0.0.1:{port}", "tls_disable": True}}],
            "disable_mlock": True,
        }
    )


def test_json_config_file(server_bin, tmp_path):
    server = server_from_text(server_bin, tmp_path, json_config, filename="server.json")
    try:
        server.start()
        server.init_and_unseal()
        assert server.client().sys.is_sealed() is False
    finally:
        server.stop()


def test_config_directory(server_bin, tmp_path):
    """`-config=<dir>` loads every .hcl/.json file in it (here: storage and listener split)."""
    confdir = tmp_path / "conf.d"
    confdir.mkdir()

    def render(port, data):
        (confdir / "20-listener.hcl").write_text(
            f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
        )
        return f'storage "raft" {{\n  path = "{data}"\n}}\n'

    server = server_from_text(server_bin, tmp_path, render, filename="conf.d/10-storage.hcl", config_arg=confdir)
    try:
        server.start()
        server.init_and_unseal()
        assert server.client().sys.is_sealed() is False
    finally:
        server.stop()


def test_dev_mode_from_environment(server_bin, tmp_path):
    """The official Vault image and many CI setups configure dev mode through the environment."""
    port = free_port()
    token = "env-root-" + pysecrets.token_hex(6)
    server = CofferServer(
        server_bin,
        tmp_path,
        argv_tail=["-dev"],
        url=f"http://127.0.0.1:{port}",
        env={"VAULT_DEV_ROOT_TOKEN_ID": token, "VAULT_DEV_LISTEN_ADDRESS": f"127.0.0.1:{port}"},
        root_token=token,
    )
    try:
        server.start(ready_codes={200}, timeout=10)
        assert server.client().auth.token.lookup_self()["data"]["policies"] == ["root"]
    finally:
        server.stop()
