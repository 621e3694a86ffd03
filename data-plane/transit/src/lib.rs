//! Coffer's transit engine logic: named, versioned keys and the cryptographic operations Vault's
//! transit secrets engine offers (encrypt/decrypt/rewrap/datakey, HMAC, sign/verify, export).
//!
//! Pure and synchronous: no HTTP and no storage. The server loads a [`Key`] (serde) through the
//! barrier, calls these methods, and persists it again after `rotate`/`configure`. Each key
//! version caches its cipher or signing key, so the request path does not redo key schedules.
//! Errors are typed ([`TransitError`]) and client-presentable; no input can panic.
#![forbid(unsafe_code)]

mod batch;
mod encrypt;
mod envelope;
mod error;
mod export;
mod hash;
mod hmac_ops;
mod info;
mod key;
mod key_type;
mod material;
mod request;
mod sign;

pub use batch::{DecryptItem, EncryptItem, InputItem, ItemOutcome};
pub use encrypt::{DataKey, DataKeyKind, DecryptParams, EncryptParams, Encrypted};
pub use error::TransitError;
pub use hash::HashAlgorithm;
pub use info::{KeyInfo, VersionInfo};
pub use key::{ExportKind, Key, KeyConfigUpdate, KeyOptions};
pub use key_type::KeyType;
pub use request::CreateKeyRequest;
pub use sign::{Marshaling, SignParams};
