//! KV v2's persisted model. One record per secret holds its metadata and every retained
//! version, so reading any version is a single barrier get and a write is one atomic put
//! (under the key's stripe lock). Times are Unix nanoseconds, rendered as RFC 3339.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Vault's default when neither the key nor the mount sets max_versions.
pub const DEFAULT_MAX_VERSIONS: u64 = 10;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MountConfig {
    #[serde(default)]
    pub max_versions: u64,
    #[serde(default)]
    pub cas_required: bool,
    /// Seconds; 0 = never.
    #[serde(default)]
    pub delete_version_after: u64,
}

/// No Debug: it holds secret data.
#[derive(Clone, Serialize, Deserialize)]
pub struct Version {
    pub created: i64,
    /// When the version is (or will be) soft-deleted; 0 = not deleted.
    #[serde(default)]
    pub deletion: i64,
    #[serde(default)]
    pub destroyed: bool,
    /// `None` once destroyed.
    pub data: Option<Map<String, Value>>,
}

impl Version {
    pub fn is_deleted(&self, now: i64) -> bool {
        self.deletion != 0 && self.deletion <= now
    }
    pub fn is_live(&self, now: i64) -> bool {
        !self.destroyed && !self.is_deleted(now)
    }
    pub fn metadata(&self, number: u64, custom: &BTreeMap<String, String>) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("created_time".into(), fmt_time(self.created).into());
        m.insert("custom_metadata".into(), custom_value(custom));
        m.insert("deletion_time".into(), fmt_time(self.deletion).into());
        m.insert("destroyed".into(), self.destroyed.into());
        m.insert("version".into(), number.into());
        m
    }
}

/// No Debug: it holds secret data.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub created: i64,
    pub updated: i64,
    pub current_version: u64,
    pub oldest_version: u64,
    #[serde(default)]
    pub max_versions: u64,
    #[serde(default)]
    pub cas_required: bool,
    #[serde(default)]
    pub delete_version_after: u64,
    #[serde(default)]
    pub custom_metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub versions: BTreeMap<u64, Version>,
}

impl Record {
    pub fn effective_max_versions(&self, cfg: &MountConfig) -> u64 {
        if self.max_versions > 0 {
            self.max_versions
        } else if cfg.max_versions > 0 {
            cfg.max_versions
        } else {
            DEFAULT_MAX_VERSIONS
        }
    }

    fn effective_dva(&self, cfg: &MountConfig) -> u64 {
        if self.delete_version_after > 0 {
            self.delete_version_after
        } else {
            cfg.delete_version_after
        }
    }

    /// Adds a new version and trims the oldest ones beyond max_versions.
    pub fn push(&mut self, data: Map<String, Value>, cfg: &MountConfig, now: i64) -> u64 {
        let n = self.current_version + 1;
        let dva = self.effective_dva(cfg);
        let deletion = if dva > 0 {
            now.saturating_add(crate::util::secs(dva).saturating_mul(1_000_000_000))
        } else {
            0
        };
        self.versions
            .insert(n, Version { created: now, deletion, destroyed: false, data: Some(data) });
        if self.created == 0 {
            self.created = now;
        }
        self.updated = now;
        self.current_version = n;
        self.trim(cfg);
        n
    }

    /// Drops versions beyond max_versions (oldest first).
    pub fn trim(&mut self, cfg: &MountConfig) {
        let max = self.effective_max_versions(cfg) as usize;
        let mut trimmed = false;
        while self.versions.len() > max {
            let Some(first) = self.versions.keys().next().copied() else { break };
            self.versions.remove(&first);
            trimmed = true;
        }
        // Like Vault, oldest_version stays 0 until versions have actually been pruned.
        if trimmed {
            self.oldest_version = self.versions.keys().next().copied().unwrap_or(0);
        }
    }

