//! The mount tables (secrets engines and auth methods): persisted through the barrier as one
//! JSON document each, held in memory as an immutable snapshot behind an `RwLock<Arc<..>>` so
//! request routing takes a read lock for a pointer copy and never blocks on a writer's I/O.

use crate::core::error::{CoreError, CoreResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MountEntry {
    /// Always ends with `/`.
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    pub uuid: String,
    pub accessor: String,
    #[serde(default)]
    pub config: MountConfig,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub local: bool,
    #[serde(default)]
    pub seal_wrap: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MountConfig {
    /// Seconds; 0 = system default.
    #[serde(default)]
    pub default_lease_ttl: u64,
    #[serde(default)]
    pub max_lease_ttl: u64,
    #[serde(default)]
    pub force_no_cache: bool,
    #[serde(default)]
    pub listing_visibility: String,
    #[serde(default)]
    pub audit_non_hmac_request_keys: Vec<String>,
    #[serde(default)]
    pub audit_non_hmac_response_keys: Vec<String>,
    #[serde(default)]
    pub passthrough_request_headers: Vec<String>,
}

impl MountEntry {
    pub fn new(path: &str, kind: &str, description: &str, accessor_prefix: &str) -> Self {
        let uuid = crate::util::ids::uuid();
        let accessor = format!("{accessor_prefix}_{}", &uuid[..8]);
        MountEntry {
            path: normalize(path),
            kind: kind.to_owned(),
            description: description.to_owned(),
            uuid,
            accessor,
            config: MountConfig::default(),
            options: BTreeMap::new(),
            local: false,
            seal_wrap: false,
        }
    }

    /// KV version from options (`"1"` unless set to `"2"`).
    pub fn kv_version(&self) -> u8 {
        match self.options.get("version").map(String::as_str) {
            Some("2") => 2,
            _ => 1,
        }
    }
}

/// Adds the trailing slash Vault stores mount paths with.
pub fn normalize(path: &str) -> String {
    let p = path.trim_matches('/');
    let mut s = String::with_capacity(p.len() + 1);
    s.push_str(p);
    s.push('/');
    s
}

/// One mount table (secrets or auth). Cheap to read; writers replace the snapshot.
pub struct MountTable {
    entries: RwLock<Arc<Vec<MountEntry>>>,
    /// Serialises read-modify-write edits so concurrent mounts cannot lose each other.
    pub edit: Mutex<()>,
    /// Barrier key the table persists at.
    pub storage_key: &'static str,
}

impl MountTable {
    pub fn new(storage_key: &'static str) -> Self {
        MountTable { entries: RwLock::new(Arc::new(Vec::new())), edit: Mutex::new(()), storage_key }
    }

    pub fn snapshot(&self) -> Arc<Vec<MountEntry>> {
        match self.entries.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Holds the edit lock for a read-modify-write of the table.
    pub fn lock_edit(&self) -> std::sync::MutexGuard<'_, ()> {
        match self.edit.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn replace(&self, entries: Vec<MountEntry>) {
        let new = Arc::new(entries);
        match self.entries.write() {
            Ok(mut g) => *g = new,
            Err(p) => *p.into_inner() = new,
        }
    }

    /// Longest mount whose path prefixes `path` (also matching `path` without the trailing
    /// slash, e.g. `secret` for mount `secret/`). Returns the entry and the remainder.
    pub fn route<'p>(
        entries: &'p [MountEntry],
        path: &'p str,
    ) -> Option<(&'p MountEntry, &'p str)> {
        let mut best: Option<(&MountEntry, &str)> = None;
        for e in entries {
            let rest = if let Some(rest) = path.strip_prefix(e.path.as_str()) {
                rest
            } else if path.len() + 1 == e.path.len() && e.path.starts_with(path) {
                ""
            } else {
                continue;
            };
            if best.map(|(b, _)| e.path.len() > b.path.len()).unwrap_or(true) {
                best = Some((e, rest));
            }
        }
        best
    }
}

/// Validates a user-supplied mount path.
pub fn validate_mount_path(path: &str) -> CoreResult<String> {
    let p = normalize(path);
    if p == "/" {
        return Err(CoreError::bad("mount path must not be empty"));
    }
    if p.split('/').any(|seg| seg == "." || seg == "..")
        || p.contains("//")
        || p.chars().any(|c| c.is_control() || c == '*' || c == '+')
    {
        return Err(CoreError::bad(format!("invalid mount path {path:?}")));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(mounts: &[&str], path: &str, expect: Option<(&str, &str)>) {
        let entries: Vec<MountEntry> =
            mounts.iter().map(|m| MountEntry::new(m, "kv", "", "kv")).collect();
        let got = MountTable::route(&entries, path).map(|(e, r)| (e.path.as_str(), r));
        assert_eq!(got, expect, "mounts {mounts:?} path {path:?}");
    }

    #[test]
    fn routing() {
        check(&["secret/"], "secret/data/a", Some(("secret/", "data/a")));
        check(&["secret/"], "secret", Some(("secret/", "")));
        check(&["secret/"], "secretx/a", None);
        check(&["a/", "a/b/"], "a/b/c", Some(("a/b/", "c")));
        check(&["a/b/", "a/"], "a/bc", Some(("a/", "bc")));
        check(&[], "x", None);
    }

    #[test]
    fn mount_paths() {
        assert_eq!(validate_mount_path("kv").unwrap(), "kv/");
        assert_eq!(validate_mount_path("/a/b/").unwrap(), "a/b/");
        assert!(validate_mount_path("").is_err());
        assert!(validate_mount_path("a/../b").is_err());
        assert!(validate_mount_path("a//b").is_err());
    }
}
