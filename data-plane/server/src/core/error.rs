//! The core's error type. Every failure a request can hit maps to exactly one variant, and the
//! HTTP layer turns each variant into a status code and a client-safe message in one place.
//! `Internal` carries detail for the log only; it is never shown to a client.

use coffer_barrier::BarrierError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Bad input from the client (400). The message is shown to the client.
    #[error("{0}")]
    BadRequest(String),
    /// Missing/invalid token or an ACL denial (403), like Vault: a bad token is not distinguishable
    /// from a lack of permission.
    #[error("permission denied")]
    PermissionDenied,
    /// Nothing at this path (404). An optional message is shown to the client.
    #[error("not found")]
    NotFound(Option<String>),
    /// The path exists but does not support this operation (405).
    #[error("unsupported operation")]
    UnsupportedOperation,
    /// The barrier is sealed (503).
    #[error("Vault is sealed")]
    Sealed,
    /// A conflict the client can resolve, e.g. a check-and-set mismatch (400 in Vault).
    #[error("{0}")]
    Conflict(String),
    /// Anything else (500). The string goes to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn bad(msg: impl Into<String>) -> Self {
        CoreError::BadRequest(msg.into())
    }
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        CoreError::Internal(msg.to_string())
    }
}

impl From<BarrierError> for CoreError {
    fn from(e: BarrierError) -> Self {
        match e {
            BarrierError::Sealed => CoreError::Sealed,
            other => CoreError::Internal(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for CoreError {
    fn from(e: serde_json::Error) -> Self {
        CoreError::Internal(format!("stored JSON is corrupt: {e}"))
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
