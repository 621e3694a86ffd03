//! KV version 2's API: `config`, `data/`, `metadata/`, `delete/`, `undelete/`, `destroy/`,
//! `subkeys/`. Reads are one barrier get; writes are one read-modify-write of the secret's
//! record under its stripe lock, so check-and-set is race-free.

use super::v2_memo::RenderMemo;
use super::v2_read::{Outcome, RecordView};
use super::v2_record::{fmt_duration, merge_patch, now_nanos, subkeys, MountConfig, Record};
use super::{check_key, list_response, locks};
use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::MountEntry;
use crate::core::request::{Operation, Request, Response};
use crate::core::storage::View;
use crate::obj;
use crate::util::fields;
use serde_json::{Map, Value};

const CONFIG_KEY: &str = "config";

fn record_key(key: &str) -> String {
    let mut s = String::with_capacity(2 + key.len());
    s.push_str("k/");
    s.push_str(key);
    s
}

fn load(view: &View<'_>, key: &str) -> CoreResult<Option<Record>> {
    view.get_json(&record_key(key))
}

fn config(view: &View<'_>) -> CoreResult<MountConfig> {
    Ok(view.get_json(CONFIG_KEY)?.unwrap_or_default())
}

pub fn exists(view: &View<'_>, rest: &str) -> CoreResult<bool> {
    let (head, key) = rest.split_once('/').unwrap_or((rest, ""));
    match head {
        "data" | "metadata" if !key.is_empty() => Ok(load(view, key)?.is_some()),
        _ => Ok(true),
    }
}

pub fn handle(
    view: &View<'_>,
    memo: &RenderMemo,
    mount: &MountEntry,
    req: &Request,
    rest: &str,
) -> CoreResult<Response> {
    let (head, key) = rest.split_once('/').unwrap_or((rest, ""));
    let scope = mount.uuid.as_str();
    match (head, req.op) {
        ("config", Operation::Read) if key.is_empty() => read_config(view),
        ("config", Operation::Update | Operation::Create) if key.is_empty() => {
            write_config(view, req)
        }
        ("data", Operation::Read) => read_data(view, memo, req, key),
        ("data", Operation::Update | Operation::Create) => write_data(view, req, key, scope, false),
        ("data", Operation::Patch) => write_data(view, req, key, scope, true),
        ("data", Operation::Delete) => delete_latest(view, key, scope),
        ("data", Operation::List) | ("metadata", Operation::List) => list(view, key),
        ("metadata", Operation::Read) => read_metadata(view, key),
        ("metadata", Operation::Update | Operation::Create) => {
            write_metadata(view, req, key, scope, false)
        }
        ("metadata", Operation::Patch) => write_metadata(view, req, key, scope, true),
        ("metadata", Operation::Delete) => {
            check_key(key)?;
            let _g = locks::lock(scope, key);
            view.delete(&record_key(key))?;
            Ok(Response::empty())
        }
        ("delete" | "undelete" | "destroy", Operation::Update | Operation::Create) => {
            versions_op(view, req, key, scope, head)
        }
        ("subkeys", Operation::Read) => read_subkeys(view, req, key),
        ("config" | "delete" | "undelete" | "destroy" | "subkeys", _) => {
            Err(CoreError::UnsupportedOperation)
        }
        _ => Err(CoreError::NotFound(Some(format!("no handler for route \"{}\"", req.path)))),
    }
}

fn read_config(view: &View<'_>) -> CoreResult<Response> {
    let c = config(view)?;
    Ok(Response::data(obj! {
        "max_versions" => c.max_versions,
        "cas_required" => c.cas_required,
        "delete_version_after" => fmt_duration(c.delete_version_after),
    }))
}

fn write_config(view: &View<'_>, req: &Request) -> CoreResult<Response> {
    let d = &req.data;
    let mut c = config(view)?;
    if let Some(v) = fields::opt_u64(d, "max_versions")? {
        c.max_versions = v;
    }
    if let Some(v) = fields::opt_bool(d, "cas_required")? {
        c.cas_required = v;
    }
    if let Some(v) = fields::opt_duration(d, "delete_version_after")? {
        c.delete_version_after = v;
    }
    view.put_json(CONFIG_KEY, &c)?;
    Ok(Response::empty())
}

/// Picks the requested version (`version` field, 0/absent = current).
fn pick_version(req: &Request, rec: &Record) -> CoreResult<u64> {
    Ok(match fields::opt_u64(&req.data, "version")? {
        Some(0) | None => rec.current_version,
        Some(v) => v,
    })
}

