"""Token store via hvac's `client.auth.token`: create/lookup/renew/revoke, accessors, orphans,
revocation of the child tree, use limits and TTL expiry (short TTL + polling, no fixed sleeps).
"""

from concurrent.futures import ThreadPoolExecutor

import hvac
import pytest

from conftest import uid
from harness.poll import wait_until


def creator_policy(client):
    """A policy that lets a non-root token create child tokens carrying the same policy."""
    name = uid("tok-creator")
    client.sys.create_or_update_policy(
        name,
        'path "auth/token/create" { capabilities = ["update"] }\n'
        'path "auth/token/create-orphan" { capabilities = ["update"] }\n',
    )
    return name


def is_revoked(dev_server, token):
    try:
        dev_server.client(token=token).auth.token.lookup_self()
    except hvac.exceptions.Forbidden:
        return True
    return False


def test_create_returns_auth_block(client):
    resp = client.auth.token.create(policies=["zeta", "alpha"], ttl="1h", meta={"team": "pay"}, display_name="ci")
    auth = resp["auth"]
    assert auth["client_token"] and auth["accessor"]
    assert auth["client_token"] != auth["accessor"]
    assert auth["policies"] == ["alpha", "default", "zeta"]
    assert auth["token_policies"] == ["alpha", "default", "zeta"]
    assert auth["metadata"] == {"team": "pay"}
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True
    assert auth["orphan"] is False
    assert auth["token_type"] == "service"
    assert resp["data"] is None
    assert resp["lease_id"] == ""


def test_lookup_by_token_self_and_accessor(dev_server, client):
    auth = client.auth.token.create(policies=["default"], ttl="30m", meta={"k": "v"}, display_name="svc")["auth"]
    token, accessor = auth["client_token"], auth["accessor"]

    data = client.auth.token.lookup(token)["data"]
    assert data["id"] == token
    assert data["accessor"] == accessor
    assert data["policies"] == ["default"]
    assert data["meta"] == {"k": "v"}
    assert data["display_name"] == "token-svc"
    assert data["creation_ttl"] == 1800
    assert 1790 <= data["ttl"] <= 1800
    assert data["renewable"] is True
    assert data["orphan"] is False
    assert data["path"] == "auth/token/create"
    assert data["type"] == "service"
    assert data["num_uses"] == 0
    assert isinstance(data["expire_time"], str) and data["expire_time"]

    self_data = dev_server.client(token=token).auth.token.lookup_self()["data"]
    assert self_data["id"] == token
    assert self_data["accessor"] == accessor

    by_accessor = client.auth.token.lookup_accessor(accessor)["data"]
    # Looking up by accessor must not disclose the token itself.
    assert by_accessor["id"] == ""
    assert by_accessor["accessor"] == accessor
    assert by_accessor["policies"] == ["default"]


def test_lookup_unknown_token_is_forbidden(client):
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.lookup("hvs.not-a-real-token")


def test_request_with_bad_token_is_forbidden(dev_server):
    with pytest.raises(hvac.exceptions.Forbidden) as err:
        dev_server.client(token="hvs.bogus").auth.token.lookup_self()
    assert err.value.errors == ["permission denied"]


def test_renew_and_renew_self(dev_server, client):
    token = client.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    renewed = client.auth.token.renew(token, increment="2h")["auth"]
    assert renewed["client_token"] == token
    assert renewed["lease_duration"] == 7200
    assert renewed["renewable"] is True
    assert 7190 <= client.auth.token.lookup(token)["data"]["ttl"] <= 7200

    own = dev_server.client(token=token).auth.token.renew_self(increment=600)["auth"]
    assert own["lease_duration"] == 600


def test_renew_is_capped_by_explicit_max_ttl(client):
    token = client.auth.token.create(policies=["default"], ttl="10m", explicit_max_ttl="30m")["auth"]["client_token"]
    renewed = client.auth.token.renew(token, increment="10h")["auth"]
    assert 0 < renewed["lease_duration"] <= 1800
    assert client.auth.token.lookup(token)["data"]["explicit_max_ttl"] == 1800


