"""Auth methods through hvac: userpass (users, login, wrong password, password change) and
approle (role_id/secret_id login, secret_id accessors and destruction, bind_secret_id, use
limits), checking the issued token's policies/TTL against the configuration.
"""

from concurrent.futures import ThreadPoolExecutor

import hvac
import pytest

from conftest import uid
from harness.poll import wait_until


@pytest.fixture
def userpass(client):
    path = uid("userpass")
    client.sys.enable_auth_method("userpass", path=path)
    yield path
    client.sys.disable_auth_method(path)


@pytest.fixture
def approle(client):
    path = uid("approle")
    client.sys.enable_auth_method("approle", path=path)
    yield path
    client.sys.disable_auth_method(path)


def test_userpass_login_issues_token_with_user_policies(dev_server, client, userpass):
    client.auth.userpass.create_or_update_user("alice", "correct horse", policies=["dev", "ops"], mount_point=userpass)
    user = client.auth.userpass.read_user("alice", mount_point=userpass)["data"]
    assert sorted(user["token_policies"]) == ["dev", "ops"]
    assert "password" not in user

    assert "alice" in client.auth.userpass.list_user(mount_point=userpass)["data"]["keys"]

    anon = dev_server.client(token="")
    login = anon.auth.userpass.login("alice", "correct horse", mount_point=userpass)
    auth = login["auth"]
    assert auth["policies"] == ["default", "dev", "ops"]
    assert auth["metadata"] == {"username": "alice"}
    assert auth["renewable"] is True
    assert auth["lease_duration"] > 0
    # use_token=True: hvac now holds the new token.
    assert anon.token == auth["client_token"]
    me = anon.auth.token.lookup_self()["data"]
    assert me["path"] == f"auth/{userpass}/login/alice"
    assert me["display_name"] == f"{userpass}-alice"
    assert me["meta"] == {"username": "alice"}


def test_userpass_rejects_wrong_password_and_unknown_user(dev_server, client, userpass):
    client.auth.userpass.create_or_update_user("bob", "pw-one", policies=["default"], mount_point=userpass)
    anon = dev_server.client(token="")
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        anon.auth.userpass.login("bob", "wrong", mount_point=userpass)
    assert err.value.errors == ["invalid username or password"]
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        anon.auth.userpass.login("nobody", "pw-one", mount_point=userpass)
    assert err.value.errors == ["invalid username or password"]


def test_userpass_password_change_and_delete(dev_server, client, userpass):
    client.auth.userpass.create_or_update_user("carol", "old-pw", policies=["default"], mount_point=userpass)
    client.auth.userpass.update_password_on_user("carol", "new-pw", mount_point=userpass)
    anon = dev_server.client(token="")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.userpass.login("carol", "old-pw", mount_point=userpass)
    anon.auth.userpass.login("carol", "new-pw", mount_point=userpass)

    client.auth.userpass.delete_user("carol", mount_point=userpass)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        dev_server.client(token="").auth.userpass.login("carol", "new-pw", mount_point=userpass)


def test_userpass_token_ttl_from_user_config(dev_server, client, userpass):
    client.adapter.post(
        f"/v1/auth/{userpass}/users/dave",
        json={"password": "pw", "token_policies": "a,b", "token_ttl": "10m", "token_max_ttl": "1h"},
    )
    auth = dev_server.client(token="").auth.userpass.login("dave", "pw", mount_point=userpass)["auth"]
    assert auth["lease_duration"] == 600
    assert auth["token_policies"] == ["a", "b", "default"]


def test_approle_login_with_role_and_secret_id(dev_server, client, approle):
    client.auth.approle.create_or_update_approle(
        "ci", token_policies=["deploy"], token_ttl="20m", token_max_ttl="1h", mount_point=approle
    )
    role = client.auth.approle.read_role("ci", mount_point=approle)["data"]
    assert role["token_policies"] == ["deploy"]
    assert role["token_ttl"] == 1200
    assert role["token_max_ttl"] == 3600
    assert role["bind_secret_id"] is True
    assert "ci" in client.auth.approle.list_roles(mount_point=approle)["data"]["keys"]

    role_id = client.auth.approle.read_role_id("ci", mount_point=approle)["data"]["role_id"]
    generated = client.auth.approle.generate_secret_id("ci", metadata={"host": "runner-1"}, mount_point=approle)["data"]
    assert generated["secret_id"] and generated["secret_id_accessor"]

    anon = dev_server.client(token="")
    auth = anon.auth.approle.login(role_id, generated["secret_id"], mount_point=approle)["auth"]
    assert auth["policies"] == ["default", "deploy"]
    assert auth["lease_duration"] == 1200
    assert auth["metadata"] == {"role_name": "ci", "host": "runner-1"}
    assert anon.auth.token.lookup_self()["data"]["path"] == f"auth/{approle}/login"


