//! The `sys/` API, one module per area. `unauthenticated` serves the endpoints Vault answers
//! without a token (and while sealed); `handle` serves the rest after authentication and ACL.

mod audit;
mod capabilities;
pub mod generate_root;
mod leases;
mod metrics;
mod mounts;
mod policies;
mod remount;
mod seal;
mod storage;
mod ui_mounts;
mod wrapping;

use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::Core;

/// Endpoints that need no token: init, seal-status, unseal, health, leader.
pub fn unauthenticated(core: &Core, path: &str, req: &Request) -> CoreResult<Option<Response>> {
    let resp = match path {
        "init" => seal::init(core, req)?,
        "seal-status" => seal::seal_status(core)?,
        "unseal" => seal::unseal(core, req)?,
        "health" => seal::health(core, req)?,
        "leader" => seal::leader(core)?,
        "generate-root/attempt" => generate_root::attempt(core, req)?,
        "generate-root/update" => generate_root::update(core, req)?,
        p if p == "internal/ui/mounts" || p.starts_with("internal/ui/mounts/") => {
            ui_mounts::handle(core, req, &p["internal/ui/mounts".len()..])?
        }
        p if p.starts_with("wrapping/") => return wrapping::unauthenticated(core, req, &p[9..]),
        _ => return Ok(None),
    };
    Ok(Some(resp))
}

pub fn handle(core: &Core, caller: &Caller, req: &Request, path: &str) -> CoreResult<Response> {
    let (head, tail) = path.split_once('/').unwrap_or((path, ""));
    match head {
        "seal" | "step-down" | "rotate" | "key-status" => {
            seal::authenticated(core, caller, req, head)
        }
        "mounts" => mounts::handle(core, caller, req, tail, mounts::Kind::Secrets),
        "auth" => mounts::handle(core, caller, req, tail, mounts::Kind::Auth),
        "policy" => policies::legacy(core, req, tail),
        "policies" => match tail.split_once('/') {
            Some(("acl", name)) => policies::acl(core, req, name),
            None if tail == "acl" => policies::acl(core, req, ""),
            _ => Err(not_found(path)),
        },
        "storage" => storage::handle(core, caller, req, tail),
        "remount" => remount::handle(core, req, tail),
        "wrapping" => wrapping::handle(core, req, tail),
        "leases" => leases::handle(core, caller, req, tail),
        "revoke" | "renew" | "revoke-prefix" | "revoke-force" => {
            leases::handle(core, caller, req, path)
        }
        "audit" => audit::handle(core, caller, req, tail),
        "audit-hash" => audit::hash(core, caller, req, tail),
        "metrics" if tail.is_empty() => metrics::handle(core, req),
        // sys/tools/{hash,random}: the same keyless helpers transit offers.
        "tools" => match tail.split_once('/').unwrap_or((tail, "")) {
            ("hash", rest) => crate::engines::transit::tools_hash(req, rest),
            ("random", rest) => crate::engines::transit::tools_random(req, rest),
            _ => Err(not_found(path)),
        },
        "capabilities" | "capabilities-self" | "capabilities-accessor" if tail.is_empty() => {
            capabilities::handle(core, caller, req, head)
        }
        _ => Err(not_found(path)),
    }
}

/// `sys/metrics` for listeners configured with `unauthenticated_metrics_access`.
pub fn public_metrics(core: &Core, req: &Request) -> CoreResult<Response> {
    if core.is_sealed() {
        return Err(CoreError::Sealed);
    }
    metrics::handle(core, req)
}

pub(crate) fn not_found(path: &str) -> CoreError {
    CoreError::NotFound(Some(format!("unsupported path sys/{path}")))
}

/// Fails with 405 unless the operation is one of `allowed`.
pub(crate) fn expect_op(req: &Request, allowed: &[Operation]) -> CoreResult<()> {
    if allowed.contains(&req.op)
        || (req.op == Operation::Create && allowed.contains(&Operation::Update))
    {
        Ok(())
    } else {
        Err(CoreError::UnsupportedOperation)
    }
}
