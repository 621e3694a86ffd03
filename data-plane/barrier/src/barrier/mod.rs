//! The encryption barrier: everything the server stores passes through here and lands on disk
//! only as AES-256-GCM ciphertext.
//!
//! State is a keyring behind an `RwLock<Option<Arc<_>>>`: `None` means sealed. Each operation
//! takes the read lock just long enough to clone the `Arc`, then encrypts/decrypts and does
//! I/O without holding any lock, so reads run in parallel and a slow disk write never blocks
//! them. Keyring changes (initialize, rotate, restore) are serialised by a separate mutex that
//! the data path never touches.

mod cache;

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::{
    entry,
    error::BarrierError,
    key::RootKey,
    keyring::{KeyStatus, Keyring, KEYRING_PATH},
    snapshot,
    store::{Area, Store, TxOp},
};

/// Encrypting view of a [`Store`]; `Send + Sync`, share it behind an `Arc`.
pub struct Barrier {
    store: Store,
    keyring: RwLock<Option<Arc<Keyring>>>,
    /// Serialises keyring mutations so two rotations cannot both persist term N+1.
    keyring_write: Mutex<()>,
    /// Decrypted hot entries; invalidated by every write path below (see `cache`).
    cache: cache::ReadCache,
}

/// A decrypted value shared with the barrier's read cache; zeroized when the last holder drops.
pub type SharedPlain = Arc<zeroize::Zeroizing<Vec<u8>>>;

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier").field("sealed", &self.is_sealed()).finish_non_exhaustive()
    }
}

fn check_path(path: &str) -> Result<(), BarrierError> {
    if path.is_empty() {
        return Err(BarrierError::InvalidPath(String::new()));
    }
    Ok(())
}

impl Barrier {
    /// A sealed barrier over `store`.
    pub fn new(store: Store) -> Barrier {
        Barrier {
            store,
            keyring: RwLock::new(None),
            keyring_write: Mutex::new(()),
            cache: Default::default(),
        }
    }

    /// The loaded keyring, or `Sealed`.
    fn current(&self) -> Result<Arc<Keyring>, BarrierError> {
        // A poisoned lock only means another thread panicked while swapping an `Option<Arc>`;
        // the value itself is always consistent, so keep serving.
        let guard = self.keyring.read().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map(Arc::clone).ok_or(BarrierError::Sealed)
    }

    fn set_keyring(&self, ring: Option<Arc<Keyring>>) {
        *self.keyring.write().unwrap_or_else(PoisonError::into_inner) = ring;
    }

    fn lock_keyring_write(&self) -> std::sync::MutexGuard<'_, ()> {
        self.keyring_write.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a keyring has been stored (works while sealed).
    pub fn is_initialized(&self) -> Result<bool, BarrierError> {
        Ok(self.store.get_with(Area::Meta, KEYRING_PATH, |_| ())?.is_some())
    }

    /// Creates the keyring (term 1) and stores it encrypted under `root`. The barrier stays
    /// sealed; call [`Barrier::unseal`] with the same key to use it.
    pub fn initialize(&self, root: &RootKey) -> Result<(), BarrierError> {
        let _serial = self.lock_keyring_write();
        if self.is_initialized()? {
            return Err(BarrierError::AlreadyInitialized);
        }
        let blob = Keyring::new(root).seal()?;
        self.store.put(Area::Meta, KEYRING_PATH, &blob)?;
        Ok(())
    }

    /// Loads the keyring with `root`. A key that does not decrypt it is
    /// [`BarrierError::InvalidKey`]; unsealing an unsealed barrier re-checks the key.
    pub fn unseal(&self, root: &RootKey) -> Result<(), BarrierError> {
        let _serial = self.lock_keyring_write();
        let blob = self.store.get(Area::Meta, KEYRING_PATH)?.ok_or(BarrierError::NotInitialized)?;
        let ring = Keyring::unseal(root, &blob)?;
        self.cache.clear();
        self.set_keyring(Some(Arc::new(ring)));
        Ok(())
    }

