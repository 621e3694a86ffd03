//! Authentication: the token store (every request's identity) and login methods that mint
//! tokens (userpass, approle). Login endpoints run before authentication; everything else
//! under `auth/` is administered with a token like any other path.

pub mod approle;
pub mod token;
pub mod token_params;
pub mod userpass;

use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::{MountEntry, MountTable};
use crate::core::request::{Request, Response};
use crate::core::router::Caller;
use crate::core::storage::View;
use crate::core::Core;

fn view<'a>(core: &'a Core, mount: &MountEntry) -> View<'a> {
    View::new(&core.barrier, format!("auth/{}/", mount.uuid))
}

fn not_found(path: &str) -> CoreError {
    CoreError::NotFound(Some(format!("no handler for route \"auth/{path}\"")))
}

/// Serves login requests (`auth/<userpass>/login/<user>`, `auth/<approle>/login`); `None` when
/// the request is not a login.
pub fn login(core: &Core, req: &Request) -> CoreResult<Option<Response>> {
    let Some(path) = req.path.strip_prefix("auth/") else { return Ok(None) };
    let mounts = core.auth_mounts.snapshot();
    let Some((mount, rest)) = MountTable::route(&mounts, path) else { return Ok(None) };
    let mut resp = match (mount.kind.as_str(), rest.split_once('/')) {
        ("userpass", Some(("login", user))) if !user.is_empty() => {
            userpass::login(core, mount, &view(core, mount), req, user)?
        }
        ("approle", None) if rest == "login" => {
            approle::login(core, mount, &view(core, mount), req)?
        }
        _ => return Ok(None),
    };
    resp.mount_type.clone_from(&mount.kind);
    Ok(Some(resp))
}

/// Authenticated `auth/<mount>/...` requests.
pub fn handle(core: &Core, caller: &Caller, req: &Request, path: &str) -> CoreResult<Response> {
    if let Some(rest) = path.strip_prefix("token/") {
        let mut resp = token::handlers::handle(core, caller, req, rest)?;
        resp.mount_type = "token".into();
        return Ok(resp);
    }
    let mounts = core.auth_mounts.snapshot();
    let (mount, rest) = MountTable::route(&mounts, path).ok_or_else(|| not_found(path))?;
    let v = view(core, mount);
    let mut resp = match mount.kind.as_str() {
        "userpass" => userpass::handle(&v, req, rest),
        "approle" => approle::handle(&v, req, rest),
        _ => Err(not_found(path)),
    }?;
    resp.mount_type.clone_from(&mount.kind);
    Ok(resp)
}
