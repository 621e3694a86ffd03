//! The transit engine's error type. Every variant's message is written for the API client (it
//! names their own input, never key material), so the server can return it as Vault does in
//! `{"errors": [...]}` and in batch items. `Internal` is the exception: log it, show a generic
//! message.

use crate::KeyType;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitError {
    #[error("{key_type} keys do not support {operation}")]
    UnsupportedOperation { key_type: KeyType, operation: &'static str },
    #[error("missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key")]
    MissingContext,
    #[error("key derivation is not supported for {0} keys")]
    DerivationNotSupported(KeyType),
    #[error("convergent encryption requires derivation to be enabled and a key type that supports encryption")]
    ConvergentNotSupported,
    #[error("missing {0}")]
    MissingField(&'static str),
    #[error("failed to base64-decode {0}")]
    InvalidBase64(&'static str),
    #[error("invalid ciphertext: {0}")]
    InvalidCiphertext(&'static str),
    #[error("invalid signature: {0}")]
    InvalidSignature(&'static str),
    #[error("invalid hmac: {0}")]
    InvalidHmac(&'static str),
    #[error("invalid key version {0}")]
    InvalidVersion(u32),
    #[error("ciphertext or signature version is disallowed by policy (too old)")]
    VersionTooOld,
    #[error("requested version {requested} is higher than the latest key version {latest}")]
    VersionTooNew { requested: u32, latest: u32 },
    #[error("requested version for encryption is less than the minimum encryption key version")]
    BelowMinEncryptionVersion,
    #[error("cipher: message authentication failed")]
    DecryptionFailed,
    #[error("invalid nonce: {0}")]
    InvalidNonce(&'static str),
    #[error("invalid number of bits: {0}; must be 128, 256 or 512")]
    InvalidBits(u32),
    #[error("unsupported hash algorithm {0:?}")]
    UnsupportedHash(String),
    #[error("unsupported signature marshaling type {0:?}")]
    UnsupportedMarshaling(String),
    #[error("invalid key configuration: {0}")]
    InvalidConfig(&'static str),
    #[error("key is not exportable")]
    NotExportable,
    #[error("{0} is not a valid export type for {1} keys")]
    InvalidExportType(&'static str, KeyType),
    #[error("unknown key type {0:?}")]
    UnknownKeyType(String),
    /// Stored key material is unusable (corruption or a bug); not the caller's fault.
    #[error("internal error")]
    Internal(&'static str),
}
