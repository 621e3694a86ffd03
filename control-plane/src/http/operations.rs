//! Long-running operations: read, or long-poll until terminal.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Authed;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use super::AppState;
use crate::domain::WaitTimeout;
use crate::store::operations::{Operation, StepRow};

#[derive(Serialize, ToSchema)]
pub struct StepDto {
    pub name: String,
    #[schema(value_type = super::schema::StepState)]
    pub state: String,
    pub attempt: i32,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
}

impl From<StepRow> for StepDto {
    fn from(s: StepRow) -> Self {
        Self {
            name: s.name,
            state: s.state,
            attempt: s.attempt,
            error: s.error,
            started_at: s.started_at,
            finished_at: s.finished_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OperationErrorDto {
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct OperationDto {
    pub id: Uuid,
    pub org_id: Uuid,
    pub cluster_id: Uuid,
    #[schema(value_type = super::schema::OperationKind)]
    pub kind: String,
    #[schema(value_type = super::schema::OperationState)]
    pub state: String,
    pub steps: Vec<StepDto>,
    pub error: Option<OperationErrorDto>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
}

impl From<Operation> for OperationDto {
    fn from(o: Operation) -> Self {
        let op = o.op;
        let error = match (op.error_code, op.error_message) {
            (None, None) => None,
            (code, message) => Some(OperationErrorDto {
                code: code.unwrap_or_else(|| "internal".to_owned()),
                message: message.unwrap_or_default(),
            }),
        };
        Self {
            id: op.id,
            org_id: op.org_id,
            cluster_id: op.cluster_id,
            kind: op.kind,
            state: op.state,
            steps: o.steps.into_iter().map(StepDto::from).collect(),
            error,
            created_at: op.created_at,
            updated_at: op.updated_at,
            started_at: op.started_at,
            finished_at: op.finished_at,
        }
    }
}

/// One operation.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/operations/{op_id}", tag = "operations",
    params(("org_id" = Uuid, Path), ("op_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = OperationDto), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_operation(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, op_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<OperationDto>, ApiError> {
    Ok(Json(state.cp.get_operation(caller, org_id, op_id).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// How long to wait, like 500ms, 5s or 1m; at most 60s, default 5s.
    pub timeout: Option<String>,
}

/// Wait until the operation is terminal or the timeout elapses; returns it either way.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/operations/{op_id}/wait", tag = "operations",
    params(("org_id" = Uuid, Path), ("op_id" = Uuid, Path), WaitQuery), security(("bearer" = [])),
    responses((status = 200, body = OperationDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn wait_operation(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, op_id)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(q): ApiQuery<WaitQuery>,
) -> Result<Json<OperationDto>, ApiError> {
    let timeout = match q.timeout.as_deref() {
        Some(t) => WaitTimeout::parse(t).map_err(|e| ApiError::invalid(e.0))?,
        None => WaitTimeout::default(),
    };
    let op = state.cp.wait_operation(caller, org_id, op_id, timeout.get(), &state.shutdown).await?;
    Ok(Json(op.into()))
}
