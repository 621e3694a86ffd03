//! Clusters: create (idempotent with `Idempotency-Key`), read, update, delete.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Authed;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, PageQuery};
use super::operations::OperationDto;
use super::AppState;
use crate::service::{ClusterPatch, ClusterRequest, ClusterWithOperation};
use crate::store::clusters::ClusterRow;

#[derive(Serialize, ToSchema)]
pub struct ClusterDto {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    #[schema(value_type = super::schema::Tier)]
    pub tier: String,
    #[schema(value_type = super::schema::Size)]
    pub size: String,
    #[schema(value_type = super::schema::Region)]
    pub region: String,
    pub version: String,
    /// Observed state, written by the provisioning engine.
    #[schema(value_type = super::schema::ClusterState)]
    pub state: String,
    /// Null until the cluster has been provisioned.
    pub address: Option<String>,
    pub public_endpoint: bool,
    pub ip_allow_list: Vec<String>,
    pub node_count: i32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<ClusterRow> for ClusterDto {
    fn from(c: ClusterRow) -> Self {
        Self {
            id: c.id,
            org_id: c.org_id,
            name: c.name,
            tier: c.tier,
            size: c.size,
            region: c.region,
            version: c.version,
            state: c.state,
            address: c.address,
            public_endpoint: c.public_endpoint,
            ip_allow_list: c.ip_allow_list,
            node_count: c.node_count,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ClusterList {
    pub clusters: Vec<ClusterDto>,
    pub next_page_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ClusterOperation {
    pub cluster: ClusterDto,
    pub operation: OperationDto,
}

impl From<ClusterWithOperation> for ClusterOperation {
    fn from(c: ClusterWithOperation) -> Self {
        Self { cluster: c.cluster.into(), operation: c.operation.into() }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClusterRequest {
    /// DNS label: 3-32 chars of a-z, 0-9, '-', starting with a letter.
    pub name: String,
    /// dev: small only; essentials: small or medium; standard: any size.
    #[schema(value_type = super::schema::Tier)]
    pub tier: String,
    #[schema(value_type = super::schema::Size)]
    pub size: String,
    #[schema(value_type = super::schema::Region)]
    pub region: String,
    /// Defaults to the newest release.
    pub version: Option<String>,
    /// Default false.
    pub public_endpoint: Option<bool>,
    /// CIDR blocks allowed to reach the cluster. Default empty.
    pub ip_allow_list: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClusterRequest {
    pub ip_allow_list: Option<Vec<String>>,
    pub public_endpoint: Option<bool>,
    pub version: Option<String>,
}

/// Clusters of an organization.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/clusters", tag = "clusters",
    params(("org_id" = Uuid, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ClusterList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_clusters(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ClusterList>, ApiError> {
    let (size, token) = q.parse()?;
    let page = state.cp.list_clusters(caller, org_id, size, token).await?;
    Ok(Json(ClusterList {
        clusters: page.items.into_iter().map(ClusterDto::from).collect(),
        next_page_token: page.next.map(|t| t.encode()),
    }))
}

/// Request a new cluster. Provisioning is asynchronous: follow the returned operation.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/clusters", tag = "clusters",
    params(("org_id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, at most 128 chars")),
    request_body = CreateClusterRequest, security(("bearer" = [])),
    responses((status = 202, body = ClusterOperation), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_cluster(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath(org_id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateClusterRequest>,
) -> Result<(StatusCode, Json<ClusterOperation>), ApiError> {
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiError::invalid("Idempotency-Key must be 1 to 128 visible ASCII characters")
        })?),
        None => None,
    };
    let req = ClusterRequest {
        name: req.name,
        tier: req.tier,
        size: req.size,
        region: req.region,
        version: req.version,
        public_endpoint: req.public_endpoint,
        ip_allow_list: req.ip_allow_list,
    };
    let out = state.cp.create_cluster(caller, org_id, req, key).await?;
    Ok((StatusCode::ACCEPTED, Json(out.into())))
}

/// One cluster.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/clusters/{cluster_id}", tag = "clusters",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ClusterDto), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_cluster(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<ClusterDto>, ApiError> {
    Ok(Json(state.cp.get_cluster(caller, org_id, cluster_id).await?.into()))
}

/// Change network settings or version; returns the update operation.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/clusters/{cluster_id}", tag = "clusters",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path)),
    request_body = UpdateClusterRequest, security(("bearer" = [])),
    responses((status = 202, body = ClusterOperation), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_cluster(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<UpdateClusterRequest>,
) -> Result<(StatusCode, Json<ClusterOperation>), ApiError> {
    let patch = ClusterPatch {
        ip_allow_list: req.ip_allow_list,
        public_endpoint: req.public_endpoint,
        version: req.version,
    };
    let out = state.cp.update_cluster(caller, org_id, cluster_id, patch).await?;
    Ok((StatusCode::ACCEPTED, Json(out.into())))
}

/// Delete a cluster; returns the teardown operation.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/clusters/{cluster_id}", tag = "clusters",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 202, body = ClusterOperation), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn delete_cluster(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<ClusterOperation>), ApiError> {
    let out = state.cp.delete_cluster(caller, org_id, cluster_id).await?;
    Ok((StatusCode::ACCEPTED, Json(out.into())))
}
