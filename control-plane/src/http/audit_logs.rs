//! Audit logs shipped by the cluster's nodes: list the objects of a time range, or download
//! their lines as JSON lines. Admins only.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Authed;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use super::AppState;
use crate::service::AuditObject;

/// `?from=&to=`: RFC 3339 times, `from` inclusive, `to` exclusive, at most 7 days apart.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// e.g. 2026-11-22T10:00:00Z
    pub from: String,
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditObjectDto {
    /// Object key in the cluster's audit bucket.
    pub key: String,
    /// The node whose audit device wrote it.
    pub node: u32,
    /// Time of its first line.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub start: OffsetDateTime,
    /// Time of its last line.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub end: OffsetDateTime,
    /// Compressed size in bytes.
    pub size: u64,
    /// Number of lines, when the node recorded it.
    pub lines: Option<u64>,
}

impl From<AuditObject> for AuditObjectDto {
    fn from(o: AuditObject) -> Self {
        Self {
            key: o.key,
            node: o.node_index,
            start: o.start,
            end: o.end,
            size: o.size,
            lines: o.lines,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditLogList {
    /// Objects overlapping the range, by start time.
    pub objects: Vec<AuditObjectDto>,
    /// More objects overlap than one answer lists: ask for a shorter range.
    pub truncated: bool,
}

/// Audit-log objects overlapping a time range.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/clusters/{cluster_id}/audit-logs", tag = "audit-logs",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path), RangeQuery),
    security(("bearer" = [])),
    responses((status = 200, body = AuditLogList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list_audit_logs(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<AuditLogList>, ApiError> {
    let listing = state.cp.list_audit_logs(caller, org_id, cluster_id, &q.from, &q.to).await?;
    Ok(Json(AuditLogList {
        objects: listing.objects.into_iter().map(AuditObjectDto::from).collect(),
        truncated: listing.truncated,
    }))
}

/// The audit lines of a time range from every node, in time order, as JSON lines.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/clusters/{cluster_id}/audit-logs/download",
    tag = "audit-logs",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path), RangeQuery),
    security(("bearer" = [])),
    responses((status = 200, content_type = "application/x-ndjson", body = String,
            description = "One Vault-format audit entry per line"),
        (status = 400, body = ErrorBody,
            description = "Bad range, or more than the download limit"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn download_audit_logs(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Response, ApiError> {
    let body = state.cp.download_audit_logs(caller, org_id, cluster_id, &q.from, &q.to).await?;
    let disposition = format!("attachment; filename=\"audit-{cluster_id}.jsonl\"");
    let mut res = body.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