    pub fn metadata(&self) -> Map<String, Value> {
        let mut versions = Map::new();
        for (n, v) in &self.versions {
            versions.insert(
                n.to_string(),
                json!({
                    "created_time": fmt_time(v.created),
                    "deletion_time": fmt_time(v.deletion),
                    "destroyed": v.destroyed,
                }),
            );
        }
        let mut m = Map::new();
        m.insert("cas_required".into(), self.cas_required.into());
        m.insert("created_time".into(), fmt_time(self.created).into());
        m.insert("current_version".into(), self.current_version.into());
        m.insert("custom_metadata".into(), custom_value(&self.custom_metadata));
        m.insert("delete_version_after".into(), fmt_duration(self.delete_version_after).into());
        m.insert("max_versions".into(), self.max_versions.into());
        m.insert("oldest_version".into(), self.oldest_version.into());
        m.insert("updated_time".into(), fmt_time(self.updated).into());
        m.insert("versions".into(), Value::Object(versions));
        m
    }
}

fn custom_value(c: &BTreeMap<String, String>) -> Value {
    if c.is_empty() {
        Value::Null
    } else {
        json!(c)
    }
}

pub fn now_nanos() -> i64 {
    let t = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// RFC 3339 with nanoseconds; "" for 0 (unset), as Vault renders deletion_time.
pub fn fmt_time(nanos: i64) -> String {
    if nanos == 0 {
        return String::new();
    }
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Go-style duration text for delete_version_after ("0s", "1h0m0s").
pub fn fmt_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// The `subkeys` view of a secret: the same structure with every leaf replaced by null,
/// descending at most `depth` levels (0 = unlimited).
pub fn subkeys(data: &Map<String, Value>, depth: u64) -> Value {
    fn walk(v: &Value, level: u64, depth: u64) -> Value {
        match v {
            Value::Object(m) if depth == 0 || level < depth => Value::Object(
                m.iter().map(|(k, v)| (k.clone(), walk(v, level + 1, depth))).collect(),
            ),
            _ => Value::Null,
        }
    }
    Value::Object(data.iter().map(|(k, v)| (k.clone(), walk(v, 1, depth))).collect())
}

/// RFC 7396 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => {
            if let Value::Object(p_obj) = p {
                let mut fresh = Value::Object(Map::new());
                merge_patch(&mut fresh, &Value::Object(p_obj.clone()));
                *t = fresh;
            } else {
                *t = p.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_patch(target: Value, patch: Value, expect: Value) {
        let mut t = target.clone();
        merge_patch(&mut t, &patch);
        assert_eq!(t, expect, "target {target} patch {patch}");
    }

    #[test]
    fn merge_patch_rfc7396() {
        check_patch(json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"}));
        check_patch(json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"}));
        check_patch(json!({"a": "b"}), json!({"a": null}), json!({}));
        check_patch(
            json!({"a": {"b": 1, "c": 2}}),
            json!({"a": {"b": null}}),
            json!({"a": {"c": 2}}),
        );
        check_patch(json!({"a": [1]}), json!({"a": {"x": 1}}), json!({"a": {"x": 1}}));
        check_patch(json!({"a": "x"}), json!({"a": {"n": null, "y": 1}}), json!({"a": {"y": 1}}));
    }

    #[test]
    fn subkeys_depth() {
        let d = json!({"a": 1, "b": {"c": {"d": 2}}}).as_object().cloned().unwrap();
        assert_eq!(subkeys(&d, 0), json!({"a": null, "b": {"c": {"d": null}}}));
        assert_eq!(subkeys(&d, 1), json!({"a": null, "b": null}));
        assert_eq!(subkeys(&d, 2), json!({"a": null, "b": {"c": null}}));
    }

    #[test]
    fn versions_trimmed() {
        let cfg = MountConfig { max_versions: 3, ..Default::default() };
        let mut r = Record::default();
        for i in 0..5 {
            r.push(Map::new(), &cfg, 1000 + i);
        }
        assert_eq!(r.current_version, 5);
        assert_eq!(r.oldest_version, 3);
        assert_eq!(r.versions.keys().copied().collect::<Vec<_>>(), vec![3, 4, 5]);
    }

    #[test]
    fn durations() {
        assert_eq!(fmt_duration(0), "0s");
        assert_eq!(fmt_duration(3600), "1h0m0s");
        assert_eq!(fmt_duration(90), "1m30s");
    }
}
