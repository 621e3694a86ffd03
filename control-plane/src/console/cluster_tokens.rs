//! Cluster admin tokens: generate one (shown once) and revoke them all. Admins only.
//!
//! The token is the body of the POST response and nothing else: the control plane never
//! stores it (it arrives sealed from the node and is opened in this request's memory), the
//! response is `no-store`, and no later page can render it again. Losing it means generating
//! another, which is cheap, so nothing is gained by keeping a copy anywhere.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use secrecy::ExposeSecret;
use serde::Deserialize;
use uuid::Uuid;

use super::cluster_detail::{self, Errors, View};
use super::error::ConsoleError;
use super::form::{self, Ids, Posted};
use super::session::Session;
use super::view::{self, OrgContext, Tab};
use crate::http::AppState;
use crate::service::ServiceError;

/// The lifetimes offered, as the API spells them; the service validates whatever arrives.
const TTLS: [(&str, &str); 5] = [
    ("15m", "15 minutes"),
    ("1h", "1 hour"),
    ("6h", "6 hours"),
    ("12h", "12 hours"),
    ("24h", "24 hours"),
];
const DEFAULT_TTL: &str = "6h";

/// The admin-access card on the cluster page; `error` comes from a failed attempt.
pub fn card(session: &Session, base: &str, running: bool, error: Option<&str>) -> Markup {
    html! {
        section.card #admin-access {
            h2 { "Admin access" }
            p.muted { "An admin token signs in to the cluster itself (the Vault API at its address) with the "
                code { "coffer-customer-admin" } " policy. It is shown once and never stored by Coffer." }
            (view::form_error(error))
            @if running {
                form.inline-form method="post" action={ (base) "/admin-token" } {
                    (view::csrf_field(session))
                    div.col {
                        label for="ttl" { "Valid for" }
                        select #ttl name="ttl" {
                            @for (value, label) in TTLS {
                                option value=(value) selected[value == DEFAULT_TTL] { (label) }
                            }
                        }
                    }
                    div.col.end { button.button.primary type="submit" { "Generate admin token" } }
                }
                form.revoke-form method="post" action={ (base) "/revoke-admin-tokens" }
                    data-confirm="Revoke every admin token of this cluster? Anyone using one is signed out of the cluster at once." {
                    (view::csrf_field(session))
                    button.button.small.destructive type="submit" { "Revoke all admin tokens" }
                }
            } @else {
                p { "Available once the cluster is running." }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    ttl: String,
}

pub async fn issue(
    State(state): State<Arc<AppState>>,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    Posted { session, form: f }: Posted<IssueForm>,
) -> Result<Response, ConsoleError> {
    let ttl = Some(f.ttl.trim()).filter(|t| !t.is_empty());
    let issued = match state.cp.issue_admin_token(session.caller, org_id, cluster_id, ttl).await {
        Ok(issued) => issued,
        // Said next to the form, on the cluster page the person came from.
        Err(ServiceError::Invalid(m)) => {
            return refused(&state, &session, (org_id, cluster_id), &m, StatusCode::BAD_REQUEST)
                .await;
        }
        Err(ServiceError::Unavailable(m)) => {
            let status = StatusCode::SERVICE_UNAVAILABLE;
            return refused(&state, &session, (org_id, cluster_id), &m, status).await;
        }
        Err(e) => return Err(e.into()),
    };
    let ctx = OrgContext::load(&state, &session, org_id).await?;
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    let back = format!("/console/orgs/{org_id}/clusters/{cluster_id}");
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href={ "/console/orgs/" (org_id) "/clusters" } { "Clusters" } " / "
            a href=(back) { (cluster.name) } " / Admin token"
        }
        div.page-head { h1 { "Admin token for " (cluster.name) } }
        section.card.secret-card {
            p.notice role="status" {
                strong { "Copy the token now." }
                " It is shown only on this page and Coffer does not keep it; if you lose it, generate another."
            }
            dl.facts {
                div { dt { "Cluster address" } dd {
                    @if let Some(a) = &cluster.address { code #cluster-address { (a) } } @else { span.muted { "not yet known" } }
                } }
                div { dt { "Expires" } dd #token-expires { (view::when(issued.expires_at)) } }
                div { dt { "Accessor" } dd { code #token-accessor { (issued.accessor) } } }
            }
            label for="admin-token" { "Admin token" }
            div.copy-row {
                input #admin-token type="text" readonly value=(issued.token.expose_secret())
                    autocomplete="off" spellcheck="false";
                button.button type="button" data-copy="#admin-token" { "Copy" }
            }
            p.muted { "Use it as " code { "VAULT_TOKEN" } " with the cluster address as " code { "VAULT_ADDR" } "." }
            p { a.button.primary href=(back) { "Done" } }
        }
    };
    let mut res =
        view::org_page("Admin token", &session, &ctx, Tab::Clusters, body).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(res)
}

async fn refused(
    state: &AppState,
    session: &Session,
    (org_id, cluster_id): (Uuid, Uuid),
    message: &str,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let errors = Errors { admin_token: Some(message), ..Errors::default() };
    let v = View { errors, ..View::default() };
    cluster_detail::render(state, session, org_id, cluster_id, v, status).await
}

pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    Posted { session, .. }: Posted<form::CsrfForm>,
) -> Result<Redirect, ConsoleError> {
    let n = state.cp.revoke_admin_tokens(session.caller, org_id, cluster_id).await?;
    Ok(Redirect::to(&format!("/console/orgs/{org_id}/clusters/{cluster_id}?revoked={n}")))
}
