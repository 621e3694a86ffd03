//! `coffer-kms-seal`: AWS KMS auto-unseal for coffer-server.
//!
//! Instead of an operator typing Shamir shares, the server keeps its root key wrapped by a KMS
//! key (`KmsSeal::wrap`, stored in the barrier's plain area) and unwraps it at start-up
//! (`KmsSeal::unwrap`). Access to the KMS key is then what gates unsealing, like Vault's
//! `seal "awskms"`.

#![forbid(unsafe_code)]

mod config;
mod error;
mod seal;

pub use config::KmsSealConfig;
pub use error::KmsSealError;
pub use seal::{KmsSeal, Purpose};