    /// Forgets the keyring. Key bytes are zeroized once in-flight operations release it.
    pub fn seal(&self) {
        // Keyring first: a read that already passed the seal check started before this
        // clear, so its fill is rejected by the cache's epoch and no plaintext outlives the seal.
        self.set_keyring(None);
        self.cache.clear();
    }

    /// Whether the barrier is sealed.
    pub fn is_sealed(&self) -> bool {
        self.keyring.read().unwrap_or_else(PoisonError::into_inner).is_none()
    }

    /// Adds a new key term, persists the keyring and makes the new term active for writes.
    pub fn rotate(&self) -> Result<KeyStatus, BarrierError> {
        let _serial = self.lock_keyring_write();
        let next = self.current()?.rotated()?;
        let blob = next.seal()?;
        self.store.put(Area::Meta, KEYRING_PATH, &blob)?;
        let status = next.status();
        let mut guard = self.keyring.write().unwrap_or_else(PoisonError::into_inner);
        // If someone sealed meanwhile, the rotation is persisted but we must not unseal.
        if guard.is_some() {
            *guard = Some(Arc::new(next));
        }
        Ok(status)
    }

    /// Term and install time of the active key.
    pub fn key_status(&self) -> Result<KeyStatus, BarrierError> {
        Ok(self.current()?.status())
    }

    fn decrypt(ring: &Keyring, path: &str, blob: &[u8]) -> Result<Vec<u8>, BarrierError> {
        let corrupt = || BarrierError::Corrupt { path: path.to_owned() };
        let term = entry::term_of(blob).ok_or_else(corrupt)?;
        let key = ring
            .term(term)
            .ok_or_else(|| BarrierError::UnknownTerm { path: path.to_owned(), term })?;
        entry::open(&key.cipher, path, blob).ok_or_else(corrupt)
    }

    fn encrypt(ring: &Keyring, path: &str, value: &[u8]) -> Result<Vec<u8>, BarrierError> {
        let key = ring.for_encryption();
        entry::seal(&key.cipher, key.term, path, value)
    }

    /// Decrypted value at `path`, `None` if absent.
    pub fn get(&self, path: &str) -> Result<Option<Vec<u8>>, BarrierError> {
        Ok(self.get_shared(path)?.map(|v| v.to_vec()))
    }

    /// Like [`Barrier::get`], without copying the value out of the read cache.
    pub fn get_shared(&self, path: &str) -> Result<Option<SharedPlain>, BarrierError> {
        check_path(path)?;
        // The epoch is taken before the seal check so that a seal (which clears the cache
        // after dropping the keyring) always invalidates this read's fill.
        let epoch = self.cache.epoch();
        let ring = self.current()?;
        if let Some(hit) = self.cache.get(path) {
            return Ok(Some(hit));
        }
        let found = self
            .store
            .get_with(Area::Sealed, path, |blob| Self::decrypt(&ring, path, blob))?
            .transpose()?;
        Ok(found.map(|plain| {
            let plain = Arc::new(zeroize::Zeroizing::new(plain));
            self.cache.fill(epoch, path, &plain);
            plain
        }))
    }

    /// Encrypts `value` with the active term and stores it durably at `path`.
    pub fn put(&self, path: &str, value: &[u8]) -> Result<(), BarrierError> {
        check_path(path)?;
        let ring = self.current()?;
        let blob = Self::encrypt(&ring, path, value)?;
        let written = self.store.put(Area::Sealed, path, &blob);
        self.cache.remove([path]);
        Ok(written?)
    }

    /// Removes `path`; absent paths are not an error.
    pub fn delete(&self, path: &str) -> Result<(), BarrierError> {
        check_path(path)?;
        self.current()?;
        let deleted = self.store.delete(Area::Sealed, path);
        self.cache.remove([path]);
        Ok(deleted?)
    }

