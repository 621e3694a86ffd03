//! Service principals (machine identities) of an organisation.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Authed;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, PageQuery};
use super::AppState;
use crate::store::service_principals::ServicePrincipalRow;

#[derive(Serialize, ToSchema)]
pub struct ServicePrincipalDto {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = super::schema::Role)]
    pub role: String,
    pub client_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<ServicePrincipalRow> for ServicePrincipalDto {
    fn from(s: ServicePrincipalRow) -> Self {
        Self {
            id: s.id,
            name: s.name,
            role: s.role,
            client_id: s.client_id,
            created_at: s.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServicePrincipalList {
    pub service_principals: Vec<ServicePrincipalDto>,
    pub next_page_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServicePrincipalRequest {
    pub name: String,
    /// viewer, contributor or admin; at most the caller's own role.
    #[schema(value_type = super::schema::Role)]
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedServicePrincipalDto {
    pub service_principal: ServicePrincipalDto,
    /// Shown only in this response; store it now.
    pub client_secret: String,
}

/// Service principals of an organization.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/service-principals", tag = "service-principals",
    params(("org_id" = Uuid, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ServicePrincipalList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_service_principals(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ServicePrincipalList>, ApiError> {
    let (size, token) = q.parse()?;
    let page = state.cp.list_service_principals(caller, org_id, size, token).await?;
    Ok(Json(ServicePrincipalList {
        service_principals: page.items.into_iter().map(ServicePrincipalDto::from).collect(),
        next_page_token: page.next.map(|t| t.encode()),
    }))
}

/// Create a service principal; the client secret is returned once.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/service-principals", tag = "service-principals",
    params(("org_id" = Uuid, Path)), request_body = CreateServicePrincipalRequest,
    security(("bearer" = [])),
    responses((status = 201, body = CreatedServicePrincipalDto),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn create_service_principal(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<CreateServicePrincipalRequest>,
) -> Result<(StatusCode, Json<CreatedServicePrincipalDto>), ApiError> {
    let out = state.cp.create_service_principal(caller, org_id, &req.name, &req.role).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedServicePrincipalDto {
            service_principal: out.service_principal.into(),
            client_secret: out.client_secret.expose_secret().to_owned(),
        }),
    ))
}

/// Delete a service principal; its tokens stop working immediately.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/service-principals/{sp_id}",
    tag = "service-principals",
    params(("org_id" = Uuid, Path), ("sp_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn delete_service_principal(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, sp_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    state.cp.delete_service_principal(caller, org_id, sp_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
