//! Cluster admin tokens: minted on the cluster, shown once, never stored by the control plane.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Authed;
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::extract::{body_rejection, optional_json, ApiPath};
use super::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminTokenRequest {
    /// Token lifetime like 30m or 6h; 5m to 24h, default 6h.
    pub ttl: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AdminTokenResponse {
    /// A Vault token with the customer-admin policy. Shown once; Coffer keeps no copy.
    pub token: String,
    /// Identifies the token for lookup and revocation without revealing it.
    pub accessor: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct RevokedAdminTokens {
    /// How many admin tokens were revoked.
    pub revoked: u32,
}

/// Get an admin token for the cluster's Vault API. Needs the admin role; the token is
/// returned once and never stored.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/clusters/{cluster_id}/admin-token",
    tag = "clusters", params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path)),
    request_body(content = AdminTokenRequest, description = "Optional; an empty body uses the defaults"),
    security(("bearer" = [])),
    responses((status = 200, body = AdminTokenResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn issue_admin_token(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id)): ApiPath<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: Option<AdminTokenRequest> = optional_json(&headers, &body.map_err(body_rejection)?)?;
    let ttl = req.and_then(|r| r.ttl);
    let issued = tokio::select! {
        issued = state.cp.issue_admin_token(caller, org_id, cluster_id, ttl.as_deref()) => issued?,
        () = state.shutdown.cancelled() => return Err(shutting_down()),
    };
    let mut res = Json(AdminTokenResponse {
        token: issued.token.expose_secret().to_owned(),
        accessor: issued.accessor,
        expires_at: issued.expires_at,
    })
    .into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Revoke every admin token the cluster has issued. Needs the admin role.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/clusters/{cluster_id}/revoke-admin-tokens",
    tag = "clusters", params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path)),
    request_body(content = Object, description = "Empty, or an empty JSON object"),
    security(("bearer" = [])),
    responses((status = 200, body = RevokedAdminTokens), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn revoke_admin_tokens(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<RevokedAdminTokens>, ApiError> {
    let revoked = tokio::select! {
        n = state.cp.revoke_admin_tokens(caller, org_id, cluster_id) => n?,
        () = state.shutdown.cancelled() => return Err(shutting_down()),
    };
    Ok(Json(RevokedAdminTokens { revoked }))
}

fn shutting_down() -> ApiError {
    ApiError::new(ErrorCode::NodeUnavailable, "the control plane is restarting; try again")
}
