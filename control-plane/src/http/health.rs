//! Liveness and database reachability, for load balancers and deploy checks.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::store;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// "ok" or "degraded".
    pub status: &'static str,
    /// "ok" or "unreachable".
    pub database: &'static str,
}

/// Service health; 503 when the database cannot be reached.
#[utoipa::path(get, path = "/v1/health", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Health>) {
    match store::ping(state.cp.pool()).await {
        Ok(()) => (StatusCode::OK, Json(Health { status: "ok", database: "ok" })),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health { status: "degraded", database: "unreachable" }),
            )
        }
    }
}
