"""Vault-format (HCL) server config files and the TLS material they point at.

The config is written the way an operator would write it for HashiCorp Vault, because that is
the compatibility promise: an existing Vault config file starts coffer-server unchanged.
"""

import json
import subprocess
from pathlib import Path


def hcl_string(value):
    # JSON string escaping is a subset HCL accepts, and it handles quotes/backslashes in tmp paths.
    return json.dumps(str(value))


def make_self_signed_cert(directory):
    """Write a throwaway self-signed cert/key for 127.0.0.1 and return (cert_path, key_path)."""
    directory = Path(directory)
    cert = directory / "tls-cert.pem"
    key = directory / "tls-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def render_config(*, port, storage_dir, tls=None, listener_extra="", extra=""):
    """A complete server config: raft-style storage in `storage_dir`, one TCP listener.

    `tls` is None for a plain listener or a (cert_path, key_path) pair.
    """
    if tls is None:
        tls_lines = "  tls_disable = true"
        scheme = "http"
    else:
        cert, key = tls
        tls_lines = f"  tls_cert_file = {hcl_string(cert)}\n  tls_key_file  = {hcl_string(key)}"
        scheme = "https"
    return f"""
ui            = false
disable_mlock = true
api_addr      = "{scheme}://127.0.0.1:{port}"

storage "raft" {{
  path    = {hcl_string(storage_dir)}
  node_id = "coffer-compat"
}}

listener "tcp" {{
  address = "127.0.0.1:{port}"
{tls_lines}
{listener_extra}
}}
{extra}
"""
