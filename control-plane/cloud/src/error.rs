//! The one error type every `Cloud` call returns.
//!
//! The workflow engine that drives these calls only needs to decide "retry later", "give up and
//! surface to an operator" or "it is already gone"; [`ErrorKind`] carries exactly that decision so
//! no caller ever has to look at AWS error codes. The code and message are kept for logs only:
//! they are internal detail and must never be returned to an API client verbatim.

use std::fmt;

/// What a caller should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Throttling, 5xx, timeouts, connection failures, eventual consistency: retry with backoff.
    Transient,
    /// Validation, quota, access denied, conflicts with someone else's resource: retrying the same
    /// request will not help.
    Permanent,
    /// The resource does not exist.
    NotFound,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Permanent => "permanent",
            ErrorKind::NotFound => "not_found",
        }
    }
}

/// A failed cloud operation.
#[derive(Debug, Clone, thiserror::Error)]
pub struct CloudError {
    kind: ErrorKind,
    /// The AWS API operation (or our own step) that failed, e.g. `kms:CreateKey`.
    operation: &'static str,
    /// The provider's error code, e.g. `ThrottlingException`, when there was one.
    code: Option<String>,
    message: String,
}

impl CloudError {
    pub fn new(
        kind: ErrorKind,
        operation: &'static str,
        code: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        CloudError { kind, operation, code, message: message.into() }
    }

    /// Input we refuse before calling the provider (bad CIDR, oversized user data, ...).
    pub fn invalid(operation: &'static str, message: impl Into<String>) -> Self {
        CloudError::new(ErrorKind::Permanent, operation, Some("InvalidInput".to_owned()), message)
    }

    /// The provider answered in a shape we did not expect (a field we rely on is missing).
    pub fn unexpected(operation: &'static str, message: impl Into<String>) -> Self {
        CloudError::new(
            ErrorKind::Permanent,
            operation,
            Some("UnexpectedResponse".to_owned()),
            message,
        )
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// True when the same call may succeed later.
    pub fn retryable(&self) -> bool {
        self.kind == ErrorKind::Transient
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    pub fn operation(&self) -> &'static str {
        self.operation
    }

    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub(crate) fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// Re-classifies an error whose meaning depends on the call site (for example a key policy
    /// naming a role IAM has not propagated yet is transient, not malformed).
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed ({})", self.operation, self.kind.as_str())?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_is_retryable() {
        let check = |kind, expect| {
            let e = CloudError::new(kind, "op", None, "m");
            assert_eq!(e.retryable(), expect, "{kind:?}");
        };
        check(ErrorKind::Transient, true);
        check(ErrorKind::Permanent, false);
        check(ErrorKind::NotFound, false);
    }

    #[test]
    fn display_names_operation_kind_and_code() {
        let e = CloudError::new(
            ErrorKind::Transient,
            "kms:CreateKey",
            Some("ThrottlingException".into()),
            "slow down",
        );
        assert_eq!(
            e.to_string(),
            "kms:CreateKey failed (transient) [ThrottlingException]: slow down"
        );
    }
}
