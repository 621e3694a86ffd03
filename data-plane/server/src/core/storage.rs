//! A prefixed view of the barrier. Every mount, auth method and internal store gets its own
//! prefix (mounts by UUID, so renaming or remounting never mixes data), and engines only ever
//! see keys relative to it.

use crate::core::error::CoreResult;
use coffer_barrier::{Barrier, TxOp};

pub struct View<'a> {
    barrier: &'a Barrier,
    prefix: String,
}

impl<'a> View<'a> {
    pub fn new(barrier: &'a Barrier, prefix: impl Into<String>) -> Self {
        View { barrier, prefix: prefix.into() }
    }

    /// The barrier path of a relative key.
    pub fn full(&self, key: &str) -> String {
        let mut s = String::with_capacity(self.prefix.len() + key.len());
        s.push_str(&self.prefix);
        s.push_str(key);
        s
    }

    pub fn get(&self, key: &str) -> CoreResult<Option<Vec<u8>>> {
        Ok(self.barrier.get(&self.full(key))?)
    }

    /// The decrypted value at a full barrier path ([`View::full`]), shared with the barrier's
    /// read cache instead of copied.
    pub fn get_shared_full(&self, full: &str) -> CoreResult<Option<coffer_barrier::SharedPlain>> {
        Ok(self.barrier.get_shared(full)?)
    }

    /// Reads and decodes a JSON value; `None` when absent.
    pub fn get_json<T: serde::de::DeserializeOwned>(&self, key: &str) -> CoreResult<Option<T>> {
        match self.get(key)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        }
    }

    pub fn put(&self, key: &str, value: &[u8]) -> CoreResult<()> {
        Ok(self.barrier.put(&self.full(key), value)?)
    }

    pub fn put_json<T: serde::Serialize>(&self, key: &str, value: &T) -> CoreResult<()> {
        let bytes = serde_json::to_vec(value)?;
        self.put(key, &bytes)
    }

    pub fn delete(&self, key: &str) -> CoreResult<()> {
        Ok(self.barrier.delete(&self.full(key))?)
    }

    pub fn list(&self, prefix: &str) -> CoreResult<Vec<String>> {
        Ok(self.barrier.list(&self.full(prefix))?)
    }

    pub fn delete_prefix(&self, prefix: &str) -> CoreResult<()> {
        Ok(self.barrier.delete_prefix(&self.full(prefix))?)
    }

    /// Atomically applies puts (`Some`) and deletes (`None`) of relative keys.
    pub fn transaction(&self, ops: &[(&str, Option<&[u8]>)]) -> CoreResult<()> {
        let keys: Vec<String> = ops.iter().map(|(k, _)| self.full(k)).collect();
        let tx: Vec<TxOp<'_>> = keys
            .iter()
            .zip(ops)
            .map(|(k, (_, v))| match v {
                Some(v) => TxOp::Put(k, v),
                None => TxOp::Delete(k),
            })
            .collect();
        Ok(self.barrier.transaction(&tx)?)
    }
}
