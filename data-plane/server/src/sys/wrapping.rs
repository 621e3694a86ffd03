//! `sys/wrapping/*`: wrap arbitrary data, look up, unwrap and rewrap wrapping tokens. The
//! mechanics live in `core::wrapping`; this module maps Vault's fields and decides which
//! token a request means (the `token` field, or the request's own token when it is a
//! wrapping token).

use super::expect_op;
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::wrapping::INVALID_WRAPPING_TOKEN;
use crate::core::Core;
use crate::util::fields;

fn body_token(req: &Request) -> CoreResult<Option<&str>> {
    Ok(fields::opt_str(&req.data, "token")?.map(str::trim).filter(|t| !t.is_empty()))
}

/// Requests served before authentication and ACL: `lookup` (Vault lets anyone holding a
/// wrapping token inspect it, no other token needed) and `unwrap` authorised by the wrapping
/// token itself. The latter must bypass the normal flow because spending the single use
/// would revoke the token, and its cubbyhole, before the unwrap could read it.
pub fn pre_auth(
    core: &Core,
    req: &Request,
    caller: Option<&Caller>,
) -> CoreResult<Option<Response>> {
    match req.path.as_str() {
        "sys/wrapping/lookup" => {
            expect_op(req, &[Operation::Update, Operation::Read])?;
            let token = match body_token(req)? {
                Some(t) => t,
                None => req
                    .token
                    .as_ref()
                    .map(|t| t.0.as_str())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| CoreError::bad(INVALID_WRAPPING_TOKEN))?,
            };
            Ok(Some(Response::data(core.wrapping_lookup(token)?)))
        }
        "sys/wrapping/unwrap" if body_token(req)?.is_none() => {
            let Some(c) = caller.filter(|c| Core::is_wrapping_token(&c.entry)) else {
                return Ok(None);
            };
            expect_op(req, &[Operation::Update])?;
            Ok(Some(Response::raw(200, Some(core.unwrap(&c.id)?))))
        }
        _ => Ok(None),
    }
}

/// Authenticated `sys/wrapping/<what>`.
pub fn handle(core: &Core, req: &Request, what: &str) -> CoreResult<Response> {
    expect_op(req, &[Operation::Update])?;
    match what {
        // The payload is the request body itself; the pipeline wraps it with the request's
        // wrap TTL, which Vault requires here.
        "wrap" => {
            if req.wrap_ttl.is_none() {
                return Err(CoreError::bad("wrapping information was nil; wrapping requires a TTL"));
            }
            if req.data.is_empty() {
                return Err(CoreError::bad("empty request body"));
            }
            Ok(Response::data(req.data.clone()))
        }
        "unwrap" => {
            let token = body_token(req)?.ok_or_else(|| CoreError::bad(INVALID_WRAPPING_TOKEN))?;
            Ok(Response::raw(200, Some(core.unwrap(token)?)))
        }
        "rewrap" => {
            let token = body_token(req)?.ok_or_else(|| CoreError::bad(INVALID_WRAPPING_TOKEN))?;
            core.rewrap(token)
        }
        "lookup" => {
            let token = body_token(req)?.ok_or_else(|| CoreError::bad(INVALID_WRAPPING_TOKEN))?;
            Ok(Response::data(core.wrapping_lookup(token)?))
        }
        _ => Err(super::not_found(&format!("wrapping/{what}"))),
    }
}
