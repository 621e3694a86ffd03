"""Cubbyhole: a per-token private area. Writes/reads/lists through hvac's generic
read/write_data/list/delete; another token (even root) never sees it, and it dies with its token.
"""

import hvac
import pytest


def new_token(client, **kwargs):
    return client.auth.token.create(policies=["default"], ttl="30m", **kwargs)["auth"]["client_token"]


def test_write_read_list_delete(dev_server, client):
    mine = dev_server.client(token=new_token(client))
    assert mine.write_data("cubbyhole/app/one", data={"k": "v1"}).status_code == 204
    mine.write_data("cubbyhole/app/two", data={"k": "v2", "n": 2})
    mine.write_data("cubbyhole/top", data={"x": "y"})

    got = mine.read("cubbyhole/app/two")
    assert got["data"] == {"k": "v2", "n": 2}
    assert got["lease_duration"] == 0
    assert mine.list("cubbyhole/")["data"]["keys"] == ["app/", "top"]
    assert mine.list("cubbyhole/app")["data"]["keys"] == ["one", "two"]

    mine.delete("cubbyhole/app/one")
    assert mine.read("cubbyhole/app/one") is None
    assert mine.list("cubbyhole/app")["data"]["keys"] == ["two"]


def test_cubbyholes_are_isolated_per_token(dev_server, client):
    alice = dev_server.client(token=new_token(client))
    bob = dev_server.client(token=new_token(client))
    alice.write_data("cubbyhole/secret", data={"owner": "alice"})

    assert bob.read("cubbyhole/secret") is None
    assert client.read("cubbyhole/secret") is None  # not even root
    bob.write_data("cubbyhole/secret", data={"owner": "bob"})
    assert alice.read("cubbyhole/secret")["data"] == {"owner": "alice"}
    assert bob.read("cubbyhole/secret")["data"] == {"owner": "bob"}


def test_cubbyhole_dies_with_its_token(dev_server, client):
    token = new_token(client)
    dev_server.client(token=token).write_data("cubbyhole/x", data={"v": "1"})
    client.auth.token.revoke(token)
    with pytest.raises(hvac.exceptions.Forbidden):
        dev_server.client(token=token).read("cubbyhole/x")


def test_cubbyhole_requires_data(dev_server, client):
    # Vault itself answers 500 here (a plain Go error); coffer's rule is "bad input is never a
    # 500", so the contract is the 400 every other engine gives for "missing data fields".
    mine = dev_server.client(token=new_token(client))
    with pytest.raises(hvac.exceptions.InvalidRequest):
        mine.write_data("cubbyhole/empty", data={})
