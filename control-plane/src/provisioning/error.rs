//! Why a step failed, and what the customer is told about it.
//!
//! Cloud error messages come from AWS and may name accounts, ARNs or internal policy details;
//! they are logged, never stored where the operations API shows them. What customers see is
//! built here from the failed call, the AWS error code and, for the failures a customer can
//! fix, a hint.

use coffer_cloud::{CloudError, ErrorKind};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// The database failed mid-step; the step is retried like a transient cloud error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A failure of our own making that retrying will not fix; `message` is customer-safe.
    #[error("{code}: {message}")]
    Permanent { code: &'static str, message: String },
}

impl StepError {
    pub fn permanent(code: &'static str, message: impl Into<String>) -> Self {
        StepError::Permanent { code, message: message.into() }
    }

    pub fn retryable(&self) -> bool {
        match self {
            StepError::Cloud(e) => e.retryable(),
            StepError::Store(_) => true,
            StepError::Permanent { .. } => false,
        }
    }

    /// The operation's `error_code` when this error fails it.
    pub fn code(&self) -> &'static str {
        match self {
            StepError::Cloud(e) => match e.kind() {
                ErrorKind::Transient => "cloud_unavailable",
                ErrorKind::Permanent | ErrorKind::NotFound => cloud_code(e),
            },
            StepError::Store(_) => "internal",
            StepError::Permanent { code, .. } => code,
        }
    }

    /// True for failures that changed nothing in AWS, so the cluster keeps its state instead
    /// of going to `failed`.
    pub fn leaves_cluster_unchanged(&self) -> bool {
        matches!(self, StepError::Permanent { code: "unsupported" | "superseded", .. })
    }

    /// The message that fails the operation after `attempts` tries.
    pub fn final_message(&self, attempts: i32) -> String {
        if self.retryable() {
            let msg = self.public_message();
            let msg = msg.trim_end_matches("; retrying with back-off");
            return format!("{msg}; gave up after {attempts} attempts");
        }
        self.public_message()
    }

    /// What the operations API shows. Never contains provider or database message text.
    pub fn public_message(&self) -> String {
        match self {
            StepError::Cloud(e) => cloud_message(e),
            StepError::Store(_) => "internal error; retrying with back-off".to_owned(),
            StepError::Permanent { message, .. } => message.clone(),
        }
    }
}

fn has(e: &CloudError, needles: &[&str]) -> bool {
    e.code().is_some_and(|c| needles.iter().any(|n| c.contains(n)))
}

fn cloud_code(e: &CloudError) -> &'static str {
    if has(e, &["LimitExceeded", "Quota", "TooMany"]) {
        "cloud_quota_exceeded"
    } else if has(e, &["AccessDenied", "Unauthorized", "AuthFailure", "InvalidClientTokenId"]) {
        "cloud_access_denied"
    } else if has(e, &["InsufficientInstanceCapacity", "Unsupported"]) {
        "cloud_capacity"
    } else {
        "cloud_rejected"
    }
}

fn cloud_message(e: &CloudError) -> String {
    let op = e.operation();
    let code = e.code().map(|c| format!(" ({c})")).unwrap_or_default();
    match e.kind() {
        ErrorKind::Transient => {
            format!("AWS is unavailable or throttling {op}{code}; retrying with back-off")
        }
        ErrorKind::Permanent | ErrorKind::NotFound => match cloud_code(e) {
            "cloud_quota_exceeded" => format!(
                "AWS refused {op}{code}: an account limit was reached; raise the service quota \
                 or delete unused resources, then delete and re-create the cluster"
            ),
            "cloud_access_denied" => format!(
                "AWS refused {op}{code}: the control plane lacks permission; grant it and \
                 re-create the cluster"
            ),
            "cloud_capacity" => format!(
                "AWS has no capacity for {op}{code} in this region or zone; try another size or \
                 region"
            ),
            _ => format!("AWS rejected {op}{code}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages() {
        let check = |kind, code: Option<&str>, expect_code: &str, expect_in_msg: &str| {
            let e = StepError::Cloud(CloudError::new(
                kind,
                "ec2:RunInstances",
                code.map(str::to_owned),
                "arn:aws:iam::123456789012:role/secret-detail",
            ));
            assert_eq!(e.code(), expect_code, "{code:?}");
            let msg = e.public_message();
            assert!(msg.contains(expect_in_msg), "{msg}");
            assert!(!msg.contains("123456789012"), "provider text leaked: {msg}");
        };
        check(ErrorKind::Transient, Some("Throttling"), "cloud_unavailable", "retrying");
        check(ErrorKind::Permanent, Some("InstanceLimitExceeded"), "cloud_quota_exceeded", "quota");
        check(
            ErrorKind::Permanent,
            Some("UnauthorizedOperation"),
            "cloud_access_denied",
            "permission",
        );
        check(
            ErrorKind::Permanent,
            Some("InsufficientInstanceCapacity"),
            "cloud_capacity",
            "capacity",
        );
        check(
            ErrorKind::Permanent,
            Some("InvalidParameterValue"),
            "cloud_rejected",
            "(InvalidParameterValue)",
        );
        check(ErrorKind::Permanent, None, "cloud_rejected", "ec2:RunInstances");
    }

    #[test]
    fn final_messages_say_retries_stopped() {
        let check = |e: StepError, expect: &str| assert_eq!(e.final_message(4), expect);
        check(
            StepError::Cloud(CloudError::new(ErrorKind::Transient, "kms:CreateKey", None, "x")),
            "AWS is unavailable or throttling kms:CreateKey; gave up after 4 attempts",
        );
        check(
            StepError::Store(StoreError::Conflict("c".into())),
            "internal error; gave up after 4 attempts",
        );
        check(StepError::permanent("unsupported", "no"), "no");
    }

    #[test]
    fn retryable() {
        let cloud = |kind| StepError::Cloud(CloudError::new(kind, "op", None, ""));
        assert!(cloud(ErrorKind::Transient).retryable());
        assert!(!cloud(ErrorKind::Permanent).retryable());
        assert!(!StepError::permanent("x", "y").retryable());
    }
}
