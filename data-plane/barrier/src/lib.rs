//! `coffer-barrier`: the bottom of coffer-server's storage stack.
//!
//! * [`Store`]: durable key/value bytes in a redb file (an acknowledged write survives `kill -9`).
//! * [`Barrier`]: the encryption barrier over a store. Values are AES-256-GCM encrypted with a
//!   per-write random nonce and the storage path as associated data, under a versioned keyring
//!   that is itself sealed by the [`RootKey`]. Sealed means no keyring in memory.
//! * [`shamir`]: splitting the root key into unseal shares (Vault-compatible share layout).
//!
//! No HTTP and no async: callers on an async runtime should use `spawn_blocking` for writes
//! (each write fsyncs).

#![forbid(unsafe_code)]

mod barrier;
mod entry;
mod error;
mod key;
mod keyring;
pub mod shamir;
mod snapshot;
mod store;
#[cfg(test)]
mod test_util;

pub use barrier::{Barrier, SharedPlain};
pub use error::{BarrierError, SnapshotError, StorageError};
pub use key::{RootKey, KEY_LEN};
pub use keyring::KeyStatus;
pub use shamir::ShamirError;
pub use store::{Store, TxOp};
