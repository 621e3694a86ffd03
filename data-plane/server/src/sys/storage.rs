//! `sys/storage/raft/snapshot`: save (GET, the barrier's checksummed encrypted stream) and
//! restore (POST, binary body; verified before anything changes). Both need sudo.

use super::expect_op;
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::Core;

pub fn handle(core: &Core, caller: &Caller, req: &Request, path: &str) -> CoreResult<Response> {
    if path != "raft/snapshot" && path != "raft/snapshot-force" {
        return Err(super::not_found(&format!("storage/{path}")));
    }
    if !caller.has_sudo("sys/storage/raft/snapshot") {
        return Err(CoreError::PermissionDenied);
    }
    match req.op {
        Operation::Read if path == "raft/snapshot" => {
            let mut out = Vec::new();
            core.barrier.snapshot(&mut out)?;
            Ok(Response::bytes("application/octet-stream", out))
        }
        _ => {
            expect_op(req, &[Operation::Update])?;
            let body = req.raw_body.as_deref().unwrap_or_default();
            if body.is_empty() {
                return Err(CoreError::bad("snapshot body is empty"));
            }
            let mut input = body;
            core.restore(&mut input)?;
            Ok(Response::empty())
        }
    }
}
