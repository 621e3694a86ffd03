//! Transit key cache. Keys are loaded from the barrier once and kept compiled in memory; each
//! key has its own `RwLock`, so crypto operations on a key run concurrently and a rotation
//! only blocks that key. Writers persist first, then swap the in-memory key, so the cache never
//! holds state that is not durable.

use super::{transit_err, Ctx};
use crate::core::error::{CoreError, CoreResult};
use coffer_transit::Key;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub type SharedKey = Arc<RwLock<Key>>;

#[derive(Default)]
pub struct KeyCache {
    keys: RwLock<HashMap<String, SharedKey>>,
}

fn cache_id(ctx: &Ctx<'_>, name: &str) -> String {
    format!("{}/{name}", ctx.mount.uuid)
}

pub fn storage_key(name: &str) -> String {
    format!("policy/{name}")
}

impl KeyCache {
    pub fn clear(&self) {
        if let Ok(mut g) = self.keys.write() {
            g.clear();
        }
    }

    /// The key, loading it from storage on first use; `None` when it does not exist.
    pub fn get(&self, ctx: &Ctx<'_>, name: &str) -> CoreResult<Option<SharedKey>> {
        let id = cache_id(ctx, name);
        if let Some(k) = self.keys.read().ok().and_then(|g| g.get(&id).cloned()) {
            return Ok(Some(k));
        }
        let Some(key) = ctx.view.get_json::<Key>(&storage_key(name))? else { return Ok(None) };
        let mut g = self.keys.write().map_err(|_| CoreError::internal("transit cache poisoned"))?;
        // Another thread may have loaded it meanwhile; keep the first.
        Ok(Some(Arc::clone(g.entry(id).or_insert_with(|| Arc::new(RwLock::new(key))))))
    }

    /// Persists a new key (fails if the name exists) and caches it.
    pub fn insert_new(&self, ctx: &Ctx<'_>, key: Key) -> CoreResult<SharedKey> {
        let name = key.name().to_owned();
        let id = cache_id(ctx, &name);
        let mut g = self.keys.write().map_err(|_| CoreError::internal("transit cache poisoned"))?;
        if let Some(existing) = g.get(&id) {
            return Ok(Arc::clone(existing));
        }
        if let Some(stored) = ctx.view.get_json::<Key>(&storage_key(&name))? {
            let shared = Arc::new(RwLock::new(stored));
            g.insert(id, Arc::clone(&shared));
            return Ok(shared);
        }
        ctx.view.put_json(&storage_key(&name), &key)?;
        let shared = Arc::new(RwLock::new(key));
        g.insert(id, Arc::clone(&shared));
        Ok(shared)
    }

    /// Applies `f` to a copy of the key, persists it, then publishes it.
    pub fn update<T>(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        f: impl FnOnce(&mut Key) -> Result<T, coffer_transit::TransitError>,
    ) -> CoreResult<(T, Key)> {
        let shared = self.get(ctx, name)?.ok_or(CoreError::NotFound(None))?;
        let mut g = shared.write().map_err(|_| CoreError::internal("transit key lock poisoned"))?;
        let mut next = g.clone();
        let out = f(&mut next).map_err(transit_err)?;
        ctx.view.put_json(&storage_key(name), &next)?;
        *g = next.clone();
        Ok((out, next))
    }

    /// Drops every cached key of a mount (after the mount is disabled).
    pub fn forget_mount(&self, uuid: &str) {
        if let Ok(mut g) = self.keys.write() {
            g.retain(|id, _| id.split_once('/').map(|(m, _)| m != uuid).unwrap_or(true));
        }
    }

    pub fn remove(&self, ctx: &Ctx<'_>, name: &str) -> CoreResult<()> {
        ctx.view.delete(&storage_key(name))?;
        if let Ok(mut g) = self.keys.write() {
            g.remove(&cache_id(ctx, name));
        }
        Ok(())
    }
}
