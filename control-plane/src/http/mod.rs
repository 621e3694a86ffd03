//! HTTP API: routers per resource, extractors, the error model and the OpenAPI document.
//!
//! Every route is registered through `utoipa-axum`'s `routes!`, so the OpenAPI document is
//! generated from the same handler list that serves traffic and cannot miss a route.

mod admin_tokens;
mod audit_logs;
mod auth;
mod clusters;
pub mod error;
mod extract;
mod health;
mod logout;
mod members;
mod node_channel;
mod nodes;
mod oauth;
mod openapi;
mod operations;
mod orgs;
mod platform;
pub mod request_id;
mod schema;
mod service_principals;
mod session;
mod snapshots;

pub(crate) use auth::cookie;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Router;
use tokio_util::sync::CancellationToken;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::service::ControlPlane;

/// Shared, immutable per-process state for handlers.
pub struct AppState {
    pub cp: ControlPlane,
    /// Cancelled on shutdown so long polls return promptly.
    pub shutdown: CancellationToken,
    pub secure_cookies: bool,
    /// Normalised (lowercase, no trailing '/') console origins; empty = same host only.
    pub allowed_origins: Vec<String>,
    /// Operator use-cases (`/v1/platform/*`), separate from customer ones.
    pub platform: crate::platform::Platform,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Coffer control plane API", version = "1.0.0",
        description = "Manage organizations, members, service principals and managed secrets clusters."),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

fn api() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(session::signup))
        .routes(routes!(session::login))
        .routes(routes!(logout::logout))
        .routes(routes!(oauth::token))
        .routes(routes!(orgs::list_orgs))
        .routes(routes!(orgs::get_org))
        .routes(routes!(members::list_members, members::add_member))
        .routes(routes!(members::update_member, members::remove_member))
        .routes(routes!(
            service_principals::list_service_principals,
            service_principals::create_service_principal
        ))
        .routes(routes!(service_principals::delete_service_principal))
        .routes(routes!(clusters::list_clusters, clusters::create_cluster))
        .routes(routes!(clusters::get_cluster, clusters::update_cluster, clusters::delete_cluster))
        .routes(routes!(operations::get_operation))
        .routes(routes!(operations::wait_operation))
        .routes(routes!(nodes::register_node))
        .routes(routes!(node_channel::poll_commands))
        .routes(routes!(node_channel::post_result))
        .routes(routes!(node_channel::heartbeat))
        .routes(routes!(node_channel::list_nodes))
        .routes(routes!(admin_tokens::issue_admin_token))
        .routes(routes!(admin_tokens::revoke_admin_tokens))
        .routes(routes!(snapshots::list_snapshots, snapshots::create_snapshot))
        .routes(routes!(snapshots::get_snapshot, snapshots::delete_snapshot))
        .routes(routes!(snapshots::restore_snapshot))
        .routes(routes!(audit_logs::list_audit_logs))
        .routes(routes!(audit_logs::download_audit_logs))
        .routes(routes!(platform::login))
        .routes(routes!(platform::list_orphans))
        .routes(routes!(platform::metrics))
        .routes(routes!(platform::publish_msp_bundle))
        .routes(routes!(platform::msp_bundle_status))
}

/// The OpenAPI 3.1 document for every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = api().split_for_parts();
    doc
}

/// The complete application router with middleware.
pub fn router(state: Arc<AppState>, body_limit: usize) -> Router {
    let (router, _) = api().split_for_parts();
    router
        .merge(crate::console::router())
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(body_limit))
        // Responses describe credentials and infrastructure: never cache them, never sniff.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(on_response)
                .on_failure(()),
        )
        .layer(axum::middleware::from_fn(request_id::middleware))
}

/// Request span: method, route template (groups requests regardless of ids) and request id.
/// Headers and bodies are deliberately not recorded: they carry tokens, cookies and passwords.
fn make_span(req: &Request) -> Span {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    let request_id =
        req.headers().get(&request_id::HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("request", method = %req.method(), route, request_id, status = tracing::field::Empty)
}

fn on_response(res: &Response, latency: Duration, span: &Span) {
    span.record("status", res.status().as_u16());
    tracing::info!(
        status = res.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "request finished"
    );
}