def test_approle_rejects_bad_credentials(dev_server, client, approle):
    client.auth.approle.create_or_update_approle("svc", token_policies=["default"], mount_point=approle)
    role_id = client.auth.approle.read_role_id("svc", mount_point=approle)["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id("svc", mount_point=approle)["data"]["secret_id"]
    anon = dev_server.client(token="")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.approle.login(role_id, "not-the-secret-id", mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.approle.login("not-a-role-id", secret_id, mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon.auth.approle.login(role_id, None, mount_point=approle)


def test_approle_custom_role_id_and_secret_id(dev_server, client, approle):
    client.auth.approle.create_or_update_approle("custom", token_policies=["default"], mount_point=approle)
    client.auth.approle.update_role_id("custom", "my-role-id", mount_point=approle)
    assert client.auth.approle.read_role_id("custom", mount_point=approle)["data"]["role_id"] == "my-role-id"
    client.auth.approle.create_custom_secret_id("custom", "my-secret-id", mount_point=approle)
    auth = dev_server.client(token="").auth.approle.login("my-role-id", "my-secret-id", mount_point=approle)["auth"]
    assert auth["policies"] == ["default"]


def test_approle_secret_id_accessors_and_destroy(dev_server, client, approle):
    client.auth.approle.create_or_update_approle("acc", token_policies=["default"], mount_point=approle)
    role_id = client.auth.approle.read_role_id("acc", mount_point=approle)["data"]["role_id"]
    one = client.auth.approle.generate_secret_id("acc", mount_point=approle)["data"]
    two = client.auth.approle.generate_secret_id("acc", mount_point=approle)["data"]

    accessors = client.auth.approle.list_secret_id_accessors("acc", mount_point=approle)["data"]["keys"]
    assert sorted(accessors) == sorted([one["secret_id_accessor"], two["secret_id_accessor"]])

    looked_up = client.auth.approle.read_secret_id("acc", one["secret_id"], mount_point=approle)["data"]
    assert looked_up["secret_id_accessor"] == one["secret_id_accessor"]

    client.auth.approle.destroy_secret_id("acc", one["secret_id"], mount_point=approle)
    client.auth.approle.destroy_secret_id_accessor("acc", two["secret_id_accessor"], mount_point=approle)
    anon = dev_server.client(token="")
    for secret in (one, two):
        with pytest.raises(hvac.exceptions.InvalidRequest):
            anon.auth.approle.login(role_id, secret["secret_id"], mount_point=approle)


def test_approle_secret_id_num_uses(dev_server, client, approle):
    client.auth.approle.create_or_update_approle(
        "once", token_policies=["default"], secret_id_num_uses=1, mount_point=approle
    )
    role_id = client.auth.approle.read_role_id("once", mount_point=approle)["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id("once", mount_point=approle)["data"]["secret_id"]
    dev_server.client(token="").auth.approle.login(role_id, secret_id, mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        dev_server.client(token="").auth.approle.login(role_id, secret_id, mount_point=approle)


def test_approle_without_bind_secret_id(dev_server, client, approle):
    client.auth.approle.create_or_update_approle(
        "open", token_policies=["default"], bind_secret_id=False, token_bound_cidrs=["127.0.0.1/32"],
        mount_point=approle,
    )
    role_id = client.auth.approle.read_role_id("open", mount_point=approle)["data"]["role_id"]
    auth = dev_server.client(token="").auth.approle.login(role_id, None, mount_point=approle)["auth"]
    assert auth["policies"] == ["default"]


def test_approle_delete_role(dev_server, client, approle):
    client.auth.approle.create_or_update_approle("tmp", token_policies=["default"], mount_point=approle)
    client.auth.approle.delete_role("tmp", mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.auth.approle.read_role("tmp", mount_point=approle)


def test_approle_secret_id_ttl_expires(dev_server, client, approle):
    client.auth.approle.create_or_update_approle(
        "shortlived", token_policies=["default"], secret_id_ttl="2s", mount_point=approle
    )
    role_id = client.auth.approle.read_role_id("shortlived", mount_point=approle)["data"]["role_id"]
    generated = client.auth.approle.generate_secret_id("shortlived", mount_point=approle)["data"]
    assert generated["secret_id_ttl"] == 2
    # Valid at first (the role allows unlimited uses) ...
    dev_server.client(token="").auth.approle.login(role_id, generated["secret_id"], mount_point=approle)

    # ... and refused once the TTL has passed.
    def rejected():
        try:
            dev_server.client(token="").auth.approle.login(role_id, generated["secret_id"], mount_point=approle)
        except hvac.exceptions.InvalidRequest:
            return True
        return False

    wait_until(rejected, timeout=15, interval=0.25, what="secret_id expiry")


@pytest.mark.parametrize("cidrs, usable", [(["127.0.0.0/8"], True), (["10.0.0.0/8"], False)])
def test_userpass_token_bound_cidrs(dev_server, client, userpass, cidrs, usable):
    client.adapter.post(
        f"/v1/auth/{userpass}/users/cidr",
        json={"password": "pw", "token_policies": ["default"], "token_bound_cidrs": cidrs},
    )
    anon = dev_server.client(token="")
    if usable:
        anon.auth.userpass.login("cidr", "pw", mount_point=userpass)
        assert anon.auth.token.lookup_self()["data"]["policies"] == ["default"]
        return
    # From 127.0.0.1 the token must be useless: refused at login, or refused on first use.
    try:
        token = anon.auth.userpass.login("cidr", "pw", mount_point=userpass)["auth"]["client_token"]
    except (hvac.exceptions.Forbidden, hvac.exceptions.InvalidRequest):
        return
    with pytest.raises(hvac.exceptions.Forbidden):
        dev_server.client(token=token).auth.token.lookup_self()


def test_approle_secret_id_bound_cidrs(dev_server, client, approle):
    client.auth.approle.create_or_update_approle(
        "fenced", token_policies=["default"], secret_id_bound_cidrs=["10.0.0.0/8"], mount_point=approle
    )
    role_id = client.auth.approle.read_role_id("fenced", mount_point=approle)["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id("fenced", mount_point=approle)["data"]["secret_id"]
    with pytest.raises((hvac.exceptions.Forbidden, hvac.exceptions.InvalidRequest)):
        dev_server.client(token="").auth.approle.login(role_id, secret_id, mount_point=approle)

    client.auth.approle.create_or_update_approle(
        "local", token_policies=["default"], secret_id_bound_cidrs=["127.0.0.1/32"], mount_point=approle
    )
    role_id = client.auth.approle.read_role_id("local", mount_point=approle)["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id("local", mount_point=approle)["data"]["secret_id"]
    assert dev_server.client(token="").auth.approle.login(role_id, secret_id, mount_point=approle)["auth"]["policies"] == [
        "default"
    ]


def test_single_use_secret_id_under_concurrency(dev_server, client, approle):
    client.auth.approle.create_or_update_approle(
        "race", token_policies=["default"], secret_id_num_uses=1, mount_point=approle
    )
    role_id = client.auth.approle.read_role_id("race", mount_point=approle)["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id("race", mount_point=approle)["data"]["secret_id"]

    def login(_):
        try:
            dev_server.client(token="").auth.approle.login(role_id, secret_id, mount_point=approle)
            return True
        except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden):
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(login, range(8)))
    assert results.count(True) == 1


def test_wrapped_secret_id_trusted_orchestrator_flow(dev_server, client, approle):
    """The orchestrator gets a wrapped secret_id and hands only the wrapping token to the app."""
    client.auth.approle.create_or_update_approle("app", token_policies=["default"], mount_point=approle)
    role_id = client.auth.approle.read_role_id("app", mount_point=approle)["data"]["role_id"]
    wrapped = client.auth.approle.generate_secret_id("app", wrap_ttl="60s", mount_point=approle)
    assert wrapped["data"] is None
    info = wrapped["wrap_info"]
    assert info["creation_path"] == f"auth/{approle}/role/app/secret-id"

    app = dev_server.client(token=info["token"])
    secret_id = app.sys.unwrap()["data"]["secret_id"]
    auth = dev_server.client(token="").auth.approle.login(role_id, secret_id, mount_point=approle)["auth"]
    assert auth["policies"] == ["default"]
