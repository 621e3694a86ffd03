//! Striped per-key write locks. KV v2 writes are read-modify-write of one record (check-and-set
//! must see the latest version), so writers to the same key serialise; writers to different keys
//! rarely share a stripe and never a global lock. Readers take no lock at all.

use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard, OnceLock};

const STRIPES: usize = 256;

fn stripes() -> &'static [Mutex<()>] {
    static S: OnceLock<Vec<Mutex<()>>> = OnceLock::new();
    S.get_or_init(|| (0..STRIPES).map(|_| Mutex::new(())).collect())
}

/// Locks the stripe for `(scope, key)`; hold the guard for the whole read-modify-write.
pub fn lock(scope: &str, key: &str) -> MutexGuard<'static, ()> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    scope.hash(&mut h);
    key.hash(&mut h);
    let m = &stripes()[(h.finish() as usize) % STRIPES];
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
