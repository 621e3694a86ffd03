//! `sys/mounts` and `sys/auth`: list, enable, read, disable and tune secrets engines and auth
//! methods. Both tables share the entry format, so one module serves both.

use super::expect_op;
use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::{validate_mount_path, MountEntry, MountTable};
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::storage::View;
use crate::core::Core;
use crate::util::fields;
use serde_json::{json, Map, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Secrets,
    Auth,
}

impl Kind {
    fn table(self, core: &Core) -> &MountTable {
        match self {
            Kind::Secrets => &core.mounts,
            Kind::Auth => &core.auth_mounts,
        }
    }
    fn storage_prefix(self) -> &'static str {
        match self {
            Kind::Secrets => "logical/",
            Kind::Auth => "auth/",
        }
    }
}

/// Mounts that are part of the system and cannot be removed or replaced.
const BUILTIN: &[&str] = &["sys/", "cubbyhole/", "identity/", "token/"];

pub fn handle(
    core: &Core,
    _caller: &Caller,
    req: &Request,
    path: &str,
    kind: Kind,
) -> CoreResult<Response> {
    if path.is_empty() {
        expect_op(req, &[Operation::Read])?;
        return Ok(list(core, kind));
    }
    if let Some(mount) = path.strip_suffix("/tune") {
        return tune(core, req, mount, kind);
    }
    match req.op {
        Operation::Read => {
            let p = validate_mount_path(path)?;
            let entries = kind.table(core).snapshot();
            let e = entries.iter().find(|e| e.path == p).ok_or(CoreError::NotFound(None))?;
            Ok(Response::data(describe(e)).flattened())
        }
        Operation::Update | Operation::Create => enable(core, req, path, kind),
        Operation::Delete => disable(core, path, kind),
        _ => Err(CoreError::UnsupportedOperation),
    }
}

fn effective(v: u64, sys: u64) -> u64 {
    if v == 0 {
        sys
    } else {
        v
    }
}

fn describe(e: &MountEntry) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), e.kind.clone().into());
    m.insert("description".into(), e.description.clone().into());
    m.insert("accessor".into(), e.accessor.clone().into());
    m.insert("uuid".into(), e.uuid.clone().into());
    m.insert(
        "config".into(),
        json!({
            "default_lease_ttl": e.config.default_lease_ttl,
            "max_lease_ttl": e.config.max_lease_ttl,
            "force_no_cache": e.config.force_no_cache,
        }),
    );
    m.insert("options".into(), if e.options.is_empty() { Value::Null } else { json!(e.options) });
    m.insert("local".into(), e.local.into());
    m.insert("seal_wrap".into(), e.seal_wrap.into());
    m.insert("external_entropy_access".into(), false.into());
    m.insert("plugin_version".into(), "".into());
    m.insert("running_plugin_version".into(), "".into());
    m.insert("running_sha256".into(), "".into());
    m
}

fn list(core: &Core, kind: Kind) -> Response {
    let entries = kind.table(core).snapshot();
    let mut data = Map::new();
    for e in entries.iter() {
        data.insert(e.path.clone(), Value::Object(describe(e)));
    }
    Response::data(data).flattened()
}

/// Maps Vault's type aliases onto what we implement; unknown types are refused.
fn resolve_type(
    kind: Kind,
    ty: &str,
    options: &mut std::collections::BTreeMap<String, String>,
) -> CoreResult<String> {
    let t = match (kind, ty) {
        (Kind::Secrets, "kv" | "generic") => "kv",
        (Kind::Secrets, "kv-v2") => {
            options.insert("version".into(), "2".into());
            "kv"
        }
        (Kind::Secrets, "kv-v1") => {
            options.insert("version".into(), "1".into());
            "kv"
        }
        (Kind::Secrets, "transit") => "transit",
        (Kind::Auth, "userpass") => "userpass",
        (Kind::Auth, "approle") => "approle",
        _ => return Err(CoreError::bad(format!("plugin not found in the catalog: {ty}"))),
    };
    Ok(t.to_owned())
}

fn apply_config(e: &mut MountEntry, cfg: &Map<String, Value>) -> CoreResult<()> {
    if let Some(v) = fields::opt_duration(cfg, "default_lease_ttl")? {
        e.config.default_lease_ttl = v;
    }
    if let Some(v) = fields::opt_duration(cfg, "max_lease_ttl")? {
        e.config.max_lease_ttl = v;
    }
    if let Some(v) = fields::opt_bool(cfg, "force_no_cache")? {
        e.config.force_no_cache = v;
    }
    if let Some(v) = fields::opt_str(cfg, "listing_visibility")? {
        e.config.listing_visibility = v.to_owned();
    }
    if let Some(v) = fields::opt_str_list(cfg, "audit_non_hmac_request_keys")? {
        e.config.audit_non_hmac_request_keys = v;
    }
    if let Some(v) = fields::opt_str_list(cfg, "audit_non_hmac_response_keys")? {
        e.config.audit_non_hmac_response_keys = v;
    }
    if e.config.max_lease_ttl > 0 && e.config.default_lease_ttl > e.config.max_lease_ttl {
        return Err(CoreError::bad("default lease TTL cannot be greater than max lease TTL"));
    }
    Ok(())
}

