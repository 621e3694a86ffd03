//! `sys/internal/ui/mounts[/<path>]`: which engine (and KV version) serves a path. The vault
//! CLI and Terraform ask this before building KV requests. Like Vault it is outside the normal
//! ACL check (any valid token may ask), but it does require a valid token.

use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::{MountEntry, MountTable};
use crate::core::request::{Operation, Request, Response};
use crate::core::Core;
use serde_json::{json, Map, Value};

fn describe(e: &MountEntry) -> Value {
    json!({
        "path": e.path,
        "type": e.kind,
        "description": e.description,
        "accessor": e.accessor,
        "uuid": e.uuid,
        "local": e.local,
        "seal_wrap": e.seal_wrap,
        "external_entropy_access": false,
        "options": if e.options.is_empty() { Value::Null } else { json!(e.options) },
        "config": {
            "default_lease_ttl": e.config.default_lease_ttl,
            "max_lease_ttl": e.config.max_lease_ttl,
            "force_no_cache": e.config.force_no_cache,
        },
    })
}

pub fn handle(core: &Core, req: &Request, path: &str) -> CoreResult<Response> {
    if req.op != Operation::Read {
        return Err(CoreError::UnsupportedOperation);
    }
    if core.is_sealed() {
        return Err(CoreError::Sealed);
    }
    core.authenticate(req)?;
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        let mut secret = Map::new();
        for e in core.mounts.snapshot().iter() {
            secret.insert(e.path.clone(), describe(e));
        }
        let mut auth = Map::new();
        for e in core.auth_mounts.snapshot().iter() {
            auth.insert(e.path.clone(), describe(e));
        }
        let mut data = Map::new();
        data.insert("secret".into(), Value::Object(secret));
        data.insert("auth".into(), Value::Object(auth));
        return Ok(Response::data(data));
    }
    let (table, rest, prefix) = match path.strip_prefix("auth/") {
        Some(rest) => (core.auth_mounts.snapshot(), rest, "auth/"),
        None => (core.mounts.snapshot(), path, ""),
    };
    let (entry, _) = MountTable::route(&table, rest)
        .ok_or_else(|| CoreError::bad(format!("no mount at path {path:?}")))?;
    match describe(entry) {
        Value::Object(mut m) => {
            m.insert("path".into(), Value::String(format!("{prefix}{}", entry.path)));
            Ok(Response::data(m))
        }
        _ => Err(CoreError::internal("mount description is not an object")),
    }
}
