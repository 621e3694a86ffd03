"""The customer's side of a cluster: hvac against the node's Vault API address."""

import hvac
import requests

from .poll import until

KV_MOUNT = "secret"


def client(address, token):
    return hvac.Client(url=address, token=token, timeout=15)


def ensure_kv2(c):
    """Mounts KV v2 at `secret/` unless something is mounted there (a fresh cluster has none)."""
    mounts = c.sys.list_mounted_secrets_engines()
    data = mounts.get("data", mounts)
    if f"{KV_MOUNT}/" not in data:
        c.sys.enable_secrets_engine("kv", path=KV_MOUNT, options={"version": "2"})


def put(c, path, secret):
    return c.secrets.kv.v2.create_or_update_secret(path=path, secret=secret, mount_point=KV_MOUNT)


def get(c, path):
    return c.secrets.kv.v2.read_secret_version(path=path, mount_point=KV_MOUNT, raise_on_deleted_version=True)[
        "data"
    ]["data"]


def health(address):
    """`sys/health` as JSON whatever the status code (Vault encodes seal state in the code)."""
    r = requests.get(f"{address}/v1/sys/health", timeout=5)
    return r.json()


def wait_unsealed(address, *, timeout, what="the node to serve unsealed"):
    return until(
        lambda: health(address),
        timeout=timeout,
        done=lambda h: isinstance(h, dict) and h.get("initialized") and not h.get("sealed"),
        what=f"{what} at {address}",
    )
