//! Vault's audit entry format (`type` "request" / "response", `time`, `auth`, `request`,
//! `response`, `error`), rendered per device because each device hashes with its own salt.
//! Everything that could be a secret is hashed: token ids and accessors, request data values,
//! response data values, issued tokens and wrapping tokens.
//!
//! Cost matters (every request pays it): blocks are typed structs borrowing from the request
//! and response, data is hashed while it is serialised (no hashed copy of the tree), and the
//! `auth` and `request` blocks are serialised once per device and spliced into both lines.

use super::device::Device;
use super::hash::{Hashed, HashedSrc};
use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::MountEntry;
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

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

fn hasher(dev: &Device) -> Option<&super::hash::Hasher> {
    (!dev.log_raw).then_some(&dev.hasher)
}

fn hashed_map<'a>(dev: &'a Device, m: &'a Map<String, Value>) -> Hashed<'a> {
    Hashed { value: HashedSrc::Map(m), hasher: hasher(dev) }
}

#[derive(Serialize)]
struct AuthBlock<'a> {
    client_token: String,
    accessor: String,
    display_name: &'a str,
    policies: &'a [String],
    token_policies: &'a [String],
    metadata: Option<&'a BTreeMap<String, String>>,
    entity_id: &'a str,
    token_type: &'static str,
    token_ttl: u64,
    token_issue_time: String,
}

fn auth_block<'a>(dev: &Device, c: &'a Caller) -> AuthBlock<'a> {
    let e = &c.entry;
    AuthBlock {
        client_token: dev.hash(&c.id),
        accessor: accessor(dev, &e.accessor),
        display_name: &e.display_name,
        policies: &e.policies,
        token_policies: &e.policies,
        metadata: (!e.meta.is_empty()).then_some(&e.meta),
        entity_id: &e.entity_id,
        token_type: "service",
        token_ttl: e.ttl,
        token_issue_time: crate::util::rfc3339(e.issue_time),
    }
}

#[derive(Serialize)]
struct Namespace {
    id: &'static str,
}

#[derive(Serialize)]
struct RequestBlock<'a> {
    id: &'a str,
    operation: &'static str,
    client_token: String,
    client_token_accessor: String,
    namespace: Namespace,
    path: &'a str,
    data: Option<Hashed<'a>>,
    remote_address: String,
    remote_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    wrap_ttl: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mount_point: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mount_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mount_accessor: Option<&'a str>,
}

fn request_block<'a>(dev: &'a Device, ctx: &'a Ctx<'a>) -> RequestBlock<'a> {
    let (client_token, client_token_accessor) = match (ctx.caller, &ctx.req.token) {
        (Some(c), _) => (dev.hash(&c.id), accessor(dev, &c.entry.accessor)),
        (None, Some(t)) if !t.0.is_empty() => (dev.hash(&t.0), String::new()),
        _ => (String::new(), String::new()),
    };
    let data = &ctx.req.data;
    RequestBlock {
        id: ctx.id,
        operation: op_name(ctx.req.op),
        client_token,
        client_token_accessor,
        namespace: Namespace { id: "root" },
        path: &ctx.req.path,
        data: (!data.is_empty()).then(|| hashed_map(dev, data)),
        remote_address: ctx.req.remote_addr.map(|a| a.ip().to_string()).unwrap_or_default(),
        remote_port: ctx.req.remote_addr.map(|a| a.port()).unwrap_or(0),
        wrap_ttl: ctx.req.wrap_ttl,
        mount_point: ctx.mount.as_ref().map(|m| m.point.as_str()),
        mount_type: ctx.mount.as_ref().map(|m| m.entry.kind.as_str()),
        mount_accessor: ctx.mount.as_ref().map(|m| m.entry.accessor.as_str()),
    }
}

#[derive(Serialize)]
struct ResponseAuth<'a> {
    client_token: String,
    accessor: String,
    policies: &'a [String],
    token_policies: &'a [String],
    metadata: Option<&'a BTreeMap<String, String>>,
    lease_duration: u64,
    renewable: bool,
    entity_id: &'a str,
    token_type: &'a str,
    orphan: bool,
    num_uses: i64,
}

