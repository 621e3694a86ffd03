//! Authentication: the token store (every request's identity) and, on top of it, login
//! methods that mint tokens.

pub mod token;

use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Request, Response};
use crate::core::router::Caller;
use crate::core::Core;

/// Login endpoints run before authentication (they are how a caller gets a token). Returns
/// `None` when the request is not a login.
pub fn login(_core: &Core, _req: &Request) -> CoreResult<Option<Response>> {
    Ok(None)
}

/// Authenticated `auth/<mount>/...` requests.
pub fn handle(core: &Core, caller: &Caller, req: &Request, path: &str) -> CoreResult<Response> {
    let mut resp = match path.strip_prefix("token/") {
        Some(rest) => token::handlers::handle(core, caller, req, rest)?,
        None => {
            return Err(CoreError::NotFound(Some(format!("no handler for route \"auth/{path}\""))))
        }
    };
    resp.mount_type = "token".into();
    Ok(resp)
}
