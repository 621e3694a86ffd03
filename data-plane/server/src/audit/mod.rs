//! Audit devices: every request that reaches the unsealed core is written to each enabled
//! device before it runs, and its response after, as Vault's JSON audit entries with secrets
//! HMAC'd under a per-device salt.
//!
//! Fail closed, as Vault: with at least one device enabled, a request that no device could
//! record is refused (500, generic message) before anything executes, and a response no device
//! could record is not returned. With no device enabled the broker costs one read lock and an
//! `Arc` clone per request.
//!
//! The device table (config + salt) is persisted through the barrier at `core/audit` and
//! re-opened on unseal; devices are dropped (files closed) on seal.

mod device;
mod entry;
pub mod hash;
mod signal;

use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::MountTable;
use crate::core::request::{Request, Response};
use crate::core::router::Caller;
use crate::core::Core;
use coffer_barrier::Barrier;
pub use device::{Device, DeviceConfig};
use serde_json::{Map, Value};
pub use signal::reopen_on_sighup;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// Barrier key of the persisted device table.
const TABLE_KEY: &str = "core/audit";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Bad configuration from the client (400); the message is shown to the client.
    #[error("{0}")]
    Invalid(String),
    /// Stored state does not decode.
    #[error("stored audit state is corrupt: {0}")]
    Corrupt(&'static str),
}

impl From<AuditError> for CoreError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Invalid(m) => CoreError::BadRequest(m),
            other => CoreError::internal(other),
        }
    }
}

type Devices = Arc<Vec<Arc<Device>>>;

/// A device to enable (`sys/audit/<path>` fields).
pub struct NewDevice<'a> {
    pub path: &'a str,
    pub kind: &'a str,
    pub description: &'a str,
    pub options: BTreeMap<String, String>,
    pub local: bool,
}

/// The enabled devices: an immutable snapshot swapped on enable/disable, so logging never
/// waits on a table edit.
#[derive(Default)]
pub struct Broker {
    devices: RwLock<Devices>,
    /// Serialises read-modify-write edits of the persisted table.
    edit: Mutex<()>,
}

