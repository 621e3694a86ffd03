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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use tokio_util::sync::CancellationToken;
    use tower::ServiceExt as _;

    use super::*;
    use crate::config::{AuthSettings, PasswordHashSettings};
    use crate::service::{ControlPlane, OperationEvents};

    #[tokio::test]
    async fn unreachable_database_is_503() {
        // Port 1 on localhost refuses connections; the lazy pool fails on first use.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap();
        let auth = AuthSettings {
            password_hash: PasswordHashSettings { memory_kib: 64, iterations: 1, parallelism: 1 },
            ..AuthSettings::default()
        };
        let platform = crate::platform::Platform::new(
            pool.clone(),
            &Default::default(),
            auth.password_hash,
            Default::default(),
        )
        .unwrap();
        let cp = ControlPlane::new(pool, auth, OperationEvents::default()).unwrap();
        let state = Arc::new(AppState {
            cp,
            shutdown: CancellationToken::new(),
            secure_cookies: false,
            allowed_origins: Vec::new(),
            platform,
        });
        let app = crate::http::router(state, 1024);
        let res =
            app.oneshot(Request::get("/v1/health").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bytes = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["database"], "unreachable");
    }
}
