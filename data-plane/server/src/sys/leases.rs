//! `sys/leases/*` (and the legacy `sys/revoke*`/`sys/renew`): the leases coffer issues are the
//! ones behind expiring tokens, indexed by creation path. Revoking a lease revokes its token
//! tree; renewing goes through `auth/token/renew*`, as Vault requires for tokens.

use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::Core;
use crate::obj;
use crate::util::{fields, now_unix, rfc3339};
use serde_json::Value;

fn lease_id<'a>(req: &'a Request, tail: &'a str) -> CoreResult<&'a str> {
    match fields::opt_str(&req.data, "lease_id")?.filter(|s| !s.is_empty()) {
        Some(id) => Ok(id),
        None if !tail.is_empty() => Ok(tail),
        None => Err(CoreError::bad("missing lease id")),
    }
}

fn dir(prefix: &str) -> String {
    let p = prefix.trim_start_matches('/');
    if p.is_empty() || p.ends_with('/') {
        p.to_owned()
    } else {
        format!("{p}/")
    }
}

/// `what` is the part after `sys/leases/` (or the legacy top-level name).
pub fn handle(core: &Core, caller: &Caller, req: &Request, what: &str) -> CoreResult<Response> {
    let (head, tail) = what.split_once('/').unwrap_or((what, ""));
    let write = matches!(req.op, Operation::Update | Operation::Create);
    match head {
        "lookup" if req.op == Operation::List => {
            if !caller.has_sudo(&req.path) {
                return Err(CoreError::PermissionDenied);
            }
            crate::engines::kv::list_response(core.tokens.list_leases(&core.barrier, &dir(tail))?)
        }
        "lookup" if write => {
            let id = lease_id(req, tail)?;
            let e = core
                .tokens
                .lease(&core.barrier, id)?
                .ok_or_else(|| CoreError::bad("invalid lease"))?;
            let now = now_unix();
            Ok(Response::data(obj! {
                "id" => id,
                "issue_time" => rfc3339(e.issue_time),
                "expire_time" => e.expire_time.map(rfc3339),
                "last_renewal" => Value::Null,
                "renewable" => e.renewable,
                "ttl" => e.remaining_ttl(now),
            }))
        }
        "renew" if write => {
            let id = lease_id(req, tail)?;
            if core.tokens.lease(&core.barrier, id)?.is_some() {
                return Err(CoreError::bad(
                    "tokens cannot be renewed through this endpoint; use auth/token/renew",
                ));
            }
            Err(CoreError::bad("lease not found"))
        }
        "revoke" if write || req.op == Operation::Delete => {
            let id = lease_id(req, tail)?;
            if let Some(e) = core.tokens.lease(&core.barrier, id)? {
                core.tokens.revoke_tree(&core.barrier, &e.hash)?;
            }
            Ok(Response::empty())
        }
        // Vault's route needs a non-empty prefix; an empty one must never mean "everything".
        "revoke-prefix" | "revoke-force" if tail.trim_matches('/').is_empty() => {
            Err(super::not_found(&format!("leases/{what}")))
        }
        "revoke-prefix" | "revoke-force" if write => {
            if !caller.has_sudo(&req.path) {
                return Err(CoreError::PermissionDenied);
            }
            core.tokens.revoke_lease_prefix(&core.barrier, &dir(tail))?;
            Ok(Response::empty())
        }
        "tidy" if write => Ok(Response::empty()),
        "lookup" | "renew" | "revoke" | "revoke-prefix" | "revoke-force" | "tidy" => {
            Err(CoreError::UnsupportedOperation)
        }
        _ => Err(super::not_found(&format!("leases/{what}"))),
    }
}
