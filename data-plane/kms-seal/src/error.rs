//! Errors of the KMS seal. AWS error text is kept for operators' logs (it carries the error code
//! and request id, never key material); the server must not forward it to clients verbatim.

use coffer_barrier::BarrierError;

/// Failure to configure the seal or to wrap/unwrap through KMS.
#[derive(Debug, thiserror::Error)]
pub enum KmsSealError {
    /// The seal configuration is unusable (empty key id, bad endpoint, half-set credentials).
    #[error("invalid kms seal configuration: {0}")]
    Config(&'static str),
    /// A KMS call failed: network, credentials, permissions, unknown key, bad ciphertext.
    #[error("kms {operation} failed ({}): {detail}", code.as_deref().unwrap_or("no error code"))]
    Kms {
        /// The KMS API operation, e.g. `Encrypt`.
        operation: &'static str,
        /// The AWS error code when the service sent one, e.g. `AccessDeniedException`.
        code: Option<String>,
        /// Full error chain, for logs.
        detail: String,
    },
    /// KMS answered without the field we asked for.
    #[error("kms {0} response is missing its payload")]
    EmptyResponse(&'static str),
    /// The stored blob is not one this crate wrote (wrong version byte or empty).
    #[error("wrapped blob has an unknown format")]
    BadBlob,
    /// KMS returned key material of the wrong size for a root key.
    #[error("unwrapped root key is invalid: {0}")]
    BadRootKey(#[source] BarrierError),
}

impl KmsSealError {
    /// The AWS error code, when the failure came from KMS and it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            KmsSealError::Kms { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}
