//! Organisation members and invitations.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Authed;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, PageQuery};
use super::AppState;
use crate::store::members::MemberRow;

#[derive(Serialize, ToSchema)]
pub struct MemberDto {
    pub user_id: Uuid,
    pub email: String,
    #[schema(value_type = super::schema::Role)]
    pub role: String,
    /// "active", or "invited" until the address signs up.
    #[schema(value_type = super::schema::MemberStatus)]
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<MemberRow> for MemberDto {
    fn from(m: MemberRow) -> Self {
        Self {
            user_id: m.user_id,
            email: m.email,
            role: m.role,
            status: if m.active { "active" } else { "invited" },
            created_at: m.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<MemberDto>,
    pub next_page_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    pub email: String,
    #[schema(value_type = super::schema::Role)]
    pub role: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    #[schema(value_type = super::schema::Role)]
    pub role: String,
}

/// Members of an organization.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/members", tag = "members",
    params(("org_id" = Uuid, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = MemberList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<MemberList>, ApiError> {
    let (size, token) = q.parse()?;
    let page = state.cp.list_members(caller, org_id, size, token).await?;
    Ok(Json(MemberList {
        members: page.items.into_iter().map(MemberDto::from).collect(),
        next_page_token: page.next.map(|t| t.encode()),
    }))
}

/// Add a member by email (admin; owner to add owners). Unknown emails are invited.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/members", tag = "members",
    params(("org_id" = Uuid, Path)), request_body = AddMemberRequest, security(("bearer" = [])),
    responses((status = 201, body = MemberDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> Result<(StatusCode, Json<MemberDto>), ApiError> {
    let m = state.cp.add_member(caller, org_id, &req.email, &req.role).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// Change a member's role. The last owner cannot be demoted.
#[utoipa::path(patch, path = "/v1/orgs/{org_id}/members/{user_id}", tag = "members",
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = UpdateMemberRequest,
    security(("bearer" = [])),
    responses((status = 200, body = MemberDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_member(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, user_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<UpdateMemberRequest>,
) -> Result<Json<MemberDto>, ApiError> {
    let m = state.cp.update_member(caller, org_id, user_id, &req.role).await?;
    Ok(Json(m.into()))
}

/// Remove a member. The last owner cannot be removed.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/members/{user_id}", tag = "members",
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, user_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state.cp.remove_member(caller, org_id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
