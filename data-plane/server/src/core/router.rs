//! Request handling: the one path every request takes through the core — unauthenticated sys
//! endpoints, the seal check, token authentication, ACL enforcement, use-count accounting,
//! then dispatch to sys, auth or the mounted engine.

use super::error::{CoreError, CoreResult};
use super::mounts::{MountEntry, MountTable};
use super::policy::AclHandle;
use super::request::{Operation, Request, Response};
use super::Core;
use crate::auth::token::TokenEntry;
use crate::engines;
use std::sync::Arc;

/// The authenticated caller of a request.
pub struct Caller {
    /// The presented token id (secret; never logged).
    pub id: String,
    pub entry: Arc<TokenEntry>,
    pub acl: Arc<AclHandle>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller").field("accessor", &self.entry.accessor).finish_non_exhaustive()
    }
}

impl Caller {
    /// Whether the caller may use sudo-protected functionality at `path`.
    pub fn has_sudo(&self, path: &str) -> bool {
        self.acl.has_sudo(path)
    }
}

impl Core {
    /// Handles one request end to end. Audit devices (`crate::audit`) see the request before
    /// anything runs and the final (possibly wrapped) response; if none can, it fails closed.
    pub fn handle(&self, req: Request) -> CoreResult<Response> {
        let audit = self.audit.begin(self, &req)?;
        audit.finish(self.handle_unaudited(req))
    }

    fn handle_unaudited(&self, req: Request) -> CoreResult<Response> {
        let wrap_ttl = req.wrap_ttl;
        let wrap_path = if wrap_ttl.is_some() { req.path.clone() } else { String::new() };
        let resp = self.handle_inner(req)?;
        match wrap_ttl {
            // Raw sys answers (health, init, ...) and empty responses are never wrapped.
            Some(ttl) if resp.raw.is_none() && !resp.is_empty() && resp.wrap_info.is_none() => {
                let mut resp = resp;
                resp.materialize().map_err(CoreError::internal)?;
                self.wrap(resp, ttl, &wrap_path)
            }
            _ => Ok(resp),
        }
    }

    fn handle_inner(&self, mut req: Request) -> CoreResult<Response> {
        super::metrics::Metrics::inc(&self.metrics.requests);
        if let Some(rest) = req.path.strip_prefix("sys/") {
            if let Some(resp) = crate::sys::unauthenticated(self, rest, &req)? {
                return Ok(resp);
            }
        }
        if self.barrier.is_sealed() {
            return Err(CoreError::Sealed);
        }
        if let Some(resp) = crate::auth::login(self, &req)? {
            super::metrics::Metrics::inc(&self.metrics.logins);
            return Ok(resp);
        }
        let caller = self.authenticate(&req)?;
        self.authorize(&caller, &mut req)?;
        self.tokens.spend_use(&self.barrier, &caller.entry)?;
        self.dispatch(&caller, &req)
    }

    /// Whether handling may block on disk (fsync'd writes, snapshots): such requests run on
    /// the blocking pool. Reads and transit's compute-only operations (encrypt, decrypt, sign,
    /// ...; they write only when an encrypt creates its key) run inline, sparing a thread
    /// handoff on the hot paths.
    pub fn may_block(&self, req: &Request) -> bool {
        if req.path.starts_with("sys/storage/") {
            return true;
        }
        if !req.op.is_write() {
            return false;
        }
        if req.op != Operation::Update {
            return true;
        }
        let mounts = self.mounts.snapshot();
        match MountTable::route(&mounts, &req.path) {
            Some((m, rest)) if m.kind == "transit" => !engines::transit::is_compute_only(rest),
            _ => true,
        }
    }

    /// Resolves the request's token; a missing, unknown or expired token is "permission
    /// denied", exactly like Vault.
    pub fn authenticate(&self, req: &Request) -> CoreResult<Caller> {
        let id = req.token.as_ref().map(|t| t.0.as_str()).unwrap_or("");
        if id.is_empty() {
            return Err(CoreError::PermissionDenied);
        }
        let entry =
            self.tokens.lookup_shared(&self.barrier, id)?.ok_or(CoreError::PermissionDenied)?;
        if !crate::util::cidr::allows(&entry.bound_cidrs, req.remote_addr.map(|a| a.ip())) {
            return Err(CoreError::PermissionDenied);
        }
        let acl = self.policies.acl(&self.barrier, &entry.policies)?;
        Ok(Caller { id: id.to_owned(), entry, acl })
    }

    /// ACL check. PUT/POST arrive as `Update`; when the policy distinguishes create from
    /// update for this path, the existence of the target decides (Vault's existence check).
    fn authorize(&self, caller: &Caller, req: &mut Request) -> CoreResult<()> {
        if caller.acl.is_root() {
            return Ok(());
        }
        if req.op == Operation::Update {
            let can_create = caller.acl.allows(&req.path, Operation::Create);
            let can_update = caller.acl.allows(&req.path, Operation::Update);
            if can_create != can_update && !self.exists(&req.path)? {
                req.op = Operation::Create;
            }
        }
        if caller.acl.authorize(&req.path, req.op, &req.data, req.wrap_ttl) {
            Ok(())
        } else {
            Err(CoreError::PermissionDenied)
        }
    }

    /// Whether a write to `path` would update existing data (for engines that can tell).
    fn exists(&self, path: &str) -> CoreResult<bool> {
        let mounts = self.mounts.snapshot();
        match MountTable::route(&mounts, path) {
            Some((m, rest)) => engines::exists(self, m, rest),
            None => Ok(true),
        }
    }

    fn dispatch(&self, caller: &Caller, req: &Request) -> CoreResult<Response> {
        if let Some(rest) = req.path.strip_prefix("sys/") {
            return crate::sys::handle(self, caller, req, rest);
        }
        if let Some(rest) = req.path.strip_prefix("auth/") {
            return crate::auth::handle(self, caller, req, rest);
        }
        let mounts = self.mounts.snapshot();
        let (mount, rest) = MountTable::route(&mounts, &req.path).ok_or_else(|| {
            CoreError::NotFound(Some(format!("no handler for route \"{}\"", req.path)))
        })?;
        let mut resp = engines::handle(self, caller, mount, req, rest)?;
        set_mount_type(&mut resp, mount);
        Ok(resp)
    }
}

fn set_mount_type(resp: &mut Response, mount: &MountEntry) {
    if resp.mount_type.is_empty() {
        resp.mount_type.clone_from(&mount.kind);
    }
}
