"""Step 2: an admin token from the control plane works against the node with a stock Vault
client, and is the customer-admin token it claims to be (no audit-device access)."""

import secrets

import hvac
import pytest

from harness import vault


def test_admin_token_writes_and_reads_kv2(cluster):
    c = cluster.vault()
    path, value = "e2e/step2", secrets.token_urlsafe(16)
    vault.put(c, path, {"password": value, "n": 2})
    assert vault.get(c, path) == {"password": value, "n": 2}


def test_admin_token_is_customer_admin(cluster):
    me = cluster.vault().auth.token.lookup_self()["data"]
    assert "coffer-customer-admin" in me["policies"], me["policies"]
    assert "root" not in me["policies"]
    assert me["accessor"] == cluster.accessor
    # Orphan, expiring: the control plane never holds a long-lived credential for the customer.
    assert me.get("orphan") is True
    assert 0 < me["ttl"] <= 3600


def test_admin_token_is_denied_the_audit_devices(cluster):
    c = cluster.vault()
    with pytest.raises(hvac.exceptions.Forbidden):
        c.sys.list_enabled_audit_devices()
    with pytest.raises(hvac.exceptions.Forbidden):
        c.sys.disable_audit_device("coffer-file")


def test_a_garbage_token_is_refused(cluster):
    with pytest.raises(hvac.exceptions.Forbidden):
        vault.get(cluster.vault(token="hvs." + secrets.token_urlsafe(20)), cluster.first_secret[0])
