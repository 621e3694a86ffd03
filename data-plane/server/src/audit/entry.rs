//! Vault's audit entry format (`type` "request" / "response", `time`, `auth`, `request`,
//! `response`, `error`), rendered per device because each device hashes with its own salt.
//! Everything that could be a secret is hashed: token ids and accessors, request data values,
//! response data values, issued tokens and wrapping tokens.

use super::device::Device;
use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::MountEntry;
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use serde_json::{json, Map, Value};

/// Per-request facts shared by the request and response entries.
pub struct Ctx<'a> {
    pub id: &'a str,
    pub req: &'a Request,
    pub caller: Option<&'a Caller>,
    /// The mount the path routes to (secrets or auth), for `mount_*` fields.
    pub mount: Option<Mount<'a>>,
}

/// A routed mount: the entry and its full path (`auth/` prefixed for auth methods).
pub struct Mount<'a> {
    pub entry: &'a MountEntry,
    pub point: String,
}

fn op_name(op: Operation) -> &'static str {
    match op {
        Operation::Read => "read",
        Operation::Create => "create",
        Operation::Update => "update",
        Operation::Patch => "patch",
        Operation::Delete => "delete",
        Operation::List => "list",
    }
}

/// The message the client saw for an error (never internal detail).
pub fn client_error(e: &CoreError) -> String {
    match e {
        CoreError::BadRequest(m) | CoreError::Conflict(m) => m.clone(),
        CoreError::NotFound(m) => m.clone().unwrap_or_default(),
        CoreError::Internal(_) => "internal error".into(),
        other => other.to_string(),
    }
}

fn accessor(dev: &Device, a: &str) -> String {
    if dev.hmac_accessor && !a.is_empty() {
        dev.hash(a)
    } else {
        a.to_owned()
    }
}

fn data(dev: &Device, m: &Map<String, Value>) -> Value {
    if dev.log_raw {
        Value::Object(m.clone())
    } else {
        Value::Object(dev.hasher.hash_map(m))
    }
}

fn value(dev: &Device, v: &Value) -> Value {
    if dev.log_raw {
        v.clone()
    } else {
        dev.hasher.hash_value(v)
    }
}

fn auth_block(dev: &Device, caller: Option<&Caller>) -> Value {
    let Some(c) = caller else { return Value::Null };
    let e = &c.entry;
    json!({
        "client_token": dev.hash(&c.id),
        "accessor": accessor(dev, &e.accessor),
        "display_name": e.display_name,
        "policies": e.policies,
        "token_policies": e.policies,
        "metadata": if e.meta.is_empty() { Value::Null } else { json!(e.meta) },
        "entity_id": e.entity_id,
        "token_type": "service",
        "token_ttl": e.ttl,
        "token_issue_time": crate::util::rfc3339(e.issue_time),
    })
}

fn request_block(dev: &Device, ctx: &Ctx<'_>) -> Value {
    let (token, token_accessor) = match (ctx.caller, &ctx.req.token) {
        (Some(c), _) => (dev.hash(&c.id), accessor(dev, &c.entry.accessor)),
        (None, Some(t)) if !t.0.is_empty() => (dev.hash(&t.0), String::new()),
        _ => (String::new(), String::new()),
    };
    let mut r = json!({
        "id": ctx.id,
        "operation": op_name(ctx.req.op),
        "client_token": token,
        "client_token_accessor": token_accessor,
        "namespace": { "id": "root" },
        "path": ctx.req.path,
        "data": if ctx.req.data.is_empty() { Value::Null } else { data(dev, &ctx.req.data) },
        "remote_address": ctx.req.remote_addr.map(|a| a.ip().to_string()).unwrap_or_default(),
        "remote_port": ctx.req.remote_addr.map(|a| a.port()).unwrap_or(0),
    });
    if let Some(obj) = r.as_object_mut() {
        if let Some(ttl) = ctx.req.wrap_ttl {
            obj.insert("wrap_ttl".into(), ttl.into());
        }
        if let Some(m) = &ctx.mount {
            obj.insert("mount_point".into(), m.point.clone().into());
            obj.insert("mount_type".into(), m.entry.kind.clone().into());
            obj.insert("mount_accessor".into(), m.entry.accessor.clone().into());
        }
    }
    r
}

fn response_block(dev: &Device, resp: &Response) -> Value {
    let mut r = Map::new();
    r.insert("mount_type".into(), resp.mount_type.clone().into());
    if let Some(raw) = &resp.raw {
        r.insert("data".into(), raw.body.as_ref().map(|b| value(dev, b)).unwrap_or(Value::Null));
    } else if let Some(d) = &resp.data {
        r.insert("data".into(), data(dev, d));
    }
    if let Some(a) = &resp.auth {
        let mut auth = serde_json::to_value(a).unwrap_or(Value::Null);
        if let Some(obj) = auth.as_object_mut() {
            obj.insert("client_token".into(), dev.hash(&a.client_token).into());
            obj.insert("accessor".into(), accessor(dev, &a.accessor).into());
        }
        r.insert("auth".into(), auth);
    }
    if let Some(w) = &resp.wrap_info {
        r.insert(
            "wrap_info".into(),
            json!({
                "token": dev.hash(&w.token),
                "accessor": accessor(dev, &w.accessor),
                "ttl": w.ttl,
                "creation_time": w.creation_time,
                "creation_path": w.creation_path,
                "wrapped_accessor": accessor(dev, &w.wrapped_accessor),
            }),
        );
    }
    if !resp.lease_id.is_empty() {
        r.insert("secret".into(), json!({ "lease_id": resp.lease_id }));
    }
    if !resp.warnings.is_empty() {
        r.insert("warnings".into(), json!(resp.warnings));
    }
    Value::Object(r)
}

/// The `auth` and `request` blocks of one device's entries, rendered once per request and
/// shared by its request and response entries.
pub struct Parts {
    auth: Value,
    request: Value,
}

pub fn parts(dev: &Device, ctx: &Ctx<'_>) -> Parts {
    Parts { auth: auth_block(dev, ctx.caller), request: request_block(dev, ctx) }
}

pub fn request(p: &Parts) -> Value {
    json!({
        "time": crate::util::rfc3339_now(),
        "type": "request",
        "auth": p.auth,
        "request": p.request,
        "error": "",
    })
}

pub fn response(dev: &Device, p: &Parts, result: &CoreResult<Response>) -> Value {
    let (resp, error) = match result {
        Ok(r) => (response_block(dev, r), String::new()),
        Err(e) => (Value::Null, client_error(e)),
    };
    json!({
        "time": crate::util::rfc3339_now(),
        "type": "response",
        "auth": p.auth,
        "request": p.request,
        "response": resp,
        "error": error,
    })
}
