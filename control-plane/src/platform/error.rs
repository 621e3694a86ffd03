//! Errors of the platform layer. Transports map them to their own wire formats; the detail of
//! `Store` and `Internal` is for logs only.

use crate::domain::ValidationError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The input breaks a rule; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// Missing, wrong or expired operator credentials (never says which).
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<ValidationError> for PlatformError {
    fn from(e: ValidationError) -> Self {
        PlatformError::Invalid(e.0)
    }
}

impl From<sqlx::Error> for PlatformError {
    fn from(e: sqlx::Error) -> Self {
        PlatformError::Store(StoreError::from(e))
    }
}
