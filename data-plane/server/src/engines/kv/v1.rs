//! KV version 1: each key holds one JSON object; writes replace it. A read is one barrier get.

use super::{check_key, list_response};
use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::MountEntry;
use crate::core::request::{Operation, Request, Response};
use crate::core::storage::View;
use serde_json::{Map, Value};

pub fn handle(
    view: &View<'_>,
    mount: &MountEntry,
    req: &Request,
    key: &str,
    default_ttl: u64,
) -> CoreResult<Response> {
    match req.op {
        Operation::List => {
            if !key.is_empty() && !key.ends_with('/') {
                return list_response(view.list(&format!("{key}/"))?);
            }
            list_response(view.list(key)?)
        }
        Operation::Read => {
            check_key(key)?;
            let bytes = view.get(key)?.ok_or(CoreError::NotFound(None))?;
            let data: Map<String, Value> = serde_json::from_slice(&bytes)?;
            let ttl = match data.get("ttl").map(crate::util::duration::parse_value) {
                Some(Ok(Some(t))) => t,
                _ => effective_ttl(mount, default_ttl),
            };
            let mut resp = Response::data(data);
            resp.lease_duration = ttl;
            Ok(resp)
        }
        Operation::Create | Operation::Update => {
            check_key(key)?;
            if req.data.is_empty() {
                return Err(CoreError::bad("no data provided"));
            }
            view.put(key, &serde_json::to_vec(&req.data)?)?;
            Ok(Response::empty())
        }
        Operation::Delete => {
            check_key(key)?;
            view.delete(key)?;
            Ok(Response::empty())
        }
        Operation::Patch => Err(CoreError::UnsupportedOperation),
    }
}

fn effective_ttl(mount: &MountEntry, default_ttl: u64) -> u64 {
    if mount.config.default_lease_ttl > 0 {
        mount.config.default_lease_ttl
    } else {
        default_ttl
    }
}

pub fn exists(view: &View<'_>, key: &str) -> CoreResult<bool> {
    Ok(!key.is_empty() && view.get(key)?.is_some())
}
