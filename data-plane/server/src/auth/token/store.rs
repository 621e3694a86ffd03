//! Token persistence and lifecycle: create, look up (by id or accessor), renew bookkeeping,
//! use-count accounting, revocation (with or without children) and the expiry sweep.
//!
//! Layout under `sys/token/`: `id/<hash>` the entry, `accessor/<hash>` -> entry hash,
//! `parent/<parent hash>/<child hash>` the child index that makes tree revocation cheap,
//! `salt` the per-cluster HMAC key that hashes ids and accessors.

use super::cache::TokenCache;
use super::entry::TokenEntry;
use crate::core::error::{CoreError, CoreResult};
use crate::core::storage::View;
use crate::util::{ids, now_unix};
use coffer_barrier::Barrier;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::RwLock;
use zeroize::Zeroizing;

const PREFIX: &str = "sys/token/";
/// Where a token's cubbyhole lives; revoked with the token.
pub const CUBBYHOLE_PREFIX: &str = "cubbyhole/";

/// Parameters of a new token, already validated against the parent by the caller.
#[derive(Default)]
pub struct NewToken {
    pub id: Option<String>,
    pub policies: Vec<String>,
    pub meta: BTreeMap<String, String>,
    pub display_name: String,
    pub num_uses: i64,
    /// Requested TTL (0 = default).
    pub ttl: u64,
    pub explicit_max_ttl: u64,
    pub period: u64,
    pub renewable: bool,
    pub parent: Option<String>,
    pub path: String,
    pub bound_cidrs: Vec<String>,
    pub role: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken").field("policies", &self.policies).finish_non_exhaustive()
    }
}

pub struct TokenStore {
    salt: RwLock<Option<Zeroizing<[u8; 32]>>>,
    cache: TokenCache,
    /// System default and max TTLs (seconds).
    pub default_ttl: u64,
    pub max_ttl: u64,
    /// Tokens created since start (metrics).
    pub created: std::sync::atomic::AtomicU64,
}

impl TokenStore {
    pub fn new(default_ttl: u64, max_ttl: u64) -> Self {
        TokenStore {
            salt: RwLock::new(None),
            cache: TokenCache::default(),
            default_ttl,
            max_ttl,
            created: Default::default(),
        }
    }

