//! In-memory cache of token entries by hash, so authenticating a request normally costs one
//! HMAC and a hash-map lookup instead of a barrier read, decrypt and parse.
//!
//! Coherence: every mutation goes through the token store, which writes storage first and then
//! updates this cache while bumping an epoch under the write lock. A reader that missed only
//! inserts what it read from storage if no mutation happened meanwhile (same epoch), so a
//! revoked token can never be resurrected by a racing lookup.

use super::entry::TokenEntry;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Beyond this many entries the cache starts over (tokens are re-read on demand).
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
struct Inner {
    map: HashMap<String, Arc<TokenEntry>>,
    epoch: u64,
}

#[derive(Default)]
pub struct TokenCache {
    inner: RwLock<Inner>,
}

impl TokenCache {
    /// A shared handle: authenticating a request costs a reference-count bump, not a copy.
    pub fn get(&self, hash: &str) -> Option<Arc<TokenEntry>> {
        self.inner.read().ok().and_then(|g| g.map.get(hash).cloned())
    }

    /// The epoch to pass to [`TokenCache::fill`] after a storage read.
    pub fn epoch(&self) -> u64 {
        self.inner.read().map(|g| g.epoch).unwrap_or(u64::MAX)
    }

    /// Caches an entry read from storage, unless a mutation happened since `epoch`.
    pub fn fill(&self, epoch: u64, entry: &TokenEntry) {
        if let Ok(mut g) = self.inner.write() {
            if g.epoch != epoch {
                return;
            }
            if g.map.len() >= MAX_ENTRIES {
                g.map.clear();
            }
            g.map.insert(entry.hash.clone(), Arc::new(entry.clone()));
        }
    }

    /// Records a stored entry's new state (after the storage write).
    pub fn put(&self, entry: &TokenEntry) {
        if let Ok(mut g) = self.inner.write() {
            g.epoch = g.epoch.wrapping_add(1);
            if g.map.len() >= MAX_ENTRIES {
                g.map.clear();
            }
            g.map.insert(entry.hash.clone(), Arc::new(entry.clone()));
        }
    }

    /// Forgets an entry (after its storage delete).
    pub fn remove(&self, hash: &str) {
        if let Ok(mut g) = self.inner.write() {
            g.epoch = g.epoch.wrapping_add(1);
            g.map.remove(hash);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut g) = self.inner.write() {
            g.epoch = g.epoch.wrapping_add(1);
            g.map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(hash: &str) -> TokenEntry {
        serde_json::from_value(serde_json::json!({
            "hash": hash, "accessor": "a", "parent": null, "policies": ["default"],
            "display_name": "t", "num_uses": 0, "orphan": true, "creation_time": 0, "ttl": 0,
            "creation_ttl": 0, "expire_time": null, "explicit_max_ttl": 0, "period": 0,
            "renewable": false, "path": "auth/token/create", "issue_time": 0
        }))
        .unwrap()
    }

    #[test]
    fn stale_fill_after_removal_is_ignored() {
        let c = TokenCache::default();
        let e = entry("h1");
        let before = c.epoch(); // a reader starts its storage read...
        c.remove("h1"); // ...a revocation lands meanwhile...
        c.fill(before, &e); // ...and the reader's stale copy must not be cached.
        assert!(c.get("h1").is_none());
        let now = c.epoch();
        c.fill(now, &e);
        assert!(c.get("h1").is_some());
        c.clear();
        assert!(c.get("h1").is_none());
    }
}
