//! `sys/wrapping/*`: wrap, unwrap, lookup, rewrap. The mechanics live in `core::wrapping`.

use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::Core;
use crate::util::fields;

fn body_token(req: &Request) -> CoreResult<Option<&str>> {
    Ok(fields::opt_str(&req.data, "token")?.filter(|t| !t.is_empty()))
}

/// The unauthenticated forms: lookup, and unwrap presenting the wrapping token itself as the
/// request token. `None` when the request needs normal authentication.
pub fn unauthenticated(core: &Core, req: &Request, what: &str) -> CoreResult<Option<Response>> {
    if !matches!(req.op, Operation::Update | Operation::Create) {
        return Ok(None);
    }
    match what {
        "lookup" => {
            let t = body_token(req)?.ok_or_else(|| CoreError::bad("missing token"))?;
            if core.is_sealed() {
                return Err(CoreError::Sealed);
            }
            Ok(Some(Response::data(core.wrap_lookup(t)?)))
        }
        "unwrap" if body_token(req)?.is_none() => {
            if core.is_sealed() {
                return Err(CoreError::Sealed);
            }
            let t = req.token.as_ref().map(|t| t.0.as_str()).unwrap_or("");
            if t.is_empty() {
                return Err(CoreError::bad("missing token"));
            }
            Ok(Some(core.unwrap(t)?))
        }
        _ => Ok(None),
    }
}

pub fn handle(core: &Core, req: &Request, what: &str) -> CoreResult<Response> {
    if !matches!(req.op, Operation::Update | Operation::Create) {
        return Err(CoreError::UnsupportedOperation);
    }
    match what {
        "wrap" => {
            if req.data.is_empty() {
                return Err(CoreError::bad("empty wrapping payload"));
            }
            let resp = Response::data(req.data.clone());
            core.wrap(resp, req.wrap_ttl.unwrap_or(300), "sys/wrapping/wrap")
        }
        "unwrap" => {
            let t = body_token(req)?.ok_or_else(|| CoreError::bad("missing token"))?;
            core.unwrap(t)
        }
        "rewrap" => {
            let t = body_token(req)?.ok_or_else(|| CoreError::bad("missing token"))?;
            core.rewrap(t)
        }
        "lookup" => Err(CoreError::bad("missing token")),
        _ => Err(super::not_found(&format!("wrapping/{what}"))),
    }
}