impl Broker {
    fn snapshot(&self) -> Devices {
        Arc::clone(&self.devices.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn replace(&self, devices: Vec<Arc<Device>>) {
        *self.devices.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(devices);
    }

    /// Closes every device (on seal).
    pub fn clear(&self) {
        self.replace(Vec::new());
    }

    /// Reopens every file device at its configured path (log rotation, Vault's SIGHUP
    /// behaviour). In-flight requests finish on the old handles. A device whose file cannot
    /// be reopened keeps its old handle, so rotation trouble never stops auditing.
    pub fn reopen(&self) {
        let _g = self.edit.lock().unwrap_or_else(PoisonError::into_inner);
        let next = self
            .snapshot()
            .iter()
            .map(|d| match Device::open(d.config.clone(), false) {
                Ok(n) if !n.is_broken() => Arc::new(n),
                _ => {
                    tracing::error!(device = %d.config.path, "audit log could not be reopened; still writing to the old file");
                    Arc::clone(d)
                }
            })
            .collect();
        self.replace(next);
    }

    fn stored(barrier: &Barrier) -> CoreResult<Vec<DeviceConfig>> {
        match barrier.get(TABLE_KEY)? {
            None => Ok(Vec::new()),
            Some(b) => Ok(serde_json::from_slice(&b)?),
        }
    }

    /// Re-opens the persisted devices (after unseal). A device whose file cannot be opened
    /// stays enabled but fails every write, so requests fail closed until it is fixed.
    pub fn load(&self, barrier: &Barrier) -> CoreResult<()> {
        let _g = self.edit.lock().unwrap_or_else(PoisonError::into_inner);
        let mut devices = Vec::new();
        for cfg in Self::stored(barrier)? {
            let path = cfg.path.clone();
            match Device::open(cfg, false) {
                Ok(d) => devices.push(Arc::new(d)),
                Err(e) => {
                    tracing::error!(device = %path, error = %e, "audit device cannot be opened")
                }
            }
        }
        self.replace(devices);
        Ok(())
    }

    /// Enables a device at `path` (normalised with a trailing slash) and persists it.
    ///
    /// The new device's first line is the response entry of the request enabling it, written
    /// before anything is persisted: a device that cannot write (full disk, `/dev/full`, a
    /// broken pipe) is refused up front rather than enabled and then failing every request.
    pub fn enable(
        &self,
        barrier: &Barrier,
        new: NewDevice<'_>,
        req: &Request,
        caller: &Caller,
    ) -> CoreResult<()> {
        let path = normalize(new.path)?;
        let _g = self.edit.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stored = Self::stored(barrier)?;
        if stored.iter().any(|d| d.path == path) {
            return Err(CoreError::bad(format!("path already in use: {path}")));
        }
        let mut salt = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
        let cfg = DeviceConfig {
            path,
            kind: new.kind.to_owned(),
            description: new.description.to_owned(),
            options: new.options,
            local: new.local,
            salt: hex::encode(salt),
        };
        zeroize::Zeroize::zeroize(&mut salt);
        let device = Device::open(cfg.clone(), true)?;
        let id = crate::util::ids::uuid();
        let ctx = entry::Ctx { id: &id, req, caller: Some(caller), mount: None };
        let first = entry::parts(&device, &ctx)
            .and_then(|parts| entry::response(&device, &parts, &Ok(Response::empty())))
            .map_err(CoreError::internal)?;
        if let Err(e) = device.write_entry(&first) {
            tracing::warn!(device = %cfg.path, error = %e, "audit device failed its first write");
            return Err(CoreError::bad(format!(
                "audit device {} cannot be written to; not enabled",
                cfg.path
            )));
        }
        stored.push(cfg);
        barrier.put(TABLE_KEY, &serde_json::to_vec(&stored)?)?;
        let mut next = self.snapshot().as_ref().clone();
        next.push(Arc::new(device));
        self.replace(next);
        Ok(())
    }

    /// Disables the device at `path`; absent devices are not an error (idempotent, as Vault).
    pub fn disable(&self, barrier: &Barrier, path: &str) -> CoreResult<()> {
        let path = normalize(path)?;
        let _g = self.edit.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stored = Self::stored(barrier)?;
        let before = stored.len();
        stored.retain(|d| d.path != path);
        if stored.len() != before {
            barrier.put(TABLE_KEY, &serde_json::to_vec(&stored)?)?;
        }
        let next: Vec<Arc<Device>> =
            self.snapshot().iter().filter(|d| d.config.path != path).cloned().collect();
        self.replace(next);
        Ok(())
    }

    /// `sys/audit` listing: path -> {type, description, options, local, path}.
    pub fn list(&self) -> Map<String, Value> {
        self.snapshot()
            .iter()
            .map(|d| {
                let c = &d.config;
                let v = serde_json::json!({
                    "type": c.kind,
                    "description": c.description,
                    "options": c.options,
                    "local": c.local,
                    "path": c.path,
                });
                (c.path.clone(), v)
            })
            .collect()
    }

    /// `sys/audit-hash/<path>`: the device's HMAC of `input` (hashed even with `log_raw`,
    /// as in Vault).
    pub fn hash(&self, path: &str, input: &str) -> CoreResult<String> {
        let path = normalize(path)?;
        self.snapshot()
            .iter()
            .find(|d| d.config.path == path)
            .map(|d| d.hasher.hash(input))
            .ok_or_else(|| CoreError::bad("unknown audit backend"))
    }

    /// Logs the request entry to every device, before the request runs. Fails (and the
    /// request must not run) when devices are enabled but none accepted the entry.
    pub fn begin(&self, core: &Core, req: &Request) -> CoreResult<Scope> {
        let devices = self.snapshot();
        if devices.is_empty() || !audited(&req.path) {
            return Ok(Scope { devices: Arc::default(), parts: Vec::new() });
        }
        // The token is resolved here only for the entry's `auth` block; the request pipeline
        // still authenticates on its own. Costs one cached lookup, and only with audit on.
        let caller = core.authenticate(req).ok();
        let id = crate::util::ids::uuid();
        let (table, rest, prefix) = match req.path.strip_prefix("auth/") {
            Some(rest) => (core.auth_mounts.snapshot(), rest, "auth/"),
            None => (core.mounts.snapshot(), req.path.as_str(), ""),
        };
        let mount = MountTable::route(&table, rest)
            .map(|(entry, _)| entry::Mount { entry, point: format!("{prefix}{}", entry.path) });
        let ctx = entry::Ctx { id: &id, req, caller: caller.as_ref(), mount };
        let parts = devices
            .iter()
            .map(|d| entry::parts(d, &ctx))
            .collect::<serde_json::Result<Vec<_>>>()
            .map_err(CoreError::internal)?;
        let scope = Scope { devices, parts };
        scope.broadcast("request", |i, _| entry::request(&scope.parts[i]))?;
        Ok(scope)
    }
}

/// Endpoints Vault serves outside its logical request path and so never audits: seal
/// lifecycle and health (they work sealed or without a token). Unlike Vault, root generation
/// IS audited: the operator can mint a root token with the KMS-held recovery shares, and the
/// customer's audit log must show each time (shares, OTP and encoded token only as HMACs).
fn audited(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("sys/") else { return true };
    !matches!(rest, "init" | "seal-status" | "unseal" | "health" | "leader")
}

/// One request's audit context: the devices that saw its request entry also get its
/// response entry (even if the table changes in between), reusing the rendered blocks.
pub struct Scope {
    devices: Devices,
    parts: Vec<entry::Parts>,
}

impl Scope {
    /// Logs the response entry; the result is replaced by a generic 500 when devices are
    /// enabled but none accepted it.
    pub fn finish(self, result: CoreResult<Response>) -> CoreResult<Response> {
        if self.devices.is_empty() {
            return result;
        }
        // Devices HMAC each field, so pre-serialised data is parsed back into values here
        // (only when auditing is on; the unaudited hot path never pays for it).
        let result = result.and_then(|mut r| {
            r.materialize().map_err(CoreError::internal)?;
            Ok(r)
        });
        self.broadcast("response", |i, d| entry::response(d, &self.parts[i], &result))?;
        result
    }

    fn broadcast(
        &self,
        kind: &str,
        render: impl Fn(usize, &Device) -> serde_json::Result<Vec<u8>>,
    ) -> CoreResult<()> {
        let mut ok = 0usize;
        for (i, d) in self.devices.iter().enumerate() {
            let written =
                render(i, d).map_err(std::io::Error::other).and_then(|bytes| d.write_entry(&bytes));
            match written {
                Ok(()) => ok += 1,
                Err(e) => {
                    tracing::error!(device = %d.config.path, error = %e, entry = kind, "audit write failed")
                }
            }
        }
        if ok == 0 {
            return Err(CoreError::internal(format!("no audit device could log the {kind}")));
        }
        Ok(())
    }
}

fn normalize(path: &str) -> CoreResult<String> {
    let p = path.trim_matches('/');
    if p.is_empty() || p.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(CoreError::bad("invalid audit device path"));
    }
    Ok(format!("{p}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unaudited_paths() {
        for (path, expect) in [
            ("sys/health", false),
            ("sys/seal-status", false),
            ("sys/init", false),
            ("sys/unseal", false),
            ("sys/generate-root/update", true),
            ("sys/generate-root/attempt", true),
            ("sys/mounts", true),
            ("sys/audit/x", true),
            ("sys/wrapping/unwrap", true),
            ("secret/data/health", true),
            ("auth/userpass/login/x", true),
        ] {
            assert_eq!(audited(path), expect, "{path}");
        }
    }

    #[test]
    fn device_paths() {
        for (path, expect) in [
            ("file", Some("file/")),
            ("/file/", Some("file/")),
            ("a/b", Some("a/b/")),
            ("", None),
            ("/", None),
            ("a//b", None),
            ("a/../b", None),
        ] {
            assert_eq!(normalize(path).ok().as_deref(), expect, "{path:?}");
        }
    }
}
