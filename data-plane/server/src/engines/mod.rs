//! Secrets engines, selected by mount type. Each engine sees only a storage view scoped to its
//! mount (by UUID) and the path below the mount.

pub mod kv;
pub mod transit;

use crate::auth::token::store::CUBBYHOLE_PREFIX;
use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::MountEntry;
use crate::core::request::{Request, Response};
use crate::core::router::Caller;
use crate::core::storage::View;
use crate::core::Core;

fn mount_view<'a>(core: &'a Core, mount: &MountEntry) -> View<'a> {
    View::new(&core.barrier, format!("logical/{}/", mount.uuid))
}

pub fn handle(
    core: &Core,
    caller: &Caller,
    mount: &MountEntry,
    req: &Request,
    rest: &str,
) -> CoreResult<Response> {
    match mount.kind.as_str() {
        "kv" => {
            let view = mount_view(core, mount);
            if mount.kv_version() == 2 {
                kv::v2::handle(&view, &core.kv_memo, mount, req, rest)
            } else {
                kv::v1::handle(&view, mount, req, rest, core.config.default_lease_ttl)
            }
        }
        // A token's cubbyhole is KV v1 scoped to that token, without leases, and is destroyed
        // with the token.
        "cubbyhole" => {
            let view =
                View::new(&core.barrier, format!("{CUBBYHOLE_PREFIX}{}/", caller.entry.hash));
            let mut resp = kv::v1::handle(&view, mount, req, rest, 0)?;
            resp.lease_duration = 0;
            Ok(resp)
        }
        "transit" => {
            let ctx = transit::Ctx { view: mount_view(core, mount), cache: &core.transit, mount };
            transit::handle(&ctx, req, rest)
        }
        _ => Err(CoreError::NotFound(Some(format!("no handler for route \"{}\"", req.path)))),
    }
}

/// Existence check for ACL create-vs-update decisions.
pub fn exists(core: &Core, mount: &MountEntry, rest: &str) -> CoreResult<bool> {
    match mount.kind.as_str() {
        "kv" if mount.kv_version() == 2 => kv::v2::exists(&mount_view(core, mount), rest),
        "kv" => kv::v1::exists(&mount_view(core, mount), rest),
        "transit" => {
            let ctx = transit::Ctx { view: mount_view(core, mount), cache: &core.transit, mount };
            transit::exists(&ctx, rest)
        }
        _ => Ok(true),
    }
}
