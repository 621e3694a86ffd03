//! `sys/leases/*` (and the legacy `sys/renew`, `sys/revoke*` aliases). The leases this server
//! issues are those of tokens with a TTL minted by a path (auth method logins, token creation,
//! wrapping): like Vault, a token's lease id is `<creation path>/<salted token hash>`, e.g.
//! `auth/userpass/login/alice/3f2a...`. KV v1 `ttl` values are advisory (Vault returns a
//! lease_duration but no lease id), so they have no lease to look up.
//!
//! Leases are derived from the token store rather than kept in a second index, so they can
//! never disagree with the tokens they describe: lookup/revoke of one lease is a point read,
//! listing and prefix revocation scan the token table (both are sudo-only admin operations).

use super::expect_op;
use crate::auth::token::TokenEntry;
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::Core;
use crate::obj;
use crate::util::{fields, now_unix, rfc3339};
use serde_json::Value;
use std::collections::BTreeSet;

/// The lease id of a token, if it has one (only expiring tokens do, as in Vault).
pub fn lease_id(e: &TokenEntry) -> Option<String> {
    if e.expire_time.is_none() || e.path.is_empty() {
        return None;
    }
    Some(format!("{}/{}", e.path.trim_end_matches('/'), e.hash))
}

/// The token behind a lease id, if the lease exists.
fn find(core: &Core, id: &str) -> CoreResult<Option<TokenEntry>> {
    let Some((prefix, hash)) = id.trim().rsplit_once('/') else { return Ok(None) };
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let entry = core.tokens.lookup_hash(&core.barrier, hash)?;
    Ok(entry.filter(|e| e.expire_time.is_some() && e.path.trim_end_matches('/') == prefix))
}

/// Every live lease id (scan).
fn all_leases(core: &Core) -> CoreResult<Vec<(String, TokenEntry)>> {
    let now = now_unix();
    Ok(core
        .tokens
        .scan(&core.barrier)?
        .into_iter()
        .filter(|e| !e.is_expired(now))
        .filter_map(|e| lease_id(&e).map(|id| (id, e)))
        .collect())
}

fn lease_field<'a>(req: &'a Request, from_path: &'a str) -> CoreResult<&'a str> {
    let id = match fields::opt_str(&req.data, "lease_id")?.filter(|s| !s.is_empty()) {
        Some(id) => id,
        None => from_path,
    };
    let id = id.trim();
    if id.is_empty() {
        return Err(CoreError::bad("missing lease_id"));
    }
    Ok(id)
}

fn require_sudo(caller: &Caller, req: &Request) -> CoreResult<()> {
    if caller.has_sudo(&req.path) {
        Ok(())
    } else {
        Err(CoreError::PermissionDenied)
    }
}

fn lookup(core: &Core, id: &str) -> CoreResult<Response> {
    let e = find(core, id)?.ok_or_else(|| CoreError::bad("invalid lease"))?;
    let now = now_unix();
    let expire = e.expire_time.unwrap_or(now);
    // A renewal resets the TTL from "now", so expire - ttl is the last renewal time; at
    // creation it equals the issue time (never renewed).
    let renewed_at = expire - e.ttl as i64;
    let last_renewal =
        if renewed_at > e.issue_time { Value::String(rfc3339(renewed_at)) } else { Value::Null };
    Ok(Response::data(obj! {
        "id" => id,
        "issue_time" => rfc3339(e.issue_time),
        "expire_time" => rfc3339(expire),
        "last_renewal" => last_renewal,
        "renewable" => e.renewable,
        "ttl" => e.remaining_ttl(now),
    }))
}

fn list(core: &Core, prefix: &str) -> CoreResult<Response> {
    let mut keys = BTreeSet::new();
    for (id, _) in all_leases(core)? {
        if let Some(rest) = id.strip_prefix(prefix) {
            let child = match rest.find('/') {
                Some(i) => &rest[..=i],
                None => rest,
            };
            if !child.is_empty() {
                keys.insert(child.to_owned());
            }
        }
    }
    crate::engines::kv::list_response(keys.into_iter().collect())
}

fn revoke_prefix(core: &Core, prefix: &str) -> CoreResult<Response> {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        return Err(CoreError::bad("missing prefix"));
    }
    let mut with_slash = String::with_capacity(prefix.len() + 1);
    with_slash.push_str(prefix);
    with_slash.push('/');
    for (id, e) in all_leases(core)? {
        if id.starts_with(&with_slash) {
            core.tokens.revoke_tree(&core.barrier, &e.hash)?;
        }
    }
    Ok(Response::empty())
}

/// `sys/leases/<rest>`; `legacy` is set for the `sys/renew`, `sys/revoke*` aliases, whose
/// `rest` is the full remainder after `sys/`.
pub fn handle(core: &Core, caller: &Caller, req: &Request, rest: &str) -> CoreResult<Response> {
    let (verb, arg) = rest.split_once('/').unwrap_or((rest, ""));
    match verb {
        "lookup" if req.op == Operation::List => {
            require_sudo(caller, req)?;
            list(core, arg)
        }
        "lookup" => {
            expect_op(req, &[Operation::Update])?;
            lookup(core, lease_field(req, arg)?)
        }
        "renew" => {
            expect_op(req, &[Operation::Update])?;
            let id = lease_field(req, arg)?;
            fields::opt_duration(&req.data, "increment")?;
            match find(core, id)? {
                // Vault: token leases are renewed through auth/token/renew*, never here.
                Some(_) => Err(CoreError::bad("tokens cannot be renewed through this endpoint")),
                None => Err(CoreError::bad("lease not found")),
            }
        }
        "revoke" => {
            expect_op(req, &[Operation::Update])?;
            if let Some(e) = find(core, lease_field(req, arg)?)? {
                core.tokens.revoke_tree(&core.barrier, &e.hash)?;
            }
            Ok(Response::empty())
        }
        "revoke-prefix" | "revoke-force" => {
            expect_op(req, &[Operation::Update])?;
            require_sudo(caller, req)?;
            revoke_prefix(core, arg)
        }
        "tidy" => {
            expect_op(req, &[Operation::Update])?;
            Ok(Response::empty())
        }
        _ => Err(super::not_found(&format!("leases/{rest}"))),
    }
}
