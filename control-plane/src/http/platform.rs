//! `/v1/platform/*`: the operator API (login, orphan findings, sweeper metrics, MSP bundles).
//!
//! These routes accept only operator bearer tokens (see [`crate::platform`]): no cookies, no
//! customer tokens. Customer routes, conversely, never accept operator tokens because the
//! customer authenticator does not read the operator token table.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::bearer_token;
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::extract::{ApiJson, ApiPath, ApiQuery, PageQuery};
use super::AppState;
use crate::platform::{OperatorId, OrphanFinding, PlatformError};

impl From<PlatformError> for ApiError {
    fn from(e: PlatformError) -> Self {
        match e {
            PlatformError::Invalid(m) => ApiError::invalid(m),
            PlatformError::Unauthenticated => ApiError::unauthenticated(),
            PlatformError::NotFound(what) => ApiError::not_found(what),
            PlatformError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            PlatformError::Store(e) => ApiError::internal(&e),
            PlatformError::Internal(detail) => ApiError::internal(&detail),
        }
    }
}

/// An authenticated platform operator (bearer token only).
pub struct Operator(pub OperatorId);

impl FromRequestParts<Arc<AppState>> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        // A refused token maps to 401 like a missing one (`From<PlatformError>`).
        Ok(Operator(state.platform.authenticate(token).await?))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorLoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct OperatorLoginResponse {
    /// Operator bearer token (`cpo_...`); valid only on `/v1/platform/*`.
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Log in as a platform operator. Operator accounts are created with
/// `coffer-control-plane operator create --email E`.
#[utoipa::path(post, path = "/v1/platform/login", tag = "platform",
    request_body = OperatorLoginRequest,
    responses((status = 200, body = OperatorLoginResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn login(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<OperatorLoginRequest>,
) -> Result<Json<OperatorLoginResponse>, ApiError> {
    let issued = state.platform.login(&req.email, req.password).await?;
    Ok(Json(OperatorLoginResponse {
        access_token: issued.access_token.expose_secret().to_owned(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct OrphanDto {
    pub id: Uuid,
    /// kms_key, bucket, iam_role, instance_profile, security_group, instance or volume.
    pub kind: String,
    /// Key id, bucket name, role or profile name, group, instance or volume id.
    pub resource_id: String,
    /// Absent for global (IAM) resources.
    pub region: Option<String>,
    /// The resource's `coffer:cluster-id` tag, as found (may be absent or malformed).
    pub cluster_id: Option<String>,
    pub org_id: Option<String>,
    /// unknown_cluster: no such cluster; cluster_deleted: its cluster is deleted and the
    /// resource is neither being deleted nor retained by policy.
    pub reason: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: OffsetDateTime,
}

impl From<OrphanFinding> for OrphanDto {
    fn from(f: OrphanFinding) -> Self {
        Self {
            id: f.id,
            kind: f.kind,
            resource_id: f.resource_id,
            region: f.region,
            cluster_id: f.cluster_id,
            org_id: f.org_id,
            reason: f.reason.as_str(),
            first_seen: f.first_seen,
            last_seen: f.last_seen,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrphanList {
    pub orphans: Vec<OrphanDto>,
    pub next_page_token: Option<String>,
}

/// Coffer-tagged cloud resources that no live cluster owns, as of the latest sweeps.
#[utoipa::path(get, path = "/v1/platform/orphans", tag = "platform",
    params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = OrphanList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list_orphans(
    State(state): State<Arc<AppState>>,
    Operator(operator): Operator,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<OrphanList>, ApiError> {
    let (size, token) = q.parse()?;
    // Findings name every tenant's resources: leave an audit trail of who looked.
    tracing::info!(operator_id = %operator.0, "operator listed orphan findings");
    let page = state.platform.list_orphans(size, token).await?;
    Ok(Json(OrphanList {
        orphans: page.items.into_iter().map(OrphanDto::from).collect(),
        next_page_token: page.next.map(|t| t.encode()),
    }))
}

/// Sweeper counters and the orphan gauge, in Prometheus text format.
#[utoipa::path(get, path = "/v1/platform/metrics", tag = "platform",
    security(("bearer" = [])),
    responses((status = 200, description = "Prometheus text exposition format 0.0.4",
            content_type = "text/plain"),
        (status = 401, body = ErrorBody)))]
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
) -> Result<Response, ApiError> {
    let text = state.platform.metrics_text().await?;
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishMspBundleRequest {
    /// Policy name (reserved `coffer-*` names only) -> HCL.
    pub policies: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct PublishedMspBundleDto {
    /// The new bundle's version (previous newest + 1).
    pub version: u64,
    /// Clusters the bundle was queued to.
    pub clusters: u32,
}

#[derive(Serialize, ToSchema)]
pub struct MspClusterStatusDto {
    pub cluster_id: Uuid,
    /// pending, applied or failed.
    pub state: &'static str,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MspBundleStatusDto {
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: OffsetDateTime,
    /// The operator who published it.
    pub published_by: Uuid,
    pub clusters: Vec<MspClusterStatusDto>,
}

/// Publish a signed operator-policy bundle to every cluster (next version).
#[utoipa::path(post, path = "/v1/platform/msp-bundles", tag = "platform",
    request_body = PublishMspBundleRequest, security(("bearer" = [])),
    responses((status = 200, body = PublishedMspBundleDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn publish_msp_bundle(
    State(state): State<Arc<AppState>>,
    Operator(operator): Operator,
    ApiJson(req): ApiJson<PublishMspBundleRequest>,
) -> Result<Json<PublishedMspBundleDto>, ApiError> {
    let published = state.platform.publish_msp_bundle(operator, req.policies).await?;
    Ok(Json(PublishedMspBundleDto { version: published.version, clusters: published.clusters }))
}

/// Where a bundle version stands on each cluster it was sent to.
#[utoipa::path(get, path = "/v1/platform/msp-bundles/{version}", tag = "platform",
    params(("version" = u64, Path)), security(("bearer" = [])),
    responses((status = 200, body = MspBundleStatusDto), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn msp_bundle_status(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
    ApiPath(version): ApiPath<u64>,
) -> Result<Json<MspBundleStatusDto>, ApiError> {
    let status = state.platform.msp_bundle_status(version).await?;
    Ok(Json(MspBundleStatusDto {
        version: status.version,
        published_at: status.published_at,
        published_by: status.published_by,
        clusters: status
            .clusters
            .into_iter()
            .map(|c| MspClusterStatusDto {
                cluster_id: c.cluster_id,
                state: c.state.as_str(),
                error: c.error,
            })
            .collect(),
    }))
}
