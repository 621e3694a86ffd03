"""coffer-server processes as the tests see them: a URL, a way to get an hvac client, restart.

Two shapes, mirroring how Vault is run: `dev` (in-memory, unsealed, known root token; shared by
most modules) and `from config` (an HCL file, durable storage, starts uninitialised and sealed;
used where init/seal/restart/storage behaviour is the thing under test).
"""

import secrets
import signal
from pathlib import Path

import hvac

from .hcl import make_self_signed_cert, render_config
from .process import Process, free_port

# Vault's health codes: 200 active, 429 standby, 472/473 DR/perf standby, 501 uninit, 503 sealed.
_ANY_HEALTH = {200, 429, 472, 473, 501, 503}


class CofferServer:
    def __init__(self, binary, workdir, *, argv_tail, url, verify=True, env=None, root_token=None):
        self.binary = binary
        self.workdir = Path(workdir)
        self.url = url
        self.verify = verify
        self.root_token = root_token
        self.unseal_keys = []
        self.recovery_keys = []
        self._process = Process([str(binary), "server", *argv_tail], self.workdir / "server.log", env=env)

    @property
    def log_path(self):
        return self._process.log_path

    def client(self, token=None):
        """An hvac client; defaults to the root token once it is known."""
        return hvac.Client(
            url=self.url,
            token=token if token is not None else self.root_token,
            verify=self.verify,
            timeout=15,
        )

    def start(self, *, ready_codes=_ANY_HEALTH, timeout=30.0):
        self._process.start()
        self._process.wait_http(
            f"{self.url}/v1/sys/health",
            lambda r: r.status_code in ready_codes,
            timeout=timeout,
            verify=self.verify,
            what=f"coffer-server health at {self.url}",
        )
        return self

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Stop with `sig` (SIGTERM: Vault's graceful shutdown) and return the exit code."""
        return self._process.stop(sig=sig, timeout=timeout)

    def send_signal(self, sig):
        """Deliver `sig` (e.g. SIGHUP) to the running server without waiting."""
        self._process.proc.send_signal(sig)

    def kill9(self):
        self._process.kill9()

    def restart(self):
        self.stop()
        return self.start()

    def alive(self):
        return self._process.alive()

    def init_and_unseal(self, shares=3, threshold=2):
        """Initialise with Shamir shares and unseal with exactly `threshold` of them."""
        client = self.client(token="")
        result = client.sys.initialize(secret_shares=shares, secret_threshold=threshold)
        self.root_token = result["root_token"]
        self.unseal_keys = result["keys"]
        client.sys.submit_unseal_keys(self.unseal_keys[:threshold])
        return result

    def unseal(self):
        return self.client(token="").sys.submit_unseal_keys(self.unseal_keys)


def dev_server(binary, workdir):
    port = free_port()
    token = "root-" + secrets.token_hex(12)
    server = CofferServer(
        binary,
        workdir,
        argv_tail=["-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"],
        url=f"http://127.0.0.1:{port}",
        root_token=token,
    )
    return server.start(ready_codes={200})


def config_server(binary, workdir, *, tls=False, listener_extra="", extra="", env=None, extra_args=()):
    """Write an HCL config into `workdir` and start a (not yet started) server object from it."""
    workdir = Path(workdir)
    storage = workdir / "data"
    storage.mkdir(parents=True, exist_ok=True)
    port = free_port()
    tls_pair = make_self_signed_cert(workdir) if tls else None
    config_path = workdir / "server.hcl"
    config_path.write_text(
        render_config(port=port, storage_dir=storage, tls=tls_pair, listener_extra=listener_extra, extra=extra)
    )
    scheme = "https" if tls else "http"
    server = CofferServer(
        binary,
        workdir,
        argv_tail=[f"-config={config_path}", *extra_args],
        url=f"{scheme}://127.0.0.1:{port}",
        verify=str(tls_pair[0]) if tls else True,
        env=env,
    )
    server.config_path = config_path
    server.storage_dir = storage
    return server


def server_from_text(binary, workdir, text_for_port, *, filename="server.hcl", config_arg=None, env=None):
    """Start-ready server from config text written by the caller: `text_for_port(port, data_dir)`
    returns the file contents. `config_arg` overrides what is passed to -config (e.g. a directory)."""
    workdir = Path(workdir)
    storage = workdir / "data"
    storage.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config_path = workdir / filename
    config_path.write_text(text_for_port(port, storage))
    server = CofferServer(
        binary,
        workdir,
        argv_tail=[f"-config={config_arg or config_path}"],
        url=f"http://127.0.0.1:{port}",
        env=env,
    )
    server.config_path = config_path
    server.storage_dir = storage
    return server
