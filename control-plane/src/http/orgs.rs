//! Organisations the caller belongs to.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Authed;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery, PageQuery};
use super::AppState;
use crate::store::orgs::OrgWithRole;

#[derive(Serialize, ToSchema)]
pub struct OrgDto {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// The caller's role in this org (absent in the sign-up response, where it is "owner").
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<super::schema::Role>)]
    pub role: Option<String>,
}

impl From<OrgWithRole> for OrgDto {
    fn from(o: OrgWithRole) -> Self {
        Self { id: o.id, name: o.name, created_at: o.created_at, role: Some(o.role) }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrgList {
    pub orgs: Vec<OrgDto>,
    pub next_page_token: Option<String>,
}

/// Organizations the caller is a member of.
#[utoipa::path(get, path = "/v1/orgs", tag = "orgs", params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = OrgList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list_orgs(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<OrgList>, ApiError> {
    let (size, token) = q.parse()?;
    let page = state.cp.list_orgs(caller, size, token).await?;
    Ok(Json(OrgList {
        orgs: page.items.into_iter().map(OrgDto::from).collect(),
        next_page_token: page.next.map(|t| t.encode()),
    }))
}

/// One organization.
#[utoipa::path(get, path = "/v1/orgs/{org_id}", tag = "orgs",
    params(("org_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = OrgDto), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_org(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<OrgDto>, ApiError> {
    Ok(Json(state.cp.get_org(caller, org_id).await?.into()))
}
