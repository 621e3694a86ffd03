//! The persisted token record. The token id itself is never stored: records are keyed by a
//! salted HMAC of the id, so a storage dump does not yield usable tokens.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenEntry {
    /// Storage key (salted hash of the id). Not secret, but not the id either.
    pub hash: String,
    pub accessor: String,
    /// Parent's hash; `None` for orphans and root tokens.
    pub parent: Option<String>,
    pub policies: Vec<String>,
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    pub display_name: String,
    /// Remaining uses; 0 = unlimited.
    pub num_uses: i64,
    pub orphan: bool,
    pub creation_time: i64,
    /// TTL granted at creation / last renewal, seconds (0 = no expiry).
    pub ttl: u64,
    /// TTL at creation, for `creation_ttl`.
    pub creation_ttl: u64,
    /// Unix expiry; `None` = never.
    pub expire_time: Option<i64>,
    pub explicit_max_ttl: u64,
    pub period: u64,
    pub renewable: bool,
    pub path: String,
    pub issue_time: i64,
    #[serde(default)]
    pub entity_id: String,
    /// Client networks the token may be used from (empty = anywhere).
    #[serde(default)]
    pub bound_cidrs: Vec<String>,
    /// The token role it was created from (empty = none).
    #[serde(default)]
    pub role: String,
}

impl TokenEntry {
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }

    pub fn is_expired(&self, now: i64) -> bool {
        self.expire_time.map(|t| t <= now).unwrap_or(false)
    }

    /// Remaining TTL in seconds (0 for non-expiring tokens, as Vault reports).
    pub fn remaining_ttl(&self, now: i64) -> u64 {
        self.expire_time.map(|t| (t - now).max(0) as u64).unwrap_or(0)
    }

    /// The `data` of a token lookup. `id` is included only when the caller presented it.
    pub fn lookup_data(&self, id: Option<&str>, now: i64) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("accessor".into(), self.accessor.clone().into());
        m.insert("creation_time".into(), self.creation_time.into());
        m.insert("creation_ttl".into(), self.creation_ttl.into());
        m.insert("display_name".into(), self.display_name.clone().into());
        m.insert("entity_id".into(), self.entity_id.clone().into());
        m.insert(
            "expire_time".into(),
            self.expire_time.map(|t| Value::String(crate::util::rfc3339(t))).unwrap_or(Value::Null),
        );
        m.insert("explicit_max_ttl".into(), self.explicit_max_ttl.into());
        m.insert("id".into(), id.unwrap_or("").into());
        m.insert("issue_time".into(), crate::util::rfc3339(self.issue_time).into());
        m.insert(
            "meta".into(),
            if self.meta.is_empty() {
                Value::Null
            } else {
                serde_json::to_value(&self.meta).unwrap_or(Value::Null)
            },
        );
        m.insert("num_uses".into(), self.num_uses.into());
        m.insert("orphan".into(), self.orphan.into());
        m.insert("path".into(), self.path.clone().into());
        m.insert("policies".into(), self.policies.clone().into());
        m.insert("renewable".into(), self.renewable.into());
        m.insert("ttl".into(), self.remaining_ttl(now).into());
        m.insert("type".into(), "service".into());
        if self.period > 0 {
            m.insert("period".into(), self.period.into());
        }
        if !self.role.is_empty() {
            m.insert("role".into(), self.role.clone().into());
        }
        m
    }
}
