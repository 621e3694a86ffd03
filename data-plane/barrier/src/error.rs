//! Error types, one per layer: [`StorageError`] for the physical redb store, [`BarrierError`]
//! for the encryption barrier on top of it, [`SnapshotError`] for the snapshot stream format and
//! [`ShamirError`](crate::shamir::ShamirError) (in its own module) for secret sharing.
//!
//! Messages never contain key material or plaintext; storage paths are not secret and are kept
//! because they make operator logs useful.

/// Failure of the physical store (redb file or in-memory backend).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Any error reported by redb (I/O, corruption, transaction or table failures). Boxed:
    /// redb's error is large and would bloat every `Result` on the hot path.
    #[error("storage backend: {0}")]
    Backend(Box<redb::Error>),
}

/// redb has one error type per operation; all of them collapse into [`redb::Error`] so the rest
/// of the crate can use `?` without caring which step failed.
macro_rules! storage_from {
    ($($ty:ty),* $(,)?) => {
        $(impl From<$ty> for StorageError {
            fn from(e: $ty) -> Self {
                StorageError::Backend(Box::new(e.into()))
            }
        })*
    };
}
storage_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
);

/// Failure of a barrier operation.
#[derive(Debug, thiserror::Error)]
pub enum BarrierError {
    /// The barrier is sealed: no keyring is loaded, so encrypted entries cannot be used.
    #[error("barrier is sealed")]
    Sealed,
    /// `unseal`/`rotate` before `initialize`.
    #[error("barrier is not initialized")]
    NotInitialized,
    /// `initialize` on a store that already holds a keyring.
    #[error("barrier is already initialized")]
    AlreadyInitialized,
    /// The root key does not decrypt the stored keyring.
    #[error("invalid root key")]
    InvalidKey,
    /// Key material of the wrong length (root keys are exactly 32 bytes).
    #[error("invalid key length: expected 32 bytes, got {0}")]
    KeyLength(usize),
    /// A storage path that cannot be used (the empty path).
    #[error("invalid storage path {0:?}")]
    InvalidPath(String),
    /// A stored entry failed authentication or is malformed: tampering, corruption, or a
    /// ciphertext moved from another path.
    #[error("entry at {path:?} failed to decrypt (corrupt or tampered)")]
    Corrupt {
        /// Storage path of the entry.
        path: String,
    },
    /// An entry names a keyring term this keyring does not have.
    #[error("entry at {path:?} uses unknown key term {term}")]
    UnknownTerm {
        /// Storage path of the entry.
        path: String,
        /// Term number found in the ciphertext header.
        term: u32,
    },
    /// The stored keyring decrypted but its contents are malformed.
    #[error("stored keyring is malformed")]
    KeyringCorrupt,
    /// A value too large for one AES-GCM message (about 64 GiB).
    #[error("value too large to encrypt")]
    TooLarge,
    /// The keyring has reached the maximum term number.
    #[error("keyring term space exhausted")]
    TermsExhausted,
    /// Physical storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Snapshot stream could not be written or is invalid.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

/// Failure while writing or reading a snapshot stream.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading or writing the stream failed.
    #[error("snapshot i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The stream does not start with the coffer snapshot magic.
    #[error("not a coffer snapshot")]
    BadMagic,
    /// The stream uses a format version this build does not understand.
    #[error("unsupported snapshot format version {0}")]
    UnsupportedVersion(u32),
    /// The stream is structurally invalid (unknown record type, oversized field, bad UTF-8 key).
    #[error("malformed snapshot: {0}")]
    Malformed(&'static str),
    /// The stream ended before its trailer.
    #[error("snapshot is truncated")]
    Truncated,
    /// The SHA-256 trailer does not match the contents.
    #[error("snapshot checksum mismatch")]
    ChecksumMismatch,
}
