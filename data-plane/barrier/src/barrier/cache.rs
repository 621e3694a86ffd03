//! In-memory cache of decrypted entries, so a hot read (a KV secret, a mount's config) costs a
//! hash lookup instead of a redb read transaction, an AES-GCM open and a copy.
//!
//! Why it is safe: the [`Barrier`](super::Barrier) is the only writer of the sealed area, and
//! every write path (put, delete, transaction, delete_prefix, restore, seal) invalidates here
//! *after* its storage write and bumps an epoch. A reader that missed caches what it read only
//! if no invalidation happened since it started (same epoch), so a value overwritten or deleted
//! during its storage read is never resurrected. Plaintext lives only in memory (never on disk),
//! is dropped on seal, and is zeroized when the last holder releases it.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use zeroize::Zeroizing;

/// A cached plaintext; shared so a hit costs a reference-count bump, not a copy.
pub(crate) type Plain = Arc<Zeroizing<Vec<u8>>>;

/// Total plaintext bytes held before the cache starts over (entries are re-read on demand).
const MAX_BYTES: usize = 32 << 20;
/// Larger entries are not cached: they are rare (mount tables, big secrets) and would evict
/// many small hot ones.
const MAX_ENTRY: usize = 64 << 10;

#[derive(Default)]
struct Inner {
    map: HashMap<String, Plain>,
    bytes: usize,
    epoch: u64,
}

impl Inner {
    fn invalidated(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }
}

#[derive(Default)]
pub(crate) struct ReadCache {
    inner: RwLock<Inner>,
}

impl ReadCache {
    pub fn get(&self, path: &str) -> Option<Plain> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner).map.get(path).cloned()
    }

    /// The epoch to pass to [`ReadCache::fill`]; read it *before* the storage read.
    pub fn epoch(&self) -> u64 {
        self.inner.read().unwrap_or_else(PoisonError::into_inner).epoch
    }

    /// Caches a value read from storage, unless anything was invalidated since `epoch`.
    pub fn fill(&self, epoch: u64, path: &str, value: &Plain) {
        if value.len() > MAX_ENTRY {
            return;
        }
        let mut g = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if g.epoch != epoch {
            return;
        }
        if g.bytes + value.len() > MAX_BYTES {
            g.map.clear();
            g.bytes = 0;
        }
        g.bytes += value.len();
        if let Some(old) = g.map.insert(path.to_owned(), Arc::clone(value)) {
            g.bytes -= old.len();
        }
    }

    /// Forgets the given paths (after their storage write or delete).
    pub fn remove<'a>(&self, paths: impl IntoIterator<Item = &'a str>) {
        let mut g = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        g.invalidated();
        for p in paths {
            if let Some(old) = g.map.remove(p) {
                g.bytes -= old.len();
            }
        }
    }

    /// Forgets every path under `prefix`.
    pub fn remove_prefix(&self, prefix: &str) {
        let mut g = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        g.invalidated();
        let mut freed = 0;
        g.map.retain(|k, v| {
            let keep = !k.starts_with(prefix);
            if !keep {
                freed += v.len();
            }
            keep
        });
        g.bytes -= freed;
    }

    /// Forgets everything (seal, restore).
    pub fn clear(&self) {
        let mut g = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        g.invalidated();
        g.map.clear();
        g.bytes = 0;
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(PoisonError::into_inner).map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> Plain {
        Arc::new(Zeroizing::new(s.as_bytes().to_vec()))
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_dropped() {
        let c = ReadCache::default();
        let before = c.epoch(); // a reader starts its storage read...
        c.remove(["a"]); // ...a write to any path lands meanwhile...
        c.fill(before, "a", &plain("old")); // ...so what it read may be stale: not cached.
        assert!(c.get("a").is_none());
        let now = c.epoch();
        c.fill(now, "a", &plain("new"));
        assert_eq!(c.get("a").unwrap().as_slice(), b"new");
    }

    #[test]
    fn removal_by_path_prefix_and_clear() {
        let c = ReadCache::default();
        for p in ["x/1", "x/2", "y/1"] {
            c.fill(c.epoch(), p, &plain(p));
        }
        c.remove_prefix("x/");
        assert!(c.get("x/1").is_none() && c.get("x/2").is_none());
        assert!(c.get("y/1").is_some());
        c.clear();
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn large_entries_are_not_cached_and_the_total_is_bounded() {
        let c = ReadCache::default();
        let big = Arc::new(Zeroizing::new(vec![0u8; MAX_ENTRY + 1]));
        c.fill(c.epoch(), "big", &big);
        assert!(c.get("big").is_none());
        let chunk = Arc::new(Zeroizing::new(vec![0u8; MAX_ENTRY]));
        for i in 0..(MAX_BYTES / MAX_ENTRY + 2) {
            c.fill(c.epoch(), &format!("k{i}"), &chunk);
        }
        let held = c.inner.read().unwrap().bytes;
        assert!(held <= MAX_BYTES, "{held} bytes held");
        assert_eq!(held, c.len() * MAX_ENTRY);
    }
}
