//! The HTTP face of the server: one catch-all route under `/v1/` that turns an HTTP exchange
//! into a core [`Request`](crate::core::request::Request) and renders the core's answer in
//! Vault's wire format. Everything HTTP-specific lives here; the core never sees it.

mod error;
mod extract;
mod floor;
mod handler;
pub use handler::PeerAddr;
mod render;

use crate::core::Core;
use axum::Router;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub max_request_size: usize,
    /// The listener's `telemetry { unauthenticated_metrics_access = true }`.
    pub unauthenticated_metrics: bool,
}

/// The router for one listener.
pub fn router(core: Arc<Core>, max_request_size: usize, unauthenticated_metrics: bool) -> Router {
    let state = AppState { core, max_request_size, unauthenticated_metrics };
    // Opt-in benchmark floor (infra/bench); absent unless COFFER_BENCH_FLOOR=1.
    let router = if floor::enabled() {
        Router::new().route(floor::PATH, axum::routing::get(floor::floor))
    } else {
        Router::new()
    };
    // `/v1/*` is served from the fallback rather than a `/v1/{*path}` route: the handler reads
    // the URI itself, and a wildcard route would build (allocate) its unused path parameter on
    // every request.
    router.fallback(handler::fallback).with_state(state)
}
