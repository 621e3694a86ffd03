//! Physical storage: a key/value map of opaque bytes in a redb file.
//!
//! The store knows nothing about encryption. It keeps three separate tables ("areas") so that
//! the barrier's ciphertexts, the plaintext pre-unseal area and the barrier's own metadata
//! (the sealed keyring) can never collide or be listed/deleted through one another.
//!
//! Every write is its own redb write transaction committed with redb's default
//! `Durability::Immediate` (fsync before `commit` returns), so an acknowledged write survives
//! `kill -9` or power loss. Reads use read transactions and never wait for writers.

use std::path::Path;

use redb::{backends::InMemoryBackend, Database, ReadableTable, TableDefinition};

use crate::error::StorageError;

/// Encrypted barrier entries: path -> `[version][term][nonce][ciphertext+tag]`.
pub(crate) const SEALED: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("sealed");
/// Plaintext entries needed before unseal (seal configuration, wrapped root key, ...).
pub(crate) const PLAIN: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("plain");
/// Barrier metadata: the keyring, encrypted under the root key.
pub(crate) const META: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("meta");

/// Which table an operation addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Area {
    Sealed,
    Plain,
    Meta,
}

impl Area {
    /// All areas, in the order snapshots write them.
    pub(crate) const ALL: [Area; 3] = [Area::Sealed, Area::Plain, Area::Meta];

    pub(crate) fn table(self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        match self {
            Area::Sealed => SEALED,
            Area::Plain => PLAIN,
            Area::Meta => META,
        }
    }
}

/// One operation of an atomic batch ([`Barrier::transaction`](crate::Barrier::transaction)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxOp<'a> {
    /// Write `value` at `path`.
    Put(&'a str, &'a [u8]),
    /// Remove `path` (no error if absent).
    Delete(&'a str),
}

impl<'a> TxOp<'a> {
    /// The storage path the operation touches.
    pub fn path(&self) -> &'a str {
        match *self {
            TxOp::Put(p, _) | TxOp::Delete(p) => p,
        }
    }
}

/// Physical key/value store of opaque bytes on a redb file (or in memory, for tests and dev mode).
pub struct Store {
    db: Database,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the redb file at `path`.
    pub fn open(path: &Path) -> Result<Store, StorageError> {
        Self::with_tables(Database::create(path)?)
    }

    /// A store that lives only in memory; contents vanish on drop.
    pub fn open_in_memory() -> Result<Store, StorageError> {
        Self::with_tables(Database::builder().create_with_backend(InMemoryBackend::new())?)
    }

    /// Creates the tables once so that every later read can open them without a
    /// "table does not exist" branch.
    fn with_tables(db: Database) -> Result<Store, StorageError> {
        let txn = db.begin_write()?;
        for area in Area::ALL {
            txn.open_table(area.table())?;
        }
        txn.commit()?;
        Ok(Store { db })
    }

    pub(crate) fn db(&self) -> &Database {
        &self.db
    }

    /// Looks `key` up and hands the stored bytes to `f` without copying them first.
    pub(crate) fn get_with<R>(
        &self,
        area: Area,
        key: &str,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, StorageError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(area.table())?;
        let found = table.get(key)?;
        Ok(found.map(|guard| f(guard.value())))
    }

    pub(crate) fn get(&self, area: Area, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.get_with(area, key, <[u8]>::to_vec)
    }

    pub(crate) fn put(&self, area: Area, key: &str, value: &[u8]) -> Result<(), StorageError> {
        let txn = self.db.begin_write()?;
        txn.open_table(area.table())?.insert(key, value)?;
        txn.commit()?;
        Ok(())
    }

    pub(crate) fn delete(&self, area: Area, key: &str) -> Result<(), StorageError> {
        let txn = self.db.begin_write()?;
        txn.open_table(area.table())?.remove(key)?;
        txn.commit()?;
        Ok(())
    }

