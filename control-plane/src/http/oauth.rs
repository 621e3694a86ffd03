//! OAuth 2.0 token endpoint (client-credentials grant) for service principals.
//!
//! Errors follow RFC 6749 section 5.2 rather than the API error model, so standard OAuth
//! client libraries understand them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use crate::service::OAuthError;

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Must be "client_credentials".
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    pub client_secret: Option<SecretString>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// invalid_request, invalid_client or unsupported_grant_type.
    pub error: &'static str,
    pub error_description: String,
}

fn oauth_error(
    status: StatusCode,
    error: &'static str,
    description: &str,
    basic: bool,
) -> Response {
    let mut res =
        (status, Json(OAuthErrorBody { error, error_description: description.to_owned() }))
            .into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED && basic {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"coffer\""));
    }
    res
}

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description, false)
}

/// Malformed `Authorization` header on the token endpoint.
struct MalformedBasic;

/// `Authorization: Basic base64(client_id:client_secret)`, if present.
fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, SecretString)>, MalformedBasic> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let encoded = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .ok_or(MalformedBasic)?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| MalformedBasic)?;
    let decoded = String::from_utf8(decoded).map_err(|_| MalformedBasic)?;
    let (id, secret) = decoded.split_once(':').ok_or(MalformedBasic)?;
    Ok(Some((id.to_owned(), SecretString::from(secret))))
}

/// Exchange service-principal client credentials for an access token.
#[utoipa::path(post, path = "/oauth/token", tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthErrorBody),
        (status = 401, body = OAuthErrorBody)))]
pub async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return invalid_request("request body is too large or unreadable");
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return invalid_request("body must be application/x-www-form-urlencoded");
    }
    let Ok(form) = serde_urlencoded::from_bytes::<TokenRequest>(&body) else {
        return invalid_request("malformed form body");
    };
    let basic = match basic_credentials(&headers) {
        Ok(b) => b,
        Err(MalformedBasic) => return invalid_request("malformed Basic authorization header"),
    };
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
                false,
            )
        }
        None => return invalid_request("grant_type is required"),
    }
    let used_basic = basic.is_some();
    let (client_id, secret) = match (basic, form.client_id, form.client_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return invalid_request(
                "send client credentials either in the body or via Basic auth, not both",
            )
        }
        (Some(creds), None, None) => creds,
        (None, Some(id), Some(secret)) => (id, secret),
        // RFC 6749 5.2: missing client authentication is `invalid_client`, not a bad request.
        (None, _, _) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication required: client_id and client_secret",
                false,
            )
        }
    };
    match state.cp.client_credentials(&client_id, secret).await {
        Ok(t) => {
            let body = TokenResponse {
                access_token: t.access_token.expose_secret().to_owned(),
                token_type: "Bearer",
                expires_in: t.expires_in,
            };
            let mut res = Json(body).into_response();
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(OAuthError::InvalidClient) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
            used_basic,
        ),
        Err(OAuthError::Service(e)) => {
            tracing::error!(error = %e, "token endpoint failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(OAuthErrorBody {
                    error: "server_error",
                    error_description: "internal error".to_owned(),
                }),
            )
                .into_response()
        }
    }
}
