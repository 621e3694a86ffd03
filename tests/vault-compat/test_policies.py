"""ACL policies: CRUD through both hvac APIs (`sys/policy` and `sys/policies/acl`), enforcement
on real requests (read-only token reads but is Forbidden on write, deny wins, glob and `+`
segment wildcards), and sys/capabilities(-self, -accessor).
"""

import hvac
import pytest

from conftest import uid


def token_with(client, *policies, ttl="30m"):
    return client.auth.token.create(policies=list(policies), ttl=ttl)["auth"]


def test_sys_policy_crud(client):
    name = uid("pol")
    rules = 'path "secret/data/app/*" {\n  capabilities = ["read", "list"]\n}\n'
    assert client.sys.create_or_update_policy(name, rules).status_code == 204

    read = client.sys.read_policy(name)
    assert read["data"]["name"] == name
    assert read["data"]["rules"] == rules
    assert name in client.sys.list_policies()["data"]["policies"]
    assert "default" in client.sys.list_policies()["data"]["policies"]
    # Vault lists the built-in root policy too, under both the old and the new key.
    assert "root" in client.sys.list_policies()["data"]["policies"]
    assert "root" in client.sys.list_policies()["data"]["keys"]

    updated = rules + 'path "secret/data/other" {\n  capabilities = ["deny"]\n}\n'
    client.sys.create_or_update_policy(name, updated)
    assert client.sys.read_policy(name)["data"]["rules"] == updated

    assert client.sys.delete_policy(name).status_code == 204
    assert name not in client.sys.list_policies()["data"]["policies"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.sys.read_policy(name)


def test_acl_policy_crud(client):
    name = uid("acl")
    rules = 'path "kv/+/team/*" { capabilities = ["create", "update"] }'
    client.sys.create_or_update_acl_policy(name, rules)

    read = client.sys.read_acl_policy(name)["data"]
    assert read == {"name": name, "policy": rules}

    keys = client.sys.list_acl_policies()["data"]["keys"]
    assert name in keys and "default" in keys

    client.sys.delete_acl_policy(name)
    assert name not in client.sys.list_acl_policies()["data"]["keys"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.sys.read_acl_policy(name)


def test_acl_policy_list_includes_root(client):
    # Vault's handlePoliciesList appends "root" for ACL policies on both endpoints.
    assert "root" in client.sys.list_acl_policies()["data"]["keys"]


def test_policy_names_are_lowercased(client):
    name = uid("MiXeD")
    client.sys.create_or_update_acl_policy(name, 'path "x" { capabilities = ["read"] }')
    assert name.lower() in client.sys.list_acl_policies()["data"]["keys"]
    assert client.sys.read_acl_policy(name.lower())["data"]["name"] == name.lower()


def test_json_policy_document_is_accepted(client, kv2_mount, dev_server):
    """hvac serialises a dict policy to JSON; Vault accepts JSON as well as HCL."""
    name = uid("jsonpol")
    client.sys.create_or_update_policy(
        name, {"path": {f"{kv2_mount}/data/json/*": {"capabilities": ["read"]}}}
    )
    client.secrets.kv.v2.create_or_update_secret("json/a", {"v": 1}, mount_point=kv2_mount)
    token = token_with(client, name)["client_token"]
    got = dev_server.client(token=token).secrets.kv.v2.read_secret(
        "json/a", mount_point=kv2_mount, raise_on_deleted_version=True
    )
    assert got["data"]["data"] == {"v": 1}


@pytest.mark.parametrize(
    "rules",
    [
        'path "x" { capabilities = ["read"',  # unterminated
        'path "x" { capabilities = ["fly"] }',  # unknown capability
        'nonsense',
    ],
)
def test_invalid_policy_is_rejected(client, rules):
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        client.sys.create_or_update_acl_policy(uid("bad"), rules)
    assert err.value.errors


def test_builtin_policies_are_protected(client):
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.delete_acl_policy("root")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.delete_acl_policy("default")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.create_or_update_acl_policy("root", 'path "*" { capabilities = ["read"] }')
    default = client.sys.read_acl_policy("default")["data"]["policy"]
    assert 'path "auth/token/lookup-self"' in default


def test_read_only_token_can_read_but_not_write(dev_server, client, kv2_mount):
    name = uid("ro")
    client.sys.create_or_update_acl_policy(
        name, f'path "{kv2_mount}/data/app/*" {{ capabilities = ["read"] }}'
    )
    client.secrets.kv.v2.create_or_update_secret("app/db", {"user": "u1"}, mount_point=kv2_mount)
    ro = dev_server.client(token=token_with(client, name)["client_token"])

    got = ro.secrets.kv.v2.read_secret("app/db", mount_point=kv2_mount, raise_on_deleted_version=True)
    assert got["data"]["data"] == {"user": "u1"}

    with pytest.raises(hvac.exceptions.Forbidden) as err:
        ro.secrets.kv.v2.create_or_update_secret("app/db", {"user": "evil"}, mount_point=kv2_mount)
    assert err.value.errors == ["1 error occurred:\n\t* permission denied\n\n"] or err.value.errors == [
        "permission denied"
    ]
    with pytest.raises(hvac.exceptions.Forbidden):
        ro.secrets.kv.v2.read_secret("other", mount_point=kv2_mount, raise_on_deleted_version=True)
    with pytest.raises(hvac.exceptions.Forbidden):
        ro.sys.enable_secrets_engine("kv", path=uid("nope"))

    # The write did not happen.
    again = client.secrets.kv.v2.read_secret("app/db", mount_point=kv2_mount, raise_on_deleted_version=True)
    assert again["data"]["data"] == {"user": "u1"}


def test_deny_wins_across_policies(dev_server, client, kv2_mount):
    allow, deny = uid("allow"), uid("deny")
    client.sys.create_or_update_acl_policy(allow, f'path "{kv2_mount}/data/*" {{ capabilities = ["read", "create", "update"] }}')
    client.sys.create_or_update_acl_policy(deny, f'path "{kv2_mount}/data/locked" {{ capabilities = ["deny"] }}')
    client.secrets.kv.v2.create_or_update_secret("locked", {"x": "1"}, mount_point=kv2_mount)
    user = dev_server.client(token=token_with(client, allow, deny)["client_token"])

    user.secrets.kv.v2.create_or_update_secret("open", {"x": "2"}, mount_point=kv2_mount)
    with pytest.raises(hvac.exceptions.Forbidden):
        user.secrets.kv.v2.read_secret("locked", mount_point=kv2_mount, raise_on_deleted_version=True)


def test_policy_changes_apply_to_existing_tokens(dev_server, client, kv2_mount):
    name = uid("live")
    client.sys.create_or_update_acl_policy(name, f'path "{kv2_mount}/data/x" {{ capabilities = ["read"] }}')
    client.secrets.kv.v2.create_or_update_secret("x", {"a": "b"}, mount_point=kv2_mount)
    user = dev_server.client(token=token_with(client, name)["client_token"])
    user.secrets.kv.v2.read_secret("x", mount_point=kv2_mount, raise_on_deleted_version=True)

    client.sys.create_or_update_acl_policy(name, f'path "{kv2_mount}/data/y" {{ capabilities = ["read"] }}')
    with pytest.raises(hvac.exceptions.Forbidden):
        user.secrets.kv.v2.read_secret("x", mount_point=kv2_mount, raise_on_deleted_version=True)

    client.sys.create_or_update_acl_policy(name, f'path "{kv2_mount}/data/x" {{ capabilities = ["read"] }}')
    user.secrets.kv.v2.read_secret("x", mount_point=kv2_mount, raise_on_deleted_version=True)
    client.sys.delete_acl_policy(name)
    with pytest.raises(hvac.exceptions.Forbidden):
        user.secrets.kv.v2.read_secret("x", mount_point=kv2_mount, raise_on_deleted_version=True)


@pytest.mark.parametrize(
    "path, expect",
    [
        ("kv/data/exact", ["read"]),  # exact match beats the glob
        ("kv/data/exactly", ["create", "read", "update"]),  # glob
        ("kv/data/team-a/config", ["list", "read"]),  # + segment
        ("kv/data/team-a/deeper/config", ["create", "read", "update"]),  # + matches one segment only
        ("kv/data/secret/admin", ["deny"]),  # deny
        ("kv/metadata/x", ["deny"]),  # no rule
        ("sys/mounts", ["deny"]),
    ],
)
def test_capabilities_follow_vault_precedence(client, path, expect):
    name = uid("prec")
    client.sys.create_or_update_acl_policy(
        name,
        """
path "kv/data/exact"       { capabilities = ["read"] }
path "kv/data/*"           { capabilities = ["read", "create", "update"] }
path "kv/data/+/config"    { capabilities = ["read", "list"] }
path "kv/data/secret/admin" { capabilities = ["deny"] }
""",
    )
    token = token_with(client, name)["client_token"]
    caps = client.sys.get_capabilities([path], token=token)
    assert sorted(caps["data"][path]) == expect
    assert sorted(caps["capabilities"]) == expect


def test_capabilities_self_and_accessor(dev_server, client):
    name = uid("caps")
    client.sys.create_or_update_acl_policy(name, 'path "app/*" { capabilities = ["read", "list"] }')
    auth = token_with(client, name)
    user = dev_server.client(token=auth["client_token"])

    own = user.sys.get_capabilities(["app/x", "other/y"])
    assert sorted(own["data"]["app/x"]) == ["list", "read"]
    assert own["data"]["other/y"] == ["deny"]

    by_accessor = client.sys.get_capabilities(["app/x"], accessor=auth["accessor"])
    assert sorted(by_accessor["data"]["app/x"]) == ["list", "read"]

    assert client.sys.get_capabilities(["anything/at/all"])["data"]["anything/at/all"] == ["root"]


@pytest.fixture
def param_user(dev_server, client, kv1_mount):
    """A token whose only policy constrains request parameters on `<kv1>/p/*`."""
    name = uid("params")
    client.sys.create_or_update_acl_policy(
        name,
        f"""
path "{kv1_mount}/p/required" {{
  capabilities        = ["create", "update", "read"]
  required_parameters = ["owner"]
}}
path "{kv1_mount}/p/denied" {{
  capabilities      = ["create", "update", "read"]
  denied_parameters = {{ "admin" = [] }}
}}
path "{kv1_mount}/p/allowed" {{
  capabilities       = ["create", "update", "read"]
  allowed_parameters = {{ "color" = ["red", "blue"], "size" = [] }}
}}
""",
    )
    token = token_with(client, name)["client_token"]
    return dev_server.client(token=token), kv1_mount


@pytest.mark.parametrize(
    "path, body, allowed",
    [
        ("required", {"owner": "me", "x": "1"}, True),
        ("required", {"x": "1"}, False),
        ("denied", {"x": "1"}, True),
        ("denied", {"x": "1", "admin": "true"}, False),
        ("allowed", {"color": "red"}, True),
        ("allowed", {"color": "blue", "size": "anything"}, True),
        ("allowed", {"color": "green"}, False),  # value not in the allowed list
        ("allowed", {"color": "red", "shape": "round"}, False),  # key not allowed at all
    ],
)
def test_parameter_constraints(client, param_user, path, body, allowed):
    user, mount = param_user
    if allowed:
        user.secrets.kv.v1.create_or_update_secret(f"p/{path}", body, method="POST", mount_point=mount)
        assert client.secrets.kv.v1.read_secret(f"p/{path}", mount_point=mount)["data"] == body
    else:
        with pytest.raises(hvac.exceptions.Forbidden):
            user.secrets.kv.v1.create_or_update_secret(f"p/{path}", body, method="POST", mount_point=mount)


@pytest.mark.parametrize("with_sudo", [False, True])
def test_root_protected_paths_need_sudo(config_server_unsealed, tmp_path, with_sudo):
    """sys/rotate, sys/audit/*, sys/seal and auth/token/accessors are root-protected in Vault:
    `update`/`list` alone is not enough, the policy must add `sudo`."""
    server = config_server_unsealed
    root = server.client()
    caps = '["create", "read", "update", "delete", "list"' + (', "sudo"]' if with_sudo else "]")
    root.sys.create_or_update_acl_policy(
        "ops",
        f"""
path "sys/rotate"             {{ capabilities = {caps} }}
path "sys/audit/*"            {{ capabilities = {caps} }}
path "auth/token/accessors/*" {{ capabilities = {caps} }}
path "auth/token/accessors"   {{ capabilities = {caps} }}
path "sys/seal"               {{ capabilities = {caps} }}
""",
    )
    ops = server.client(token=root.auth.token.create(policies=["ops"], ttl="10m")["auth"]["client_token"])
    calls = [
        lambda: ops.sys.rotate_encryption_key(),
        lambda: ops.sys.enable_audit_device("file", path="ops", options={"file_path": str(tmp_path / "a.log")}),
        lambda: ops.auth.token.list_accessors(),
        lambda: ops.sys.seal(),
    ]
    for call in calls:
        if with_sudo:
            call()
        else:
            with pytest.raises(hvac.exceptions.Forbidden):
                call()
    assert root.sys.is_sealed() is with_sudo


def test_identity_templated_paths_grant_nothing_without_an_entity(dev_server, client, kv1_mount):
    """Tokens from auth/token/create have no entity: Vault drops templated paths for them. The
    template text must never match literally either."""
    name = uid("tmpl")
    client.sys.create_or_update_acl_policy(
        name,
        f'path "{kv1_mount}/{{{{identity.entity.id}}}}/*" {{ capabilities = ["read", "create", "update"] }}\n'
        f'path "{kv1_mount}/shared/*" {{ capabilities = ["read"] }}\n',
    )
    client.secrets.kv.v1.create_or_update_secret("shared/a", {"v": "1"}, mount_point=kv1_mount)
    user = dev_server.client(token=token_with(client, name)["client_token"])
    assert user.secrets.kv.v1.read_secret("shared/a", mount_point=kv1_mount)["data"] == {"v": "1"}
    with pytest.raises(hvac.exceptions.Forbidden):
        user.secrets.kv.v1.create_or_update_secret("someone/x", {"v": "1"}, method="POST", mount_point=kv1_mount)
    with pytest.raises(hvac.exceptions.Forbidden):
        user.adapter.post(f"/v1/{kv1_mount}/{{{{identity.entity.id}}}}/x", json={"v": "1"})