def test_non_renewable_token_cannot_renew(client):
    token = client.auth.token.create(policies=["default"], ttl="1h", renewable=False)["auth"]["client_token"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.auth.token.renew(token)


def test_revoke_and_revoke_self(dev_server, client):
    first = client.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    resp = client.auth.token.revoke(first)
    assert resp.status_code == 204
    assert is_revoked(dev_server, first)

    second = client.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    assert dev_server.client(token=second).auth.token.revoke_self().status_code == 204
    assert is_revoked(dev_server, second)


def test_accessors_list_and_revoke(dev_server, client):
    auth = client.auth.token.create(policies=["default"], ttl="1h")["auth"]
    accessors = client.auth.token.list_accessors()["data"]["keys"]
    assert auth["accessor"] in accessors

    client.auth.token.revoke_accessor(auth["accessor"])
    assert is_revoked(dev_server, auth["client_token"])
    assert auth["accessor"] not in client.auth.token.list_accessors()["data"]["keys"]


def test_revoking_a_parent_revokes_its_children_but_not_orphans(dev_server, client):
    policy = creator_policy(client)
    parent = client.auth.token.create(policies=[policy], ttl="1h")["auth"]["client_token"]
    parent_client = dev_server.client(token=parent)
    child = parent_client.auth.token.create(policies=[policy], ttl="1h")["auth"]["client_token"]
    grandchild = dev_server.client(token=child).auth.token.create(policies=[policy], ttl="1h")["auth"]["client_token"]
    orphan = parent_client.auth.token.create_orphan(policies=[policy], ttl="1h")["auth"]
    assert orphan["orphan"] is True

    client.auth.token.revoke(parent)
    assert is_revoked(dev_server, parent)
    assert is_revoked(dev_server, child)
    assert is_revoked(dev_server, grandchild)
    assert not is_revoked(dev_server, orphan["client_token"])
    assert client.auth.token.lookup(orphan["client_token"])["data"]["orphan"] is True


def test_revoke_orphan_keeps_children_as_orphans(dev_server, client):
    policy = creator_policy(client)
    parent = client.auth.token.create(policies=[policy], ttl="1h")["auth"]["client_token"]
    child = dev_server.client(token=parent).auth.token.create(policies=[policy], ttl="1h")["auth"]["client_token"]

    client.auth.token.revoke_and_orphan_children(parent)
    assert is_revoked(dev_server, parent)
    assert not is_revoked(dev_server, child)
    assert client.auth.token.lookup(child)["data"]["orphan"] is True


def test_root_can_create_orphan_with_no_parent(client):
    auth = client.auth.token.create(policies=["default"], ttl="1h", no_parent=True)["auth"]
    assert auth["orphan"] is True


def test_child_cannot_exceed_parent_policies(dev_server, client):
    policy = creator_policy(client)
    parent = client.auth.token.create(policies=[policy], ttl="1h")["auth"]["client_token"]
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        dev_server.client(token=parent).auth.token.create(policies=[policy, "other"], ttl="1h")
    assert "subset" in err.value.errors[0]


def test_num_uses_limits_requests(dev_server, client):
    token = client.auth.token.create(policies=["default"], ttl="1h", num_uses=2)["auth"]["client_token"]
    limited = dev_server.client(token=token)
    limited.auth.token.lookup_self()
    limited.auth.token.lookup_self()
    with pytest.raises(hvac.exceptions.Forbidden):
        limited.auth.token.lookup_self()


def test_short_ttl_token_expires(dev_server, client):
    token = client.auth.token.create(policies=["default"], ttl="2s", renewable=False)["auth"]["client_token"]
    assert dev_server.client(token=token).auth.token.lookup_self()["data"]["ttl"] <= 2
    wait_until(lambda: is_revoked(dev_server, token), timeout=15, interval=0.2, what="token expiry")
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.lookup(token)


def test_custom_token_id_by_root(dev_server, client):
    wanted = uid("custom-token")
    auth = client.auth.token.create(id=wanted, policies=["default"], ttl="5m")["auth"]
    assert auth["client_token"] == wanted
    assert dev_server.client(token=wanted).auth.token.lookup_self()["data"]["id"] == wanted


def test_periodic_token_renews_to_its_period(dev_server, client):
    auth = client.auth.token.create(policies=["default"], period="30m")["auth"]
    assert auth["lease_duration"] == 1800
    data = client.auth.token.lookup(auth["client_token"])["data"]
    assert data["period"] == 1800
    renewed = client.auth.token.renew(auth["client_token"], increment="5h")["auth"]
    assert renewed["lease_duration"] == 1800


def test_accessor_is_not_a_token(dev_server, client):
    auth = client.auth.token.create(policies=["default"], ttl="10m")["auth"]
    with pytest.raises(hvac.exceptions.Forbidden):
        dev_server.client(token=auth["accessor"]).auth.token.lookup_self()


def test_default_policy_token_cannot_inspect_or_enumerate_others(dev_server, client):
    victim = client.auth.token.create(policies=["default"], ttl="10m")["auth"]
    weak = dev_server.client(token=client.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"])
    with pytest.raises(hvac.exceptions.Forbidden):
        weak.auth.token.lookup(victim["client_token"])
    with pytest.raises(hvac.exceptions.Forbidden):
        weak.auth.token.list_accessors()
    with pytest.raises(hvac.exceptions.Forbidden):
        weak.auth.token.revoke(victim["client_token"])
    with pytest.raises(hvac.exceptions.Forbidden):
        weak.auth.token.create(policies=["default"], ttl="1m")
    assert not is_revoked(dev_server, victim["client_token"])


def test_only_root_or_sudo_may_choose_a_token_id(dev_server, client):
    policy = creator_policy(client)
    parent = client.auth.token.create(policies=[policy], ttl="10m")["auth"]["client_token"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        dev_server.client(token=parent).auth.token.create(id=uid("chosen"), policies=[policy], ttl="1m")


def test_revoked_token_accessor_lookup_fails(client):
    auth = client.auth.token.create(policies=["default"], ttl="10m")["auth"]
    client.auth.token.revoke(auth["client_token"])
    with pytest.raises((hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden)):
        client.auth.token.lookup_accessor(auth["accessor"])


def test_token_roles(dev_server, client):
    role = uid("role")
    client.auth.token.create_or_update_role(
        role, allowed_policies=["app-read", "app-write"], orphan=True, token_period="1h"
    )
    read = client.auth.token.read_role(role)["data"]
    assert sorted(read["allowed_policies"]) == ["app-read", "app-write"]
    assert read["orphan"] is True
    assert role in client.auth.token.list_roles()["data"]["keys"]

    auth = client.auth.token.create(role_name=role, policies=["app-read"])["auth"]
    assert auth["policies"] == ["app-read", "default"]
    assert auth["orphan"] is True
    assert auth["lease_duration"] == 3600
    data = client.auth.token.lookup(auth["client_token"])["data"]
    assert data["path"] == f"auth/token/create/{role}"
    assert data["role"] == role

    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.auth.token.create(role_name=role, policies=["admin"])

    client.auth.token.delete_role(role)
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.auth.token.read_role(role)


def test_num_uses_hold_under_concurrency(dev_server, client):
    """20 racing requests on a 5-use token: exactly 5 are served."""
    token = client.auth.token.create(policies=["default"], ttl="1h", num_uses=5)["auth"]["client_token"]

    def use(_):
        try:
            dev_server.client(token=token).auth.token.lookup_self()
            return True
        except hvac.exceptions.Forbidden:
            return False

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(use, range(20)))
    assert results.count(True) == 5
