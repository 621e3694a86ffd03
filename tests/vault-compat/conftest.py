"""Fixtures for the Vault-client compatibility suite: the real hvac client against the real
coffer-server binary.

- `server_bin`: $COFFER_SERVER_BIN, or `cargo build -p coffer-server` into $CARGO_TARGET_DIR.
- `dev_server` / `client`: one shared dev-mode server per session; tests stay independent by
  using `uid()`-named mounts, policies and paths rather than by restarting the server.
- `make_config_server`: servers from an HCL config with durable storage (optionally TLS), for
  tests of init/seal/restart/snapshot/audit behaviour that must not disturb the shared server.
Every process started here is killed at teardown.
"""

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.coffer import config_server, dev_server as start_dev_server

REPO_ROOT = Path(__file__).resolve().parents[2]


def uid(prefix="t"):
    """A unique, path-safe name so tests never collide on the shared server."""
    return f"{prefix}-{secrets.token_hex(5)}"


@pytest.fixture(scope="session")
def server_bin():
    explicit = os.environ.get("COFFER_SERVER_BIN")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            pytest.fail(f"COFFER_SERVER_BIN={explicit} does not exist")
        return path
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/coffer/target-dp"))
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    build = subprocess.run(
        ["cargo", "build", "-p", "coffer-server"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        pytest.fail(f"cargo build -p coffer-server failed:\n{build.stderr[-4000:]}")
    path = target / "debug" / "coffer-server"
    if not path.is_file():
        pytest.fail(f"build succeeded but {path} is missing")
    return path


@pytest.fixture(scope="session")
def dev_server(server_bin, tmp_path_factory):
    server = start_dev_server(server_bin, tmp_path_factory.mktemp("dev-server"))
    yield server
    server.stop()


@pytest.fixture
def client(dev_server):
    """hvac client holding the dev server's root token."""
    c = dev_server.client()
    yield c
    c.adapter.close()


@pytest.fixture
def make_config_server(server_bin, tmp_path):
    """Factory: `make_config_server(tls=False, listener_extra="", extra="", env=None, extra_args=())` returns a
    configured but not yet started CofferServer; all of them are stopped at teardown."""
    started = []

    def make(**kwargs):
        workdir = tmp_path / f"server-{len(started)}"
        workdir.mkdir()
        server = config_server(server_bin, workdir, **kwargs)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def config_server_unsealed(make_config_server):
    """A config-file server, initialised and unsealed, with its root token set."""
    server = make_config_server().start()
    server.init_and_unseal()
    return server


@pytest.fixture
def kv2_mount(client):
    path = uid("kv2")
    client.sys.enable_secrets_engine("kv", path=path, options={"version": "2"})
    yield path
    client.sys.disable_secrets_engine(path)


@pytest.fixture
def kv1_mount(client):
    path = uid("kv1")
    client.sys.enable_secrets_engine("kv", path=path, options={"version": "1"})
    yield path
    client.sys.disable_secrets_engine(path)


@pytest.fixture
def transit_mount(client):
    path = uid("transit")
    client.sys.enable_secrets_engine("transit", path=path)
    yield path
    client.sys.disable_secrets_engine(path)


def pytest_report_header(config):
    return f"coffer vault-compat: moto_server={shutil.which('moto_server') or 'not on PATH'}"
