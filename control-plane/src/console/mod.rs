//! The web console: server-rendered pages for people, served by the API's own process and port.
//!
//! Why server-rendered: no front-end build step, nothing to keep in sync with a second client,
//! and every page works without JavaScript (one small script only adds live step updates, copy
//! buttons and confirmations). Every action calls the same [`crate::service::ControlPlane`]
//! use-case as its API twin, so authorisation cannot drift between the two; [`ACTIONS`] lists
//! the twins and a test checks each against the OpenAPI document.
//!
//! Layout: `session` (cookies, CSRF, origin checks), `error` (the one error type, rendered as
//! a friendly page or inline form errors), `view` (page shell and shared widgets), one module
//! per resource, and `assets` (the embedded stylesheet and script).

mod actions;
mod assets;
mod auth_pages;
mod cluster_audit;
mod cluster_detail;
mod cluster_nav;
mod cluster_nodes;
mod cluster_operation;
mod cluster_snapshots;
mod cluster_tokens;
mod clusters;
mod error;
mod form;
mod members;
mod service_principals;
mod session;
mod view;

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

pub use actions::{Action, ACTIONS};

use crate::http::AppState;

/// Routes under `/` and `/console/...`; merged into the API router by [`crate::http::router`].
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(auth_pages::root))
        .route("/console", get(auth_pages::home))
        .route("/console/assets/console.css", get(assets::css))
        .route("/console/assets/console.js", get(assets::js))
        .route("/console/signup", get(auth_pages::signup_page).post(auth_pages::signup))
        .route("/console/login", get(auth_pages::login_page).post(auth_pages::login))
        .route("/console/logout", post(auth_pages::logout))
        .route("/console/orgs/{org_id}", get(clusters::org_home))
        .route("/console/orgs/{org_id}/clusters", get(clusters::list).post(clusters::create))
        .route("/console/orgs/{org_id}/clusters/new", get(clusters::new_form))
        .route("/console/orgs/{org_id}/clusters/{cluster_id}", get(cluster_detail::show))
        .route(
            "/console/orgs/{org_id}/clusters/{cluster_id}/status",
            get(cluster_operation::status),
        )
        .route(
            "/console/orgs/{org_id}/clusters/{cluster_id}/allow-list",
            post(cluster_detail::update_allow_list),
        )
        .route("/console/orgs/{org_id}/clusters/{cluster_id}/delete", post(cluster_detail::delete))
        .route(
            "/console/orgs/{org_id}/clusters/{cluster_id}/admin-token",
            post(cluster_tokens::issue),
        )
        .route(
            "/console/orgs/{org_id}/clusters/{cluster_id}/revoke-admin-tokens",
            post(cluster_tokens::revoke),
        )
        .route(
            "/console/orgs/{org_id}/clusters/{cluster_id}/snapshots",
            get(cluster_snapshots::list).post(cluster_snapshots::create),
        )
        .route(
            "/console/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}/restore",
            get(cluster_snapshots::confirm_restore).post(cluster_snapshots::restore),
        )
        .route(
            "/console/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}/delete",
            post(cluster_snapshots::delete),
        )
        .route("/console/orgs/{org_id}/clusters/{cluster_id}/audit-logs", get(cluster_audit::list))
        .route("/console/orgs/{org_id}/members", get(members::list).post(members::invite))
        .route("/console/orgs/{org_id}/members/{user_id}/role", post(members::change_role))
        .route("/console/orgs/{org_id}/members/{user_id}/remove", post(members::remove))
        .route(
            "/console/orgs/{org_id}/service-principals",
            get(service_principals::list).post(service_principals::create),
        )
        .route(
            "/console/orgs/{org_id}/service-principals/{sp_id}/delete",
            post(service_principals::delete),
        )
        // Pages load only our own stylesheet and script, post only to us, and cannot be framed
        // (clickjacking); an injected inline script would not run even if escaping failed.
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