    fn view(barrier: &Barrier) -> View<'_> {
        View::new(barrier, PREFIX)
    }

    /// Forget cached key material (on seal).
    pub fn clear(&self) {
        if let Ok(mut g) = self.salt.write() {
            *g = None;
        }
        self.cache.clear();
    }

    fn salted(&self, barrier: &Barrier, kind: &[u8], value: &str) -> CoreResult<String> {
        let cached = self.salt.read().ok().and_then(|g| g.as_ref().map(|s| **s));
        let salt = match cached {
            Some(s) => Zeroizing::new(s),
            None => self.load_salt(barrier)?,
        };
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&*salt).map_err(CoreError::internal)?;
        mac.update(kind);
        mac.update(value.as_bytes());
        // encode_to_slice is a table lookup per byte; hex::encode's char iterator showed up
        // at ~1.5% of a KV read's CPU (this runs on every authenticated request).
        let mut buf = [0u8; 64];
        hex::encode_to_slice(mac.finalize().into_bytes(), &mut buf).map_err(CoreError::internal)?;
        String::from_utf8(buf.to_vec()).map_err(CoreError::internal)
    }

    fn load_salt(&self, barrier: &Barrier) -> CoreResult<Zeroizing<[u8; 32]>> {
        let view = Self::view(barrier);
        let mut salt = Zeroizing::new([0u8; 32]);
        match view.get("salt")? {
            Some(b) if b.len() == 32 => salt.copy_from_slice(&b),
            Some(_) => return Err(CoreError::internal("token salt has the wrong length")),
            None => {
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut *salt);
                view.put("salt", &*salt)?;
            }
        }
        if let Ok(mut g) = self.salt.write() {
            *g = Some(salt.clone());
        }
        Ok(salt)
    }

    pub fn hash_id(&self, barrier: &Barrier, id: &str) -> CoreResult<String> {
        self.salted(barrier, b"id:", id)
    }

    fn hash_accessor(&self, barrier: &Barrier, accessor: &str) -> CoreResult<String> {
        self.salted(barrier, b"accessor:", accessor)
    }

    /// Creates and persists a token; returns its id and entry.
    pub fn create(&self, barrier: &Barrier, p: NewToken) -> CoreResult<(String, TokenEntry)> {
        let id = p.id.unwrap_or_else(ids::new_token);
        if id.is_empty() || id.len() > 256 || id.contains(['/', '\0']) {
            return Err(CoreError::bad("invalid token id"));
        }
        let hash = self.hash_id(barrier, &id)?;
        let view = Self::view(barrier);
        if view.get(&format!("id/{hash}"))?.is_some() {
            return Err(CoreError::bad("cannot create a token with a duplicate ID"));
        }
        let now = now_unix();
        let is_root = p.policies.iter().any(|x| x == "root");
        let mut ttl = if p.period > 0 {
            p.period
        } else if p.ttl > 0 {
            p.ttl
        } else if is_root && p.explicit_max_ttl == 0 {
            0
        } else {
            self.default_ttl
        };
        if p.explicit_max_ttl > 0 && (ttl == 0 || ttl > p.explicit_max_ttl) {
            ttl = p.explicit_max_ttl;
        }
        if !is_root && p.period == 0 && ttl > self.max_ttl {
            ttl = self.max_ttl;
        }
        let accessor = ids::new_accessor();
        let entry = TokenEntry {
            hash: hash.clone(),
            accessor: accessor.clone(),
            orphan: p.parent.is_none(),
            parent: p.parent,
            policies: p.policies,
            meta: p.meta,
            display_name: p.display_name,
            num_uses: p.num_uses,
            creation_time: now,
            ttl,
            creation_ttl: ttl,
            expire_time: (ttl > 0).then_some(now.saturating_add(crate::util::secs(ttl))),
            explicit_max_ttl: p.explicit_max_ttl,
            period: p.period,
            renewable: p.renewable && ttl > 0,
            path: p.path,
            issue_time: now,
            entity_id: String::new(),
            bound_cidrs: p.bound_cidrs,
            role: p.role,
        };
        let acc_hash = self.hash_accessor(barrier, &accessor)?;
        let bytes = serde_json::to_vec(&entry)?;
        let id_key = format!("id/{hash}");
        let acc_key = format!("accessor/{acc_hash}");
        let mut ops: Vec<(&str, Option<&[u8]>)> =
            vec![(id_key.as_str(), Some(&bytes)), (acc_key.as_str(), Some(hash.as_bytes()))];
        let parent_key = entry.parent.as_ref().map(|p| format!("parent/{p}/{hash}"));
        if let Some(k) = &parent_key {
            ops.push((k.as_str(), Some(b"")));
        }
        let lease_key = lease_key(&entry);
        if let Some(k) = &lease_key {
            ops.push((k.as_str(), Some(hash.as_bytes())));
        }
        let expiry_key = expiry_key(&entry);
        if let Some(k) = &expiry_key {
            ops.push((k.as_str(), Some(b"")));
        }
        view.transaction(&ops)?;
        self.cache.put(&entry);
        crate::core::metrics::Metrics::inc(&self.created);
        Ok((id, entry))
    }

    /// The live entry for a token hash (`None` if unknown or expired).
    pub fn lookup_hash(&self, barrier: &Barrier, hash: &str) -> CoreResult<Option<TokenEntry>> {
        Ok(self.lookup_hash_shared(barrier, hash)?.map(|e| (*e).clone()))
    }

    /// Like [`TokenStore::lookup_hash`], returning the cached entry without copying it.
    pub fn lookup_hash_shared(
        &self,
        barrier: &Barrier,
        hash: &str,
    ) -> CoreResult<Option<std::sync::Arc<TokenEntry>>> {
        let now = now_unix();
        if let Some(e) = self.cache.get(hash) {
            return Ok((!e.is_expired(now)).then_some(e));
        }
        let epoch = self.cache.epoch();
        let entry: Option<TokenEntry> = Self::view(barrier).get_json(&format!("id/{hash}"))?;
        if let Some(e) = &entry {
            self.cache.fill(epoch, e);
        }
        Ok(entry.filter(|e| !e.is_expired(now)).map(std::sync::Arc::new))
    }

    /// The live entry for a token id, shared (the per-request authentication path).
    pub fn lookup_shared(
        &self,
        barrier: &Barrier,
        id: &str,
    ) -> CoreResult<Option<std::sync::Arc<TokenEntry>>> {
        if id.is_empty() || id.len() > 256 {
            return Ok(None);
        }
        let hash = self.hash_id(barrier, id)?;
        self.lookup_hash_shared(barrier, &hash)
    }

    pub fn lookup(&self, barrier: &Barrier, id: &str) -> CoreResult<Option<TokenEntry>> {
        if id.is_empty() || id.len() > 256 {
            return Ok(None);
        }
        let hash = self.hash_id(barrier, id)?;
        self.lookup_hash(barrier, &hash)
    }

    pub fn lookup_accessor(
        &self,
        barrier: &Barrier,
        accessor: &str,
    ) -> CoreResult<Option<TokenEntry>> {
        let acc_hash = self.hash_accessor(barrier, accessor)?;
        match Self::view(barrier).get(&format!("accessor/{acc_hash}"))? {
            None => Ok(None),
            Some(h) => {
                let hash = String::from_utf8(h).map_err(CoreError::internal)?;
                self.lookup_hash(barrier, &hash)
            }
        }
    }

    /// Persists a changed entry whose expiry did not move (use counts, orphaning).
    pub fn save(&self, barrier: &Barrier, entry: &TokenEntry) -> CoreResult<()> {
        Self::view(barrier).put_json(&format!("id/{}", entry.hash), entry)?;
        self.cache.put(entry);
        Ok(())
    }

    /// Accounts one use of a limited-use token: the last use revokes it (the request that
    /// spends it still proceeds, as in Vault).
    pub fn spend_use(&self, barrier: &Barrier, entry: &TokenEntry) -> CoreResult<()> {
        if entry.num_uses <= 0 {
            return Ok(());
        }
        // Serialise uses of this token and count from storage, so concurrent requests cannot
        // both spend the same use.
        let _g = crate::engines::kv::locks::lock("token-uses", &entry.hash);
        let fresh: Option<TokenEntry> =
            Self::view(barrier).get_json(&format!("id/{}", entry.hash))?;
        let Some(mut e) = fresh.filter(|e| e.num_uses > 0) else {
            return Err(CoreError::PermissionDenied);
        };
        if e.num_uses == 1 {
            return self.revoke_tree(barrier, &e.hash);
        }
        e.num_uses -= 1;
        self.save(barrier, &e)
    }

    /// Revokes a token and all its descendants.
    pub fn revoke_tree(&self, barrier: &Barrier, hash: &str) -> CoreResult<()> {
        let view = Self::view(barrier);
        // Depth-first without recursion: children before parents, so a crash midway never
        // leaves a child whose parent is already gone without the child index.
        let mut stack = vec![(hash.to_owned(), false)];
        while let Some((h, expanded)) = stack.pop() {
            if expanded {
                self.delete_one(barrier, &view, &h)?;
                continue;
            }
            stack.push((h.clone(), true));
            for child in view.list(&format!("parent/{h}/"))? {
                stack.push((child.trim_end_matches('/').to_owned(), false));
            }
        }
        Ok(())
    }

    /// Revokes only this token; its children become orphans.
    pub fn revoke_orphan(&self, barrier: &Barrier, hash: &str) -> CoreResult<()> {
        let view = Self::view(barrier);
        for child in view.list(&format!("parent/{hash}/"))? {
            let key = format!("id/{child}");
            if let Some(mut e) = view.get_json::<TokenEntry>(&key)? {
                e.parent = None;
                e.orphan = true;
                self.save(barrier, &e)?;
            }
        }
        self.delete_one(barrier, &view, hash)
    }

    fn delete_one(&self, barrier: &Barrier, view: &View<'_>, hash: &str) -> CoreResult<()> {
        let entry: Option<TokenEntry> = view.get_json(&format!("id/{hash}"))?;
        let id_key = format!("id/{hash}");
        let mut keys = vec![id_key];
        if let Some(e) = &entry {
            keys.extend(lease_key(e));
            keys.extend(expiry_key(e));
            keys.push(format!("accessor/{}", self.hash_accessor(barrier, &e.accessor)?));
            if let Some(p) = &e.parent {
                keys.push(format!("parent/{p}/{hash}"));
            }
        }
        let ops: Vec<(&str, Option<&[u8]>)> = keys.iter().map(|k| (k.as_str(), None)).collect();
        view.transaction(&ops)?;
        self.cache.remove(hash);
        view.delete_prefix(&format!("parent/{hash}/"))?;
        View::new(barrier, CUBBYHOLE_PREFIX).delete_prefix(&format!("{hash}/"))?;
        Ok(())
    }

    /// Revokes every expired token; returns how many were removed. Walks only the expiry
    /// index buckets that are already due, so a sweep costs little when nothing expires.
    pub fn sweep(&self, barrier: &Barrier) -> CoreResult<usize> {
        let view = Self::view(barrier);
        let now = now_unix();
        let due = bucket(now);
        let mut n = 0;
        for b in view.list("expiry/")? {
            let name = b.trim_end_matches('/');
            if name > due.as_str() {
                continue;
            }
            for hash in view.list(&format!("expiry/{name}/"))? {
                let entry: Option<TokenEntry> = view.get_json(&format!("id/{hash}"))?;
                match entry {
                    Some(e) if e.is_expired(now) => {
                        self.revoke_tree(barrier, &hash)?;
                        n += 1;
                    }
                    // Stale index entry (token gone, or renewed into a later bucket).
                    Some(e)
                        if expiry_key(&e).as_deref() != Some(&format!("expiry/{name}/{hash}")) =>
                    {
                        view.delete(&format!("expiry/{name}/{hash}"))?;
                    }
                    Some(_) => {}
                    None => view.delete(&format!("expiry/{name}/{hash}"))?,
                }
            }
        }
        Ok(n)
    }

    /// Extends a token's life per Vault's rules: periodic tokens get their period again,
    /// others `increment` (or their original TTL), capped by explicit_max_ttl and the system
    /// max, both measured from creation.
    pub fn renew(
        &self,
        barrier: &Barrier,
        entry: &TokenEntry,
        increment: Option<u64>,
    ) -> CoreResult<TokenEntry> {
        if entry.expire_time.is_none() {
            return Ok(entry.clone());
        }
        if !entry.renewable {
            return Err(CoreError::bad("lease is not renewable"));
        }
        let now = now_unix();
        let mut ttl = if entry.period > 0 {
            entry.period
        } else {
            increment.filter(|i| *i > 0).unwrap_or(entry.ttl)
        };
        let mut limit = entry.creation_time.saturating_add(crate::util::secs(self.max_ttl));
        if entry.explicit_max_ttl > 0 {
            limit = limit
                .min(entry.creation_time.saturating_add(crate::util::secs(entry.explicit_max_ttl)));
        }
        if entry.period > 0 && entry.explicit_max_ttl == 0 {
            limit = i64::MAX;
        }
        let expire = now.saturating_add(crate::util::secs(ttl)).min(limit);
        ttl = (expire - now).max(0) as u64;
        let mut e = entry.clone();
        e.ttl = ttl;
        e.expire_time = Some(expire);
        let id_key = format!("id/{}", e.hash);
        let bytes = serde_json::to_vec(&e)?;
        let old_idx = expiry_key(entry);
        let new_idx = expiry_key(&e);
        let mut ops: Vec<(&str, Option<&[u8]>)> = vec![(id_key.as_str(), Some(&bytes))];
        if old_idx != new_idx {
            if let Some(k) = &old_idx {
                ops.push((k.as_str(), None));
            }
        }
        if let Some(k) = &new_idx {
            ops.push((k.as_str(), Some(b"")));
        }
        Self::view(barrier).transaction(&ops)?;
        self.cache.put(&e);
        Ok(e)
    }
}

