//! The one place core errors become HTTP: status code plus Vault's `{"errors": [...]}` body.
//! Internal errors are logged with their detail and answered with a generic message.

use super::render::json_response;
use crate::core::error::CoreError;
use axum::response::Response;
use http::StatusCode;
use serde_json::json;

pub fn error_response(e: CoreError) -> Response {
    let (status, msg) = match &e {
        CoreError::BadRequest(m) | CoreError::Conflict(m) => {
            (StatusCode::BAD_REQUEST, Some(m.clone()))
        }
        CoreError::PermissionDenied => {
            (StatusCode::FORBIDDEN, Some("permission denied".to_owned()))
        }
        CoreError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
        CoreError::UnsupportedOperation => {
            (StatusCode::METHOD_NOT_ALLOWED, Some("unsupported operation".to_owned()))
        }
        CoreError::Sealed => (StatusCode::SERVICE_UNAVAILABLE, Some("Vault is sealed".to_owned())),
        CoreError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error while handling request");
            (StatusCode::INTERNAL_SERVER_ERROR, Some("internal error".to_owned()))
        }
    };
    let errors: Vec<String> = msg.into_iter().collect();
    json_response(status, &json!({ "errors": errors }))
}

/// An error produced by the HTTP layer itself (bad framing, size limits).
pub fn http_error(status: StatusCode, msg: &str) -> Response {
    json_response(status, &json!({ "errors": [msg] }))
}
