//! `sys/remount`: move a secrets engine (or `auth/` method) to a new path. Storage is keyed by
//! the mount's UUID, so moving is a mount-table edit; data, keys and leases-by-UUID follow.
//! Vault answers with a migration id and a status endpoint; ours completes synchronously.

use super::expect_op;
use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::{validate_mount_path, MountTable};
use crate::core::request::{Operation, Request, Response};
use crate::core::Core;
use crate::obj;
use crate::util::fields;

const PROTECTED: &[&str] = &["sys/", "cubbyhole/", "identity/", "token/"];

pub fn handle(core: &Core, req: &Request, tail: &str) -> CoreResult<Response> {
    if let Some(id) = tail.strip_prefix("status/") {
        expect_op(req, &[Operation::Read])?;
        return Ok(Response::data(obj! {
            "migration_id" => id,
            "migration_info" => obj! { "status" => "success" },
        }));
    }
    if !tail.is_empty() {
        return Err(super::not_found(&format!("remount/{tail}")));
    }
    expect_op(req, &[Operation::Update])?;
    let from =
        fields::opt_str(&req.data, "from")?.ok_or_else(|| CoreError::bad("'from' is required"))?;
    let to = fields::opt_str(&req.data, "to")?.ok_or_else(|| CoreError::bad("'to' is required"))?;
    let (table, from, to) = match (from.strip_prefix("auth/"), to.strip_prefix("auth/")) {
        (Some(f), Some(t)) => (&core.auth_mounts, validate_mount_path(f)?, validate_mount_path(t)?),
        (None, None) => (&core.mounts, validate_mount_path(from)?, validate_mount_path(to)?),
        _ => return Err(CoreError::bad("cannot move between secrets engines and auth methods")),
    };
    if PROTECTED.contains(&from.as_str())
        || ["sys/", "auth/", "cubbyhole/", "identity/"].iter().any(|r| to.starts_with(r))
    {
        return Err(CoreError::bad(format!("cannot remount {from:?} to {to:?}")));
    }
    move_entry(core, table, &from, &to)?;
    Ok(Response::data(obj! { "migration_id" => crate::util::ids::uuid() }))
}

fn move_entry(core: &Core, table: &MountTable, from: &str, to: &str) -> CoreResult<()> {
    let _guard = table.lock_edit();
    let mut entries = table.snapshot().as_ref().clone();
    if !entries.iter().any(|e| e.path == from) {
        return Err(CoreError::bad(format!("no mount at {from:?}")));
    }
    if entries
        .iter()
        .any(|e| e.path != from && (e.path.starts_with(to) || to.starts_with(e.path.as_str())))
    {
        return Err(CoreError::bad(format!("path is already in use at {to}")));
    }
    for e in entries.iter_mut().filter(|e| e.path == from) {
        e.path = to.to_owned();
    }
    core.save_table(table, entries)
}