/// Expiry index buckets are minutes, zero-padded so they sort as text.
fn bucket(unix: i64) -> String {
    format!("{:012}", unix.max(0) / 60)
}

/// The expiry index entry of an expiring token: `expiry/<minute>/<hash>`.
fn expiry_key(e: &TokenEntry) -> Option<String> {
    e.expire_time.map(|t| format!("expiry/{}/{}", bucket(t), e.hash))
}

/// The lease index entry of an expiring token: `lease/<creation path>/<hash>`. The lease id
/// clients see is the part after `lease/`.
fn lease_key(e: &TokenEntry) -> Option<String> {
    (e.expire_time.is_some() && !e.path.is_empty()).then(|| format!("lease/{}/{}", e.path, e.hash))
}

impl TokenStore {
    /// The token behind a lease id, if the lease exists.
    pub fn lease(&self, barrier: &Barrier, lease_id: &str) -> CoreResult<Option<TokenEntry>> {
        if lease_id.is_empty() || lease_id.contains("//") || lease_id.split('/').any(|s| s == "..")
        {
            return Ok(None);
        }
        match Self::view(barrier).get(&format!("lease/{lease_id}"))? {
            None => Ok(None),
            Some(h) => {
                self.lookup_hash(barrier, &String::from_utf8(h).map_err(CoreError::internal)?)
            }
        }
    }

