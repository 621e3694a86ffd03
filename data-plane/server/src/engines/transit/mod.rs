//! The transit secrets engine: HTTP-free request mapping onto coffer-transit. Keys persist
//! through the barrier under the mount's prefix (`policy/<name>`) and live in an in-memory
//! cache (see `cache.rs`) so the hot path (encrypt/decrypt/sign) never re-parses a key or
//! redoes a key schedule.

mod cache;
mod crypto;
mod keys;
pub mod rotation;

pub use cache::KeyCache;

use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::MountEntry;
use crate::core::request::{Operation, Request, Response};
use crate::core::storage::View;
use coffer_transit::TransitError;

/// Everything a transit handler needs.
pub struct Ctx<'a> {
    pub view: View<'a>,
    pub cache: &'a KeyCache,
    pub mount: &'a MountEntry,
}

pub(crate) fn transit_err(e: TransitError) -> CoreError {
    match e {
        TransitError::Internal(detail) => CoreError::internal(format!("transit: {detail}")),
        other => CoreError::bad(other.to_string()),
    }
}

pub fn handle(ctx: &Ctx<'_>, req: &Request, rest: &str) -> CoreResult<Response> {
    let mut parts = rest.splitn(2, '/');
    let head = parts.next().unwrap_or("");
    let tail = parts.next().unwrap_or("");
    let write = matches!(req.op, Operation::Update | Operation::Create);
    match head {
        "keys" => keys::handle(ctx, req, tail),
        "export" if req.op == Operation::Read => keys::export(ctx, tail),
        "encrypt" if write => crypto::encrypt(ctx, req, tail),
        "decrypt" if write => crypto::decrypt(ctx, req, tail),
        "rewrap" if write => crypto::rewrap(ctx, req, tail),
        "datakey" if write => crypto::datakey(ctx, req, tail),
        "hmac" if write => crypto::hmac(ctx, req, tail),
        "sign" if write => crypto::sign(ctx, req, tail),
        "verify" if write => crypto::verify(ctx, req, tail),
        "random" if write || req.op == Operation::Read => crypto::random(req, tail),
        "hash" if write => crypto::hash(req, tail),
        "export" | "encrypt" | "decrypt" | "rewrap" | "datakey" | "hmac" | "sign" | "verify"
        | "random" | "hash" => Err(CoreError::UnsupportedOperation),
        _ => Err(CoreError::NotFound(Some(format!("no handler for route \"{}\"", req.path)))),
    }
}

/// Splits `name[/suffix]` into the key name and an optional suffix (algorithm, version).
pub(crate) fn name_and_suffix(tail: &str) -> CoreResult<(&str, Option<&str>)> {
    let (name, suffix) = match tail.split_once('/') {
        Some((n, s)) => (n, Some(s).filter(|s| !s.is_empty())),
        None => (tail, None),
    };
    if name.is_empty() {
        return Err(CoreError::bad("missing key name"));
    }
    Ok((name, suffix))
}

/// Existence check: writes to `keys/<name>` and `encrypt/<name>` create the key if missing.
pub fn exists(ctx: &Ctx<'_>, rest: &str) -> CoreResult<bool> {
    match rest.split_once('/') {
        Some(("keys" | "encrypt", tail)) => match name_and_suffix(tail) {
            Ok((name, None)) => keys::exists(ctx, name),
            _ => Ok(true),
        },
        _ => Ok(true),
    }
}

/// Operations that only compute with an existing key (no storage write, except an encrypt that
/// creates a missing key once).
pub fn is_compute_only(rest: &str) -> bool {
    let head = rest.split('/').next().unwrap_or("");
    matches!(
        head,
        "encrypt"
            | "decrypt"
            | "rewrap"
            | "datakey"
            | "hmac"
            | "sign"
            | "verify"
            | "hash"
            | "random"
    )
}

/// `sys/tools/hash[/<algorithm>]` (keyless, shared with transit).
pub fn tools_hash(req: &Request, rest: &str) -> CoreResult<Response> {
    if !matches!(req.op, Operation::Update | Operation::Create) {
        return Err(CoreError::UnsupportedOperation);
    }
    crypto::hash(req, rest)
}

/// `sys/tools/random[/<bytes>][/<format>]` (keyless, shared with transit).
pub fn tools_random(req: &Request, rest: &str) -> CoreResult<Response> {
    if !matches!(req.op, Operation::Update | Operation::Create | Operation::Read) {
        return Err(CoreError::UnsupportedOperation);
    }
    crypto::random(req, rest)
}
