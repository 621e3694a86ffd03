//! The single place where AWS SDK errors become [`CloudError`]s.
//!
//! Every service module funnels its SDK results through [`SdkResultExt::op`], so the
//! Transient / Permanent / NotFound decision is made once, from the error code and HTTP status,
//! and stays consistent across KMS, S3, IAM and EC2.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{CloudError, ErrorKind};

/// Codes AWS services use for "slow down" (the SDK's own retry classifier uses the same list).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Server-side or eventual-consistency failures that a later identical call can get past.
const TRANSIENT: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalErrorException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "KMSInternalException",
    "DependencyTimeoutException",
    "OperationAborted",
    "InsufficientInstanceCapacity",
    "InsufficientVolumeCapacity",
    // Deleting a security group or bucket while instances or objects are still going away.
    "DependencyViolation",
    "ConcurrentModification",
    "ConcurrentModificationException",
    "IncorrectInstanceState",
];

/// Decides what a caller should do, from the provider's error code and the HTTP status.
pub(crate) fn classify(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    if let Some(code) = code {
        if THROTTLING.contains(&code) || TRANSIENT.contains(&code) {
            return ErrorKind::Transient;
        }
        if code.starts_with("NoSuch")
            || code.ends_with(".NotFound")
            || code == "NotFoundException"
            || code == "NotFound"
            || code == "ServerSideEncryptionConfigurationNotFoundError"
        {
            return ErrorKind::NotFound;
        }
    }
    match status {
        Some(429) => ErrorKind::Transient,
        Some(s) if s >= 500 => ErrorKind::Transient,
        Some(404) => ErrorKind::NotFound,
        _ => ErrorKind::Permanent,
    }
}

pub(crate) fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let meta = service.err();
            let status = service.raw().status().as_u16();
            let code = meta.code().map(str::to_owned);
            let kind = classify(code.as_deref(), Some(status));
            let message = meta.message().unwrap_or_default().to_owned();
            CloudError::new(kind, operation, code, message)
        }
        SdkError::TimeoutError(_) => CloudError::new(
            ErrorKind::Transient,
            operation,
            Some("Timeout".to_owned()),
            "request timed out",
        ),
        SdkError::DispatchFailure(dispatch) => {
            // A malformed request (bad endpoint URL, ...) fails the same way every time.
            let kind = if dispatch.is_user() { ErrorKind::Permanent } else { ErrorKind::Transient };
            CloudError::new(
                kind,
                operation,
                Some("Dispatch".to_owned()),
                DisplayErrorContext(&err).to_string(),
            )
        }
        SdkError::ResponseError(response) => {
            // The body did not parse; a 5xx with an odd body is still the server's fault.
            let status = response.raw().status().as_u16();
            let kind = if status >= 500 || status == 429 {
                ErrorKind::Transient
            } else {
                ErrorKind::Permanent
            };
            CloudError::new(
                kind,
                operation,
                Some("ResponseError".to_owned()),
                DisplayErrorContext(&err).to_string(),
            )
        }
        _ => CloudError::new(
            ErrorKind::Permanent,
            operation,
            Some("ConstructionFailure".to_owned()),
            DisplayErrorContext(&err).to_string(),
        ),
    }
}

/// `.op("kms:CreateKey")?` on any SDK call result.
pub(crate) trait SdkResultExt<T> {
    fn op(self, operation: &'static str) -> Result<T, CloudError>;
}

impl<T, E> SdkResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn op(self, operation: &'static str) -> Result<T, CloudError> {
        self.map_err(|e| from_sdk(operation, e))
    }
}

/// `.built("s3:PutBucketTagging")?` on an SDK builder that rejects a missing required field:
/// a bug on our side, never worth retrying.
pub(crate) trait BuildResultExt<T> {
    fn built(self, operation: &'static str) -> Result<T, CloudError>;
}

impl<T> BuildResultExt<T> for Result<T, aws_smithy_types::error::operation::BuildError> {
    fn built(self, operation: &'static str) -> Result<T, CloudError> {
        self.map_err(|e| {
            CloudError::new(
                ErrorKind::Permanent,
                operation,
                Some("BuildError".to_owned()),
                e.to_string(),
            )
        })
    }
}

/// Treats "not found" as success: the shape of every idempotent delete.
pub(crate) fn ignore_not_found<T>(r: Result<T, CloudError>) -> Result<Option<T>, CloudError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// For sweeper listings: a resource that is gone, or that our principal may not read (another
/// team's key or bucket in the same account), is not one Coffer manages; skip it rather than
/// fail the whole listing.
pub(crate) fn skip_unreadable<T>(r: Result<T, CloudError>) -> Result<Option<T>, CloudError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e)
            if e.is_not_found()
                || e.has_code("AccessDenied")
                || e.has_code("AccessDeniedException") =>
        {
            tracing::debug!(error = %e, "skipping a resource we cannot read");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let check = |code: Option<&str>, status: Option<u16>, expect: ErrorKind| {
            assert_eq!(classify(code, status), expect, "code={code:?} status={status:?}");
        };
        use ErrorKind::*;
        check(Some("ThrottlingException"), Some(400), Transient);
        check(Some("RequestLimitExceeded"), Some(503), Transient);
        check(Some("SlowDown"), Some(503), Transient);
        check(Some("KMSInternalException"), Some(500), Transient);
        check(Some("DependencyViolation"), Some(400), Transient);
        check(Some("InsufficientInstanceCapacity"), Some(500), Transient);
        check(None, Some(502), Transient);
        check(None, Some(429), Transient);
        check(Some("NotFoundException"), Some(400), NotFound);
        check(Some("NoSuchEntity"), Some(404), NotFound);
        check(Some("NoSuchBucket"), Some(404), NotFound);
        check(Some("InvalidGroup.NotFound"), Some(400), NotFound);
        check(Some("InvalidInstanceID.NotFound"), Some(400), NotFound);
        check(None, Some(404), NotFound);
        check(Some("AccessDenied"), Some(403), Permanent);
        check(Some("AccessDeniedException"), Some(400), Permanent);
        check(Some("ValidationError"), Some(400), Permanent);
        check(Some("LimitExceeded"), Some(409), Permanent);
        check(Some("InvalidParameterValue"), Some(400), Permanent);
        check(Some("MalformedPolicyDocumentException"), Some(400), Permanent);
        check(Some("BucketAlreadyExists"), Some(409), Permanent);
        check(None, None, Permanent);
    }

    #[test]
    fn listings_skip_gone_and_unreadable_but_not_failures() {
        let check = |kind: ErrorKind, code: &str, skipped: bool| {
            let r: Result<(), CloudError> =
                Err(CloudError::new(kind, "op", Some(code.to_owned()), ""));
            match skip_unreadable(r) {
                Ok(None) => assert!(skipped, "{code} skipped"),
                Err(_) => assert!(!skipped, "{code} not skipped"),
                Ok(Some(())) => unreachable!(),
            }
        };
        check(ErrorKind::NotFound, "NoSuchBucket", true);
        check(ErrorKind::Permanent, "AccessDenied", true);
        check(ErrorKind::Permanent, "AccessDeniedException", true);
        check(ErrorKind::Transient, "ThrottlingException", false);
        check(ErrorKind::Permanent, "ValidationException", false);
    }
}