    /// Immediate children of a lease prefix (Vault list semantics).
    pub fn list_leases(&self, barrier: &Barrier, prefix: &str) -> CoreResult<Vec<String>> {
        Self::view(barrier).list(&format!("lease/{prefix}"))
    }

    /// Revokes every token whose lease id starts with `prefix` (a directory).
    pub fn revoke_lease_prefix(&self, barrier: &Barrier, prefix: &str) -> CoreResult<usize> {
        let view = Self::view(barrier);
        let mut stack = vec![prefix.to_owned()];
        let mut hashes = Vec::new();
        while let Some(dir) = stack.pop() {
            for k in view.list(&format!("lease/{dir}"))? {
                if k.ends_with('/') {
                    stack.push(format!("{dir}{k}"));
                } else if let Some(h) = view.get(&format!("lease/{dir}{k}"))? {
                    hashes.push(String::from_utf8(h).map_err(CoreError::internal)?);
                }
            }
        }
        for h in &hashes {
            self.revoke_tree(barrier, h)?;
        }
        Ok(hashes.len())
    }

    /// Every live token's accessor (for `auth/token/accessors`): a scan, as in Vault.
    pub fn accessors(&self, barrier: &Barrier) -> CoreResult<Vec<String>> {
        let view = Self::view(barrier);
        let now = now_unix();
        let mut out = Vec::new();
        for hash in view.list("id/")? {
            if let Some(e) = view.get_json::<TokenEntry>(&format!("id/{hash}"))? {
                if !e.is_expired(now) {
                    out.push(e.accessor);
                }
            }
        }
        Ok(out)
    }
}
