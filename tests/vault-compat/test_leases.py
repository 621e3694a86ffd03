"""sys/leases through `client.sys.*_lease`: the leases behind tokens issued by an auth method
(the lease kind coffer issues; it has no dynamic-secret engines) can be listed, looked up,
revoked singly and by prefix; renewing a token lease goes through auth/token, as in Vault.
"""

import hvac
import pytest

from conftest import uid


@pytest.fixture
def userpass_logins(dev_server, client):
    """A fresh userpass mount with user `alice`; returns (mount, login) where login() -> token."""
    mount = uid("up")
    client.sys.enable_auth_method("userpass", path=mount)
    client.auth.userpass.create_or_update_user("alice", "pw", policies=["default"], mount_point=mount)

    def login():
        return dev_server.client(token="").auth.userpass.login("alice", "pw", mount_point=mount)["auth"]

    yield mount, login
    client.sys.disable_auth_method(mount)


def token_valid(dev_server, token):
    try:
        dev_server.client(token=token).auth.token.lookup_self()
    except hvac.exceptions.Forbidden:
        return False
    return True


def test_list_and_lookup_login_leases(client, userpass_logins):
    mount, login = userpass_logins
    first, second = login(), login()
    prefix = f"auth/{mount}/login/alice/"
    keys = client.sys.list_leases(prefix)["data"]["keys"]
    assert len(keys) == 2

    for key in keys:
        lease = client.sys.read_lease(prefix + key)["data"]
        assert lease["id"] == prefix + key
        assert lease["renewable"] is True
        assert 0 < lease["ttl"] <= first["lease_duration"]
        assert lease["issue_time"] and lease["expire_time"]
    assert first["client_token"] != second["client_token"]


def test_list_parent_prefix_shows_folders(client, userpass_logins):
    mount, login = userpass_logins
    login()
    assert "alice/" in client.sys.list_leases(f"auth/{mount}/login/")["data"]["keys"]


def test_revoke_single_lease_revokes_its_token(dev_server, client, userpass_logins):
    mount, login = userpass_logins
    auth = login()
    prefix = f"auth/{mount}/login/alice/"
    (key,) = client.sys.list_leases(prefix)["data"]["keys"]

    assert client.sys.revoke_lease(prefix + key).status_code == 204
    assert not token_valid(dev_server, auth["client_token"])
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.sys.list_leases(prefix)


def test_revoke_prefix_revokes_every_login(dev_server, client, userpass_logins):
    mount, login = userpass_logins
    tokens = [login()["client_token"] for _ in range(3)]
    assert all(token_valid(dev_server, t) for t in tokens)

    assert client.sys.revoke_prefix(f"auth/{mount}/login/alice").status_code == 204
    assert not any(token_valid(dev_server, t) for t in tokens)


def test_token_leases_are_renewed_through_auth_token(dev_server, client, userpass_logins):
    mount, login = userpass_logins
    auth = login()
    prefix = f"auth/{mount}/login/alice/"
    (key,) = client.sys.list_leases(prefix)["data"]["keys"]
    # "tokens cannot be renewed through this endpoint": 400 in current Vault, 403 in older ones.
    with pytest.raises((hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden)) as err:
        client.sys.renew_lease(prefix + key, increment=60)
    assert err.value.errors
    renewed = dev_server.client(token=auth["client_token"]).auth.token.renew_self(increment=60)
    assert renewed["auth"]["lease_duration"] == 60
    assert client.sys.read_lease(prefix + key)["data"]["ttl"] <= 60


def test_lookup_unknown_lease_is_rejected(client):
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        client.sys.read_lease("auth/token/create/does-not-exist")
    assert err.value.errors


def test_lease_listing_requires_sudo(dev_server, client):
    token = client.auth.token.create(policies=["default"], ttl="5m")["auth"]["client_token"]
    with pytest.raises(hvac.exceptions.Forbidden):
        dev_server.client(token=token).sys.list_leases("auth/")


def test_revoke_prefix_needs_a_prefix(config_server_unsealed):
    """Vault's route is revoke-prefix/(?P<prefix>.+): an empty prefix matches nothing, it must
    never mean "revoke every lease on the server". Runs on its own server: if it does revoke
    everything, nothing else is hit."""
    server = config_server_unsealed
    root = server.client()
    root.sys.enable_auth_method("userpass", path="userpass")
    root.auth.userpass.create_or_update_user("alice", "pw", policies=["default"])
    victim = server.client(token="").auth.userpass.login("alice", "pw")["auth"]["client_token"]
    resp = root.adapter.put("/v1/sys/leases/revoke-prefix/", raise_exception=False)
    assert 400 <= resp.status_code < 500
    assert token_valid(server, victim)
