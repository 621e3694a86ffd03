//! The wire error model, and the single mapping from service errors to it.
//!
//! Every non-2xx response (except `/oauth/token`, which follows RFC 6749) has the body
//! `{"error": {"code", "message", "request_id"}}`. Internal failures are logged with their
//! detail and answered with the generic message "internal error".

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::request_id;
use crate::service::ServiceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidArgument,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// A cluster's node is needed and did not answer.
    NodeUnavailable,
    Internal,
}

impl ErrorCode {
    fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::NodeUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::NotFound => "not_found",
            // 405 has no code of its own in the contract; the request itself is wrong.
            ErrorCode::MethodNotAllowed => "invalid_argument",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::NodeUnavailable => "node_unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// An error as sent to the client. The message must be safe to show and say what to fix.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "missing, invalid or expired credentials")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PermissionDenied, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// Logs `detail` (never sent) and returns the generic internal error.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }
}

/// JSON shape of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: invalid_argument, unauthenticated, permission_denied, not_found,
    /// conflict, payload_too_large, unsupported_media_type, node_unavailable, internal.
    pub code: &'static str,
    /// Human-readable: what to fix.
    pub message: String,
    /// Correlates with server logs; also in the `x-request-id` response header.
    pub request_id: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str(),
                message: self.message,
                request_id: request_id::current(),
            },
        };
        let mut res = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(m) => ApiError::invalid(m),
            ServiceError::Unauthenticated => ApiError::unauthenticated(),
            ServiceError::PermissionDenied(m) => ApiError::forbidden(m),
            ServiceError::NotFound(what) => ApiError::not_found(what),
            ServiceError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            ServiceError::Unavailable(m) => ApiError::new(ErrorCode::NodeUnavailable, m),
            ServiceError::Store(e) => ApiError::internal(&e),
            ServiceError::Internal(detail) => ApiError::internal(&detail),
        }
    }
}

/// Fallback for unknown paths.
pub async fn route_not_found() -> ApiError {
    ApiError::not_found("route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this path")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[tokio::test]
    async fn service_errors_map_to_the_wire_model() {
        let table: Vec<(ServiceError, u16, &str, Option<&str>)> = vec![
            (
                ServiceError::Invalid("name is bad".into()),
                400,
                "invalid_argument",
                Some("name is bad"),
            ),
            (ServiceError::Unauthenticated, 401, "unauthenticated", None),
            (ServiceError::PermissionDenied("no".into()), 403, "permission_denied", Some("no")),
            (ServiceError::NotFound("cluster"), 404, "not_found", Some("cluster not found")),
            (ServiceError::Conflict("taken".into()), 409, "conflict", Some("taken")),
            (
                ServiceError::Unavailable("node did not answer".into()),
                503,
                "node_unavailable",
                Some("node did not answer"),
            ),
            // Internal detail must never reach the client.
            (
                ServiceError::Internal("db password is hunter2".into()),
                500,
                "internal",
                Some("internal error"),
            ),
            (
                ServiceError::Store(StoreError::Conflict("secret_constraint".into())),
                500,
                "internal",
                Some("internal error"),
            ),
        ];
        for (err, status, code, message) in table {
            let res = ApiError::from(err).into_response();
            assert_eq!(res.status().as_u16(), status);
            let bytes = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(body["error"]["code"], code, "{body}");
            if let Some(m) = message {
                assert_eq!(body["error"]["message"], m, "{body}");
            }
        }
    }
}
