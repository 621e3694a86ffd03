"""The Coffer control-plane API as a customer (or a platform operator) calls it.

Thin on purpose: the tests should read like the API documentation. `call` asserts the status
and, when it is wrong, fails with the method, path, status, the error body and its request id
(the handle into the control-plane log).
"""

import secrets

import requests

from .poll import until

TERMINAL = {"succeeded", "failed"}


class ApiError(AssertionError):
    pass


class Api:
    def __init__(self, base, token=None, timeout=60):
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()

    def with_token(self, token):
        return Api(self.base, token, self.timeout)

    def request(self, method, path, *, json=None, params=None, headers=None, timeout=None):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return self.http.request(
            method, self.base + path, json=json, params=params, headers=h, timeout=timeout or self.timeout
        )

    def call(self, method, path, expect=200, **kw):
        """The JSON body of a response with status `expect` (an int or a set of ints)."""
        r = self.request(method, path, **kw)
        wanted = expect if isinstance(expect, (set, frozenset, tuple)) else {expect}
        if r.status_code not in wanted:
            raise ApiError(f"{method} {path}: expected {sorted(wanted)}, got {r.status_code}: {r.text[:800]}")
        if r.status_code == 204 or not r.content:
            return None
        ctype = r.headers.get("content-type", "")
        return r.json() if "json" in ctype else r.text

    def get(self, path, expect=200, **kw):
        return self.call("GET", path, expect, **kw)

    def post(self, path, body=None, expect=200, **kw):
        return self.call("POST", path, expect, json=body, **kw)

    def delete(self, path, expect=202, **kw):
        return self.call("DELETE", path, expect, **kw)


def new_user(api, label):
    """Signs up a new user with its own organisation; returns (authed Api, org id, email)."""
    email = f"{label}-{secrets.token_hex(4)}@e2e.example"
    password = "e2e-" + secrets.token_urlsafe(18)
    out = api.post("/v1/signup", {"email": email, "password": password, "org_name": f"{label}-{secrets.token_hex(3)}"}, 201)
    login = api.post("/v1/login", {"email": email, "password": password})
    return api.with_token(login["access_token"]), out["org"]["id"], email


def wait_operation(api, org_id, op_id, *, timeout):
    """Long-polls `.../operations/{id}/wait` until the operation is terminal; returns it."""

    def probe():
        return api.get(f"/v1/orgs/{org_id}/operations/{op_id}/wait", params={"timeout": "20s"}, timeout=40)

    return until(
        probe,
        timeout=timeout,
        done=lambda op: isinstance(op, dict) and op.get("state") in TERMINAL,
        what=f"operation {op_id} to finish",
        interval=0.05,
    )


def describe_operation(op):
    """One line per step: what an operator reads first when an operation fails."""
    lines = [f"operation {op.get('id')} kind={op.get('kind')} state={op.get('state')} error={op.get('error')}"]
    for s in op.get("steps", []):
        lines.append(f"  {s['name']:<28} {s['state']:<10} attempt={s['attempt']} error={s.get('error')}")
    return "\n".join(lines)