    /// Applies all `ops` in one write transaction: either all land or none do.
    pub(crate) fn apply(&self, area: Area, ops: &[TxOp<'_>]) -> Result<(), StorageError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(area.table())?;
            for op in ops {
                match *op {
                    TxOp::Put(k, v) => {
                        table.insert(k, v)?;
                    }
                    TxOp::Delete(k) => {
                        table.remove(k)?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Vault list semantics: the immediate children of `prefix`, sorted; a child that has
    /// descendants is reported once, with a trailing `/`.
    ///
    /// After finding a folder the scan jumps straight past it (`folder/` sorts just before
    /// `folder0`), so listing a directory costs one seek per child, not one step per descendant.
    pub(crate) fn list(&self, area: Area, prefix: &str) -> Result<Vec<String>, StorageError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(area.table())?;
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let start = cursor.as_deref().unwrap_or(prefix);
            let mut next = None;
            for item in table.range::<&str>(start..)? {
                let (key, _) = item?;
                let key = key.value();
                let Some(rest) = key.strip_prefix(prefix) else { break };
                match rest.find('/') {
                    Some(slash) => {
                        out.push(rest[..=slash].to_owned());
                        // '0' is the byte after '/', so this is the first key past the folder.
                        next = Some(format!("{prefix}{}0", &rest[..slash]));
                        break;
                    }
                    None if !rest.is_empty() => out.push(rest.to_owned()),
                    None => {}
                }
            }
            match next {
                Some(n) => cursor = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// Removes every key starting with `prefix` in one write transaction.
    pub(crate) fn delete_prefix(&self, area: Area, prefix: &str) -> Result<(), StorageError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(area.table())?;
            let mut doomed = Vec::new();
            for item in table.range::<&str>(prefix..)? {
                let (key, _) = item?;
                let key = key.value();
                if !key.starts_with(prefix) {
                    break;
                }
                doomed.push(key.to_owned());
            }
            for key in &doomed {
                table.remove(key.as_str())?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists `prefix` after loading exactly `keys` into a wiped `store` (one store for all
    /// cases: creating a redb database is the slow part of these tests).
    fn check(store: &Store, keys: &[&str], prefix: &str, expect: &[&str]) {
        for area in Area::ALL {
            store.delete_prefix(area, "").unwrap();
        }
        for k in keys {
            store.put(Area::Sealed, k, b"v").unwrap();
        }
        // A key in another area must never show up.
        store.put(Area::Plain, &format!("{prefix}zz-plain"), b"v").unwrap();
        let got = store.list(Area::Sealed, prefix).unwrap();
        assert_eq!(got, expect, "keys {keys:?} prefix {prefix:?}");
    }

    #[test]
    fn list_semantics() {
        let s = &Store::open_in_memory().unwrap();
        check(s, &[], "", &[]);
        check(s, &["a", "b/c", "b/d/e"], "", &["a", "b/"]);
        check(s, &["a", "b/c", "b/d/e"], "b/", &["c", "d/"]);
        check(s, &["a", "b/c", "b/d/e"], "b/d/", &["e"]);
        check(s, &["a", "b/c", "b/d/e"], "x/", &[]);
        // A leaf and a folder with the same name are both reported.
        check(s, &["b", "b/c"], "", &["b", "b/"]);
        // Keys sorting between "b/" and the end of the folder must not be skipped or duplicated.
        check(s, &["b-x", "b/c", "b/d", "b0", "b/e/f", "c"], "", &["b-x", "b/", "b0", "c"]);
        // Prefix that is not a folder boundary: Vault strips it literally.
        check(s, &["foo", "foobar", "foo/x"], "foo", &["/", "bar"]);
        // The prefix key itself is not a child.
        check(s, &["p/", "p/a"], "p/", &["a"]);
        check(s, &["a/b/c/d", "a/b/c/e", "a/x"], "a/", &["b/", "x"]);
        check(s, &["é/1", "é/2", "z"], "", &["z", "é/"]);
    }

    #[test]
    fn delete_prefix_only_touches_prefix() {
        let store = Store::open_in_memory().unwrap();
        for k in ["a/1", "a/2/3", "a0", "a", "b/1"] {
            store.put(Area::Sealed, k, b"v").unwrap();
        }
        store.put(Area::Plain, "a/1", b"v").unwrap();
        store.delete_prefix(Area::Sealed, "a/").unwrap();
        assert_eq!(store.list(Area::Sealed, "").unwrap(), ["a", "a0", "b/"]);
        assert_eq!(store.get(Area::Plain, "a/1").unwrap().as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn apply_is_all_or_nothing_per_commit() {
        let store = Store::open_in_memory().unwrap();
        store.put(Area::Sealed, "gone", b"x").unwrap();
        store
            .apply(
                Area::Sealed,
                &[TxOp::Put("a", b"1"), TxOp::Delete("gone"), TxOp::Put("a", b"2")],
            )
            .unwrap();
        assert_eq!(store.get(Area::Sealed, "a").unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(store.get(Area::Sealed, "gone").unwrap(), None);
    }
}