fn read_data(view: &View<'_>, memo: &RenderMemo, req: &Request, key: &str) -> CoreResult<Response> {
    check_key(key)?;
    let version = match fields::opt_u64(&req.data, "version")? {
        Some(0) | None => None,
        Some(v) => Some(v),
    };
    let path = view.full(&record_key(key));
    // Read before the barrier so a seal racing this read also drops its memo (see v2_memo).
    let epoch = memo.epoch();
    let bytes = view.get_shared_full(&path)?.ok_or(CoreError::NotFound(None))?;
    let now = now_nanos();
    if version.is_none() {
        if let Some(body) = memo.get(&path, &bytes, now) {
            return Ok(Response::data_json(body));
        }
    }
    // Render a live version straight from the stored JSON (see v2_read).
    let rec = RecordView::parse(&bytes)?;
    let n = version.unwrap_or(rec.current_version);
    match rec.render(n, now)? {
        Outcome::Live(body, live_until) => {
            if version.is_none() {
                memo.fill(epoch, &path, &bytes, live_until, &body);
            }
            Ok(Response::data_json(body))
        }
        Outcome::Missing => Err(CoreError::NotFound(None)),
        Outcome::NotLive => read_not_live(serde_json::from_slice(&bytes)?, n),
    }
}

/// A deleted or destroyed version: Vault answers 404 but still shows its metadata.
fn read_not_live(mut rec: Record, n: u64) -> CoreResult<Response> {
    // The record is ours: move the version out instead of copying its data.
    let v = rec.versions.remove(&n).ok_or(CoreError::NotFound(None))?;
    let now = now_nanos();
    let metadata = Value::Object(v.metadata(n, &rec.custom_metadata));
    if !v.is_live(now) {
        // Vault answers 404 but still shows the version's metadata.
        let body = obj! { "data" => Value::Null, "metadata" => metadata };
        return Ok(Response { data: Some(body), ..Response::raw(404, None) });
    }
    let data = v.data.map(Value::Object).unwrap_or(Value::Null);
    let mut m = Map::with_capacity(2);
    m.insert("data".into(), data);
    m.insert("metadata".into(), metadata);
    Ok(Response::data(m))
}

fn read_subkeys(view: &View<'_>, req: &Request, key: &str) -> CoreResult<Response> {
    check_key(key)?;
    let rec = load(view, key)?.ok_or(CoreError::NotFound(None))?;
    let n = pick_version(req, &rec)?;
    let v = rec.versions.get(&n).ok_or(CoreError::NotFound(None))?;
    if !v.is_live(now_nanos()) {
        return Err(CoreError::NotFound(None));
    }
    let depth = fields::opt_u64(&req.data, "depth")?.unwrap_or(0);
    let empty = Map::new();
    Ok(Response::data(obj! {
        "subkeys" => subkeys(v.data.as_ref().unwrap_or(&empty), depth),
        "metadata" => Value::Object(v.metadata(n, &rec.custom_metadata)),
    }))
}

