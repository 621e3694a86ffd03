//! Sign-up and password login (which also opens a console session cookie).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::SESSION_COOKIE;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use super::orgs::OrgDto;
use super::AppState;
use crate::store::users::UserRow;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub email: String,
    /// At least 12 characters.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    pub org_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<UserRow> for UserDto {
    fn from(u: UserRow) -> Self {
        Self { id: u.id, email: u.email, created_at: u.created_at }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SignupResponse {
    pub user: UserDto,
    pub org: OrgDto,
}

/// Create an account and an organization owned by it.
#[utoipa::path(post, path = "/v1/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 201, body = SignupResponse), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn signup(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResponse>), ApiError> {
    let out = state.cp.signup(&req.email, req.password, &req.org_name).await?;
    let org =
        OrgDto { id: out.org.id, name: out.org.name, created_at: out.org.created_at, role: None };
    Ok((StatusCode::CREATED, Json(SignupResponse { user: out.user.into(), org })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Seconds until the token and session expire.
    pub expires_in: u64,
    /// Send as `x-csrf-token` on unsafe requests authenticated by the session cookie.
    pub csrf_token: String,
}

/// Log in with email and password. Returns a bearer token and also sets the
/// `coffer_session` cookie for the web console.
#[utoipa::path(post, path = "/v1/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody)))]
pub async fn login(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let out = state.cp.login(&req.email, req.password).await?;
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        out.token.access_token.expose_secret(),
        out.token.expires_in
    );
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(&e))?;
    let body = LoginResponse {
        access_token: out.token.access_token.expose_secret().to_owned(),
        token_type: "Bearer",
        expires_in: out.token.expires_in,
        csrf_token: out.csrf_token.expose_secret().to_owned(),
    };
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
