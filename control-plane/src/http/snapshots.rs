//! Cluster snapshots: list, take, read, restore, delete. The work happens on the cluster's node;
//! states are reconciled from the node's answers whenever a snapshot is read.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Authed;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery, PageQuery};
use super::AppState;
use crate::store::snapshots::SnapshotRow;

#[derive(Serialize, ToSchema)]
pub struct SnapshotDto {
    pub id: Uuid,
    pub cluster_id: Uuid,
    /// creating, available, restoring or failed.
    #[schema(value_type = SnapshotState)]
    pub state: String,
    /// manual (API) or scheduled (daily, production tiers).
    #[schema(value_type = SnapshotOrigin)]
    pub origin: String,
    /// Set once available.
    pub size_bytes: Option<i64>,
    /// Hex SHA-256 of the snapshot object; set once available, checked on restore.
    pub sha256: Option<String>,
    /// Why the snapshot failed (set only in state `failed`; a failed restore is reported in
    /// `last_restore` and leaves the snapshot available unless the object itself is bad).
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When the snapshot was taken (became available).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<OffsetDateTime>,
    /// When it was last restored.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub restored_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// How the most recent restore of this snapshot ended; null if it was never restored.
    pub last_restore: Option<LastRestoreDto>,
}

/// The outcome of a snapshot's most recent restore.
#[derive(Serialize, ToSchema)]
pub struct LastRestoreDto {
    /// succeeded or failed.
    #[schema(value_type = RestoreState)]
    pub state: String,
    /// Why the restore failed (customer-safe); null when it succeeded.
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub finished_at: OffsetDateTime,
}

/// Documentation of `last_restore.state` values.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RestoreState {
    Succeeded,
    Failed,
}

/// Documentation of `state` values.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotState {
    Creating,
    Available,
    Restoring,
    Failed,
}

/// Documentation of `origin` values.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotOrigin {
    Manual,
    Scheduled,
}

impl From<SnapshotRow> for SnapshotDto {
    fn from(s: SnapshotRow) -> Self {
        let last_restore = match (s.last_restore_state, s.last_restore_finished_at) {
            (Some(state), Some(finished_at)) => {
                Some(LastRestoreDto { state, error: s.last_restore_error, finished_at })
            }
            _ => None,
        };
        Self {
            id: s.id,
            cluster_id: s.cluster_id,
            state: s.state,
            origin: s.origin,
            size_bytes: s.size_bytes,
            sha256: s.sha256,
            error: s.error,
            created_at: s.created_at,
            completed_at: s.completed_at,
            restored_at: s.restored_at,
            updated_at: s.updated_at,
            last_restore,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SnapshotList {
    pub snapshots: Vec<SnapshotDto>,
    pub next_page_token: Option<String>,
}

/// Snapshots of a cluster, oldest first.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots", tag = "snapshots",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path), PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = SnapshotList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_snapshots(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<SnapshotList>, ApiError> {
    let (size, token) = q.parse()?;
    let page = state.cp.list_snapshots(caller, org_id, cluster_id, size, token).await?;
    Ok(Json(SnapshotList {
        snapshots: page.items.into_iter().map(SnapshotDto::from).collect(),
        next_page_token: page.next.map(|t| t.encode()),
    }))
}

/// Take a snapshot now. Asynchronous: the snapshot is `creating` until the node has stored
/// it (then `available`) or failed.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots", tag = "snapshots",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path)),
    request_body(content = Object, description = "Empty, or an empty JSON object"),
    security(("bearer" = [])),
    responses((status = 202, body = SnapshotDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody,
            description = "The cluster is not provisioned or is being deleted"),
        (status = 503, body = ErrorBody)))]
pub async fn create_snapshot(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<SnapshotDto>), ApiError> {
    let row = state.cp.create_snapshot(caller, org_id, cluster_id).await?;
    Ok((StatusCode::ACCEPTED, Json(row.into())))
}

/// One snapshot.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}",
    tag = "snapshots",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path), ("snapshot_id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = SnapshotDto), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_snapshot(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id, snapshot_id)): ApiPath<(Uuid, Uuid, Uuid)>,
) -> Result<Json<SnapshotDto>, ApiError> {
    Ok(Json(state.cp.get_snapshot(caller, org_id, cluster_id, snapshot_id).await?.into()))
}

/// Restore an available snapshot onto the cluster (replaces its data). Asynchronous: the
/// snapshot is `restoring`, then `available` again with the outcome in `last_restore`
/// (a busy, sealed or silent node does not condemn the snapshot); it becomes `failed` only
/// when the node finds the object itself bad (checksum mismatch or object missing).
#[utoipa::path(post,
    path = "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}/restore",
    tag = "snapshots",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path), ("snapshot_id" = Uuid, Path)),
    request_body(content = Object, description = "Empty, or an empty JSON object"),
    security(("bearer" = [])),
    responses((status = 202, body = SnapshotDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody,
            description = "The snapshot is not available, or another restore is running"),
        (status = 503, body = ErrorBody)))]
pub async fn restore_snapshot(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id, snapshot_id)): ApiPath<(Uuid, Uuid, Uuid)>,
) -> Result<(StatusCode, Json<SnapshotDto>), ApiError> {
    let row = state.cp.restore_snapshot(caller, org_id, cluster_id, snapshot_id).await?;
    Ok((StatusCode::ACCEPTED, Json(row.into())))
}

/// Delete a snapshot. It disappears from the API at once; the node deletes the object.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}",
    tag = "snapshots",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path), ("snapshot_id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody,
            description = "The snapshot is being created or restored")))]
pub async fn delete_snapshot(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id, snapshot_id)): ApiPath<(Uuid, Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state.cp.delete_snapshot(caller, org_id, cluster_id, snapshot_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
