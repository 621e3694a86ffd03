//! The HTTP face of the server: one catch-all route under `/v1/` that turns an HTTP exchange
//! into a core [`Request`](crate::core::request::Request) and renders the core's answer in
//! Vault's wire format. Everything HTTP-specific lives here; the core never sees it.

mod error;
mod extract;
mod handler;
mod render;

use crate::core::Core;
use axum::routing::any;
use axum::Router;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub max_request_size: usize,
}

/// The router for one listener.
pub fn router(core: Arc<Core>, max_request_size: usize) -> Router {
    let state = AppState { core, max_request_size };
    Router::new()
        .route("/v1/{*path}", any(handler::v1))
        .route("/v1/", any(handler::v1))
        .fallback(handler::fallback)
        .with_state(state)
}