fn write_data(
    view: &View<'_>,
    req: &Request,
    key: &str,
    scope: &str,
    patch: bool,
) -> CoreResult<Response> {
    check_key(key)?;
    let d = &req.data;
    let data = fields::opt_object(d, "data")?.ok_or_else(|| CoreError::bad("no data provided"))?;
    let cas = match fields::opt_object(d, "options")? {
        Some(o) => fields::opt_u64(o, "cas")?,
        None => None,
    };
    let cfg = config(view)?;
    let _g = locks::lock(scope, key);
    let mut rec = load(view, key)?.unwrap_or_default();
    let now = now_nanos();
    if (cfg.cas_required || rec.cas_required) && cas.is_none() {
        return Err(CoreError::bad("check-and-set parameter required for this call"));
    }
    if let Some(c) = cas {
        if c != rec.current_version {
            return Err(CoreError::bad(
                "check-and-set parameter did not match the current version",
            ));
        }
    }
    let new_data = if patch {
        let current = rec
            .versions
            .get(&rec.current_version)
            .filter(|v| v.is_live(now))
            .and_then(|v| v.data.clone())
            .ok_or(CoreError::NotFound(None))?;
        let mut target = Value::Object(current);
        merge_patch(&mut target, &Value::Object(data.clone()));
        match target {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    } else {
        data.clone()
    };
    let n = rec.push(new_data, &cfg, now);
    view.put_json(&record_key(key), &rec)?;
    let v = rec.versions.get(&n).ok_or_else(|| CoreError::internal("version vanished"))?;
    Ok(Response::data(v.metadata(n, &rec.custom_metadata)))
}

fn delete_latest(view: &View<'_>, key: &str, scope: &str) -> CoreResult<Response> {
    check_key(key)?;
    let _g = locks::lock(scope, key);
    let Some(mut rec) = load(view, key)? else { return Ok(Response::empty()) };
    let now = now_nanos();
    let cur = rec.current_version;
    if let Some(v) = rec.versions.get_mut(&cur) {
        if v.is_live(now) {
            v.deletion = now;
            rec.updated = now;
            view.put_json(&record_key(key), &rec)?;
        }
    }
    Ok(Response::empty())
}

fn versions_op(
    view: &View<'_>,
    req: &Request,
    key: &str,
    scope: &str,
    op: &str,
) -> CoreResult<Response> {
    check_key(key)?;
    let versions: Vec<u64> = match req.data.get("versions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            })
            .collect::<Option<Vec<u64>>>()
            .ok_or_else(|| CoreError::bad("versions must be a list of version numbers"))?,
        Some(Value::Number(n)) => {
            vec![n.as_u64().ok_or_else(|| CoreError::bad("invalid version"))?]
        }
        Some(Value::String(s)) => s
            .split(',')
            .map(|p| p.trim().parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|_| CoreError::bad("versions must be a list of version numbers"))?,
        Some(_) => return Err(CoreError::bad("versions must be a list of version numbers")),
    };
    if versions.is_empty() {
        return Err(CoreError::bad("no version number provided"));
    }
    let _g = locks::lock(scope, key);
    let Some(mut rec) = load(view, key)? else { return Ok(Response::empty()) };
    let now = now_nanos();
    for n in versions {
        let Some(v) = rec.versions.get_mut(&n) else { continue };
        match op {
            "delete" if v.is_live(now) => v.deletion = now,
            "undelete" if !v.destroyed => v.deletion = 0,
            "destroy" => {
                v.destroyed = true;
                v.data = None;
            }
            _ => {}
        }
    }
    rec.updated = now;
    view.put_json(&record_key(key), &rec)?;
    Ok(Response::empty())
}

fn list(view: &View<'_>, key: &str) -> CoreResult<Response> {
    let prefix =
        if key.is_empty() || key.ends_with('/') { key.to_owned() } else { format!("{key}/") };
    list_response(view.list(&record_key(&prefix))?)
}

fn read_metadata(view: &View<'_>, key: &str) -> CoreResult<Response> {
    check_key(key)?;
    let rec = load(view, key)?.ok_or(CoreError::NotFound(None))?;
    Ok(Response::data(rec.metadata()))
}

fn write_metadata(
    view: &View<'_>,
    req: &Request,
    key: &str,
    scope: &str,
    patch: bool,
) -> CoreResult<Response> {
    check_key(key)?;
    let d = &req.data;
    let cfg = config(view)?;
    let _g = locks::lock(scope, key);
    let existing = load(view, key)?;
    if patch && existing.is_none() {
        return Err(CoreError::NotFound(None));
    }
    let mut rec = existing.unwrap_or_default();
    if let Some(v) = fields::opt_u64(d, "max_versions")? {
        rec.max_versions = v;
    }
    if let Some(v) = fields::opt_bool(d, "cas_required")? {
        rec.cas_required = v;
    }
    if let Some(v) = fields::opt_duration(d, "delete_version_after")? {
        rec.delete_version_after = v;
    }
    match d.get("custom_metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            if patch {
                for (k, v) in m {
                    match v {
                        Value::Null => {
                            rec.custom_metadata.remove(k);
                        }
                        Value::String(s) => {
                            rec.custom_metadata.insert(k.clone(), s.clone());
                        }
                        _ => return Err(CoreError::bad("custom_metadata values must be strings")),
                    }
                }
            } else {
                rec.custom_metadata =
                    fields::opt_str_map(d, "custom_metadata")?.unwrap_or_default();
            }
        }
        Some(_) => return Err(CoreError::bad("custom_metadata must be a map of strings")),
    }
    if rec.custom_metadata.len() > 64 {
        return Err(CoreError::bad("custom_metadata can have at most 64 keys"));
    }
    let now = now_nanos();
    if rec.created == 0 {
        rec.created = now;
    }
    rec.updated = now;
    rec.trim(&cfg);
    view.put_json(&record_key(key), &rec)?;
    Ok(Response::empty())
}
