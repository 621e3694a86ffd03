//! Key management: create, read, list, delete, configure, rotate, export.

use super::{name_and_suffix, transit_err, Ctx};
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::obj;
use coffer_transit::{CreateKeyRequest, ExportKind, Key, KeyConfigUpdate};
use serde_json::{Map, Value};

fn info_data(key: &Key) -> CoreResult<Map<String, Value>> {
    match serde_json::to_value(key.info())? {
        Value::Object(m) => Ok(m),
        _ => Err(CoreError::internal("key info is not an object")),
    }
}

/// Deserialises a Vault-shaped body into a transit request type (nulls accepted).
fn body<T: serde::de::DeserializeOwned>(req: &Request) -> CoreResult<T> {
    serde_json::from_value(Value::Object(req.data.clone()))
        .map_err(|e| CoreError::bad(format!("invalid request: {e}")))
}

pub fn handle(ctx: &Ctx<'_>, req: &Request, tail: &str) -> CoreResult<Response> {
    if tail.is_empty() {
        if req.op != Operation::List {
            return Err(CoreError::UnsupportedOperation);
        }
        return crate::engines::kv::list_response(
            ctx.view.list("policy/")?.into_iter().filter(|k| !k.ends_with('/')).collect(),
        );
    }
    let (name, suffix) = name_and_suffix(tail)?;
    let write = matches!(req.op, Operation::Update | Operation::Create);
    match (suffix, req.op) {
        (None, Operation::Read) => {
            let k = ctx.cache.get(ctx, name)?.ok_or(CoreError::NotFound(None))?;
            let g = k.read().map_err(|_| CoreError::internal("transit key lock poisoned"))?;
            Ok(Response::data(info_data(&g)?))
        }
        (None, _) if write => {
            let r: CreateKeyRequest = body(req)?;
            let key = Key::create(name, r.options().map_err(transit_err)?).map_err(transit_err)?;
            let shared = ctx.cache.insert_new(ctx, key)?;
            let g = shared.read().map_err(|_| CoreError::internal("transit key lock poisoned"))?;
            Ok(Response::data(info_data(&g)?))
        }
        (None, Operation::Delete) => {
            let k = ctx.cache.get(ctx, name)?.ok_or(CoreError::NotFound(None))?;
            let allowed = k
                .read()
                .map_err(|_| CoreError::internal("transit key lock poisoned"))?
                .deletion_allowed();
            if !allowed {
                return Err(CoreError::bad("deletion is not allowed for this key"));
            }
            ctx.cache.remove(ctx, name)?;
            Ok(Response::empty())
        }
        (Some("config"), _) if write => {
            let update: KeyConfigUpdate = body(req)?;
            let (_, key) = ctx.cache.update(ctx, name, |k| k.configure(&update))?;
            Ok(Response::data(info_data(&key)?))
        }
        (Some("rotate"), _) if write => {
            let (_, key) = ctx.cache.update(ctx, name, |k| k.rotate())?;
            Ok(Response::data(info_data(&key)?))
        }
        (Some("config" | "rotate"), _) | (None, _) => Err(CoreError::UnsupportedOperation),
        _ => Err(CoreError::NotFound(Some(format!("no handler for route \"{}\"", req.path)))),
    }
}

/// `export/<type>/<name>[/<version>]`.
pub fn export(ctx: &Ctx<'_>, tail: &str) -> CoreResult<Response> {
    let mut it = tail.split('/');
    let (kind, name) = match (it.next(), it.next()) {
        (Some(k), Some(n)) if !n.is_empty() => (k, n),
        _ => return Err(CoreError::bad("export needs a type and a key name")),
    };
    let version = match it.next() {
        None | Some("") | Some("latest") => None,
        Some(v) => Some(
            v.trim_start_matches('v')
                .parse::<u32>()
                .map_err(|_| CoreError::bad("invalid version"))?,
        ),
    };
    let kind = ExportKind::parse(kind)
        .ok_or_else(|| CoreError::bad(format!("invalid export type {kind:?}")))?;
    let k = ctx.cache.get(ctx, name)?.ok_or(CoreError::NotFound(None))?;
    let g = k.read().map_err(|_| CoreError::internal("transit key lock poisoned"))?;
    let version = match tail.rsplit('/').next() {
        Some("latest") => Some(g.latest_version()),
        _ => version,
    };
    let exported = g.export(kind, version).map_err(transit_err)?;
    let mut keys = Map::new();
    for (v, text) in exported.iter() {
        keys.insert(v.to_string(), Value::String(text.to_string()));
    }
    Ok(Response::data(obj! {
        "name" => g.name(),
        "type" => g.key_type().as_str(),
        "keys" => Value::Object(keys),
    }))
}

/// Whether a key exists (for ACL create-vs-update decisions).
pub fn exists(ctx: &Ctx<'_>, name: &str) -> CoreResult<bool> {
    // Answered from the key cache (which loads the key once), not a storage read per request.
    Ok(ctx.cache.get(ctx, name)?.is_some())
}