fn enable(core: &Core, req: &Request, path: &str, kind: Kind) -> CoreResult<Response> {
    let d = &req.data;
    let p = validate_mount_path(path)?;
    if kind == Kind::Secrets
        && ["sys/", "auth/", "cubbyhole/", "identity/"].iter().any(|r| p.starts_with(r))
    {
        return Err(CoreError::bad(format!("cannot mount under reserved path {p:?}")));
    }
    let ty = fields::opt_str(d, "type")?.ok_or_else(|| CoreError::bad("type is required"))?;
    let mut options = fields::opt_str_map(d, "options")?.unwrap_or_default();
    let resolved = resolve_type(kind, ty, &mut options)?;
    let description = fields::opt_str(d, "description")?.unwrap_or("");
    let prefix = if kind == Kind::Auth { "auth" } else { resolved.as_str() };
    let mut e = MountEntry::new(&p, &resolved, description, &format!("{prefix}_{resolved}"));
    if let Some(v) = options.get("version") {
        if !matches!(v.as_str(), "1" | "2" | "") {
            return Err(CoreError::bad(format!("invalid KV version {v:?}")));
        }
    }
    e.options = options;
    if resolved == "kv" && !e.options.contains_key("version") {
        e.options.insert("version".into(), "1".into());
    }
    if let Some(cfg) = fields::opt_object(d, "config")? {
        apply_config(&mut e, cfg)?;
    }
    e.local = fields::opt_bool(d, "local")?.unwrap_or(false);
    e.seal_wrap = fields::opt_bool(d, "seal_wrap")?.unwrap_or(false);
    Core::add_to_table(&core.barrier, kind.table(core), e)?;
    Ok(Response::empty())
}

fn disable(core: &Core, path: &str, kind: Kind) -> CoreResult<Response> {
    let p = validate_mount_path(path)?;
    if BUILTIN.contains(&p.as_str()) {
        return Err(CoreError::bad(format!("cannot unmount {p:?}")));
    }
    let table = kind.table(core);
    let _guard = table.lock_edit();
    let current = table.snapshot();
    // Vault answers 204 for a path that is not mounted.
    let Some(victim) = current.iter().find(|e| e.path == p) else {
        return Ok(Response::empty());
    };
    let prefix = format!("{}{}/", kind.storage_prefix(), victim.uuid);
    let next: Vec<MountEntry> = current.iter().filter(|e| e.path != p).cloned().collect();
    let uuid = victim.uuid.clone();
    core.save_table(table, next)?;
    core.barrier.delete_prefix(&prefix)?;
    core.transit.forget_mount(&uuid);
    Ok(Response::empty())
}

fn tune(core: &Core, req: &Request, path: &str, kind: Kind) -> CoreResult<Response> {
    let p = validate_mount_path(path)?;
    let table = kind.table(core);
    match req.op {
        Operation::Read => {
            let entries = table.snapshot();
            let e = entries
                .iter()
                .find(|e| e.path == p)
                .ok_or_else(|| CoreError::bad(format!("cannot fetch sysview for path {p:?}")))?;
            let mut data = Map::new();
            data.insert("description".into(), e.description.clone().into());
            data.insert(
                "default_lease_ttl".into(),
                effective(e.config.default_lease_ttl, core.config.default_lease_ttl).into(),
            );
            data.insert(
                "max_lease_ttl".into(),
                effective(e.config.max_lease_ttl, core.config.max_lease_ttl).into(),
            );
            data.insert("force_no_cache".into(), e.config.force_no_cache.into());
            if !e.options.is_empty() {
                data.insert("options".into(), json!(e.options));
            }
            if !e.config.listing_visibility.is_empty() {
                data.insert(
                    "listing_visibility".into(),
                    e.config.listing_visibility.clone().into(),
                );
            }
            Ok(Response::data(data).flattened())
        }
        Operation::Update | Operation::Create => {
            let _guard = table.lock_edit();
            let mut entries = table.snapshot().as_ref().clone();
            let e = entries.iter_mut().find(|e| e.path == p).ok_or_else(|| {
                CoreError::bad(format!("cannot tune {p:?}: no mount at this path"))
            })?;
            apply_config(e, &req.data)?;
            if let Some(desc) = fields::opt_str(&req.data, "description")? {
                e.description = desc.to_owned();
            }
            let mut upgrade = None;
            if let Some(opts) = fields::opt_str_map(&req.data, "options")? {
                for (k, v) in opts {
                    if k == "version" && e.kind == "kv" {
                        if !matches!(v.as_str(), "1" | "2") {
                            return Err(CoreError::bad(format!("invalid KV version {v:?}")));
                        }
                        if v == "1" && e.kv_version() == 2 {
                            return Err(CoreError::bad("cannot downgrade KV mount from version 2"));
                        }
                        if v == "2" && e.kv_version() == 1 {
                            upgrade = Some(e.uuid.clone());
                        }
                    }
                    e.options.insert(k, v);
                }
            }
            // KV v1 -> v2: copy data into the v2 layout before switching, drop v1 keys after.
            let migrated = match &upgrade {
                Some(uuid) => {
                    let view = View::new(&core.barrier, format!("logical/{uuid}/"));
                    Some(crate::engines::kv::upgrade::migrate(&view)?)
                }
                None => None,
            };
            core.save_table(table, entries)?;
            if let (Some(uuid), Some(keys)) = (upgrade, migrated) {
                let view = View::new(&core.barrier, format!("logical/{uuid}/"));
                crate::engines::kv::upgrade::cleanup(&view, &keys)?;
            }
            Ok(Response::empty())
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}