    /// Immediate children of `prefix` (Vault semantics: folders end with `/`), sorted.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, BarrierError> {
        self.current()?;
        Ok(self.store.list(Area::Sealed, prefix)?)
    }

    /// Removes every entry whose path starts with `prefix`, atomically.
    pub fn delete_prefix(&self, prefix: &str) -> Result<(), BarrierError> {
        self.current()?;
        let deleted = self.store.delete_prefix(Area::Sealed, prefix);
        self.cache.remove_prefix(prefix);
        Ok(deleted?)
    }

    /// Applies puts and deletes atomically, in order: after a crash either all are visible or
    /// none. Encryption happens before the write transaction opens, so the single redb writer
    /// is held only for the B-tree updates and the fsync.
    pub fn transaction(&self, ops: &[TxOp<'_>]) -> Result<(), BarrierError> {
        for op in ops {
            check_path(op.path())?;
        }
        let ring = self.current()?;
        // `Some(ciphertext)` exactly for the puts, aligned with `ops`.
        let sealed = ops
            .iter()
            .map(|op| match *op {
                TxOp::Put(path, value) => Self::encrypt(&ring, path, value).map(Some),
                TxOp::Delete(_) => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let physical: Vec<TxOp<'_>> = ops
            .iter()
            .zip(&sealed)
            .map(|(op, blob)| match blob {
                Some(blob) => TxOp::Put(op.path(), blob),
                None => TxOp::Delete(op.path()),
            })
            .collect();
        let applied = self.store.apply(Area::Sealed, &physical);
        self.cache.remove(ops.iter().map(TxOp::path));
        Ok(applied?)
    }

    /// Writes the whole store (still encrypted; plus the plain area and the sealed keyring)
    /// as one consistent, checksummed stream. Works sealed or unsealed: it reveals nothing that
    /// the raw file does not.
    pub fn snapshot(&self, out: &mut dyn std::io::Write) -> Result<(), BarrierError> {
        snapshot::write(&self.store, out)
    }

    /// Replaces the entire store with a snapshot after verifying its checksum; on any error the
    /// store and the seal state are unchanged. After success the barrier is sealed: the snapshot carries its own
    /// keyring, so unseal with the root key that was current when it was taken.
    ///
    /// Callers should stop other writers first: a write racing the restore may land after it,
    /// encrypted under a keyring the snapshot does not contain.
    pub fn restore(&self, input: &mut dyn std::io::Read) -> Result<(), BarrierError> {
        let _serial = self.lock_keyring_write();
        // Seal for the duration so no request runs against a half-replaced store; a rejected
        // snapshot changed nothing, so the old keyring (if any) comes back.
        let previous = self.keyring.write().unwrap_or_else(PoisonError::into_inner).take();
        let result = snapshot::restore(&self.store, input);
        self.cache.clear();
        if result.is_err() {
            self.set_keyring(previous);
        }
        result
    }

    /// Plain-area value at `path` (readable while sealed; not encrypted).
    pub fn get_plain(&self, path: &str) -> Result<Option<Vec<u8>>, BarrierError> {
        check_path(path)?;
        Ok(self.store.get(Area::Plain, path)?)
    }

    /// Stores `value` unencrypted at `path`; for data needed before unseal only.
    pub fn put_plain(&self, path: &str, value: &[u8]) -> Result<(), BarrierError> {
        check_path(path)?;
        self.store.put(Area::Plain, path, value)?;
        Ok(())
    }

    /// Removes a plain-area entry; absent paths are not an error.
    pub fn delete_plain(&self, path: &str) -> Result<(), BarrierError> {
        check_path(path)?;
        self.store.delete(Area::Plain, path)?;
        Ok(())
    }

    /// Immediate children of `prefix` in the plain area.
    pub fn list_plain(&self, prefix: &str) -> Result<Vec<String>, BarrierError> {
        Ok(self.store.list(Area::Plain, prefix)?)
    }

    #[cfg(test)]
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }
}

#[cfg(test)]
mod cache_tests;
#[cfg(test)]
mod tests;