#[derive(Serialize)]
struct WrapBlock<'a> {
    token: String,
    accessor: String,
    ttl: u64,
    creation_time: &'a str,
    creation_path: &'a str,
    wrapped_accessor: String,
}

#[derive(Serialize)]
struct Secret<'a> {
    lease_id: &'a str,
}

#[derive(Serialize)]
struct ResponseBlock<'a> {
    mount_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Hashed<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<ResponseAuth<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wrap_info: Option<WrapBlock<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<Secret<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

fn response_block<'a>(dev: &'a Device, resp: &'a Response) -> ResponseBlock<'a> {
    let data = match (&resp.raw, &resp.data) {
        (Some(raw), _) => {
            raw.body.as_ref().map(|b| Hashed { value: HashedSrc::Value(b), hasher: hasher(dev) })
        }
        (None, Some(d)) => Some(hashed_map(dev, d)),
        (None, None) => None,
    };
    ResponseBlock {
        mount_type: &resp.mount_type,
        data,
        auth: resp.auth.as_ref().map(|a| ResponseAuth {
            client_token: dev.hash(&a.client_token),
            accessor: accessor(dev, &a.accessor),
            policies: &a.policies,
            token_policies: &a.token_policies,
            metadata: a.metadata.as_ref(),
            lease_duration: a.lease_duration,
            renewable: a.renewable,
            entity_id: &a.entity_id,
            token_type: &a.token_type,
            orphan: a.orphan,
            num_uses: a.num_uses,
        }),
        wrap_info: resp.wrap_info.as_ref().map(|w| WrapBlock {
            token: dev.hash(&w.token),
            accessor: accessor(dev, &w.accessor),
            ttl: w.ttl,
            creation_time: &w.creation_time,
            creation_path: &w.creation_path,
            wrapped_accessor: accessor(dev, &w.wrapped_accessor),
        }),
        secret: (!resp.lease_id.is_empty()).then_some(Secret { lease_id: &resp.lease_id }),
        warnings: &resp.warnings,
    }
}

/// The `auth` and `request` blocks of one device's entries, serialised once per request and
/// spliced into both its request and response lines.
pub struct Parts {
    auth: Vec<u8>,
    request: Vec<u8>,
}

pub fn parts(dev: &Device, ctx: &Ctx<'_>) -> serde_json::Result<Parts> {
    let auth = match ctx.caller {
        Some(c) => serde_json::to_vec(&auth_block(dev, c))?,
        None => b"null".to_vec(),
    };
    Ok(Parts { auth, request: serde_json::to_vec(&request_block(dev, ctx))? })
}

/// `{"time":…,"type":…,"auth":…,"request":…` — the common head of both lines.
fn head(p: &Parts, kind: &str, extra: usize) -> Vec<u8> {
    let time = crate::util::rfc3339_now();
    let mut out = Vec::with_capacity(64 + time.len() + p.auth.len() + p.request.len() + extra);
    out.extend_from_slice(b"{\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\",\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"auth\":");
    out.extend_from_slice(&p.auth);
    out.extend_from_slice(b",\"request\":");
    out.extend_from_slice(&p.request);
    out
}

/// The request entry (one JSON object, no newline).
pub fn request(p: &Parts) -> serde_json::Result<Vec<u8>> {
    let mut out = head(p, "request", 16);
    out.extend_from_slice(b",\"error\":\"\"}");
    Ok(out)
}

/// The response entry (one JSON object, no newline).
pub fn response(
    dev: &Device,
    p: &Parts,
    result: &CoreResult<Response>,
) -> serde_json::Result<Vec<u8>> {
    let mut out = head(p, "response", 256);
    out.extend_from_slice(b",\"response\":");
    match result {
        Ok(r) => {
            serde_json::to_writer(&mut out, &response_block(dev, r))?;
            out.extend_from_slice(b",\"error\":\"\"}");
        }
        Err(e) => {
            out.extend_from_slice(b"null,\"error\":");
            serde_json::to_writer(&mut out, &client_error(e))?;
            out.push(b'}');
        }
    }
    Ok(out)
}
