//! The clusters list and the create-cluster form.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::error::ConsoleError;
use super::form::{self, Ids, Posted};
use super::session::Session;
use super::view::{self, max_page, OrgContext, Tab};
use crate::domain::{Action as Perm, Region, Tier};
use crate::http::AppState;
use crate::service::{ClusterRequest, ServiceError};

pub async fn org_home(Ids(org_id): Ids<Uuid>) -> Redirect {
    Redirect::to(&format!("/console/orgs/{org_id}/clusters"))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids(org_id): Ids<Uuid>,
) -> Result<Html<String>, ConsoleError> {
    let ctx = OrgContext::load(&state, &session, org_id).await?;
    let clusters = state.cp.list_clusters(session.caller, org_id, max_page(), None).await?.items;
    let can_create = ctx.can(Perm::ManageClusters);
    let new_href = format!("/console/orgs/{org_id}/clusters/new");
    let body = html! {
        div.page-head {
            h1 { "Clusters" }
            @if can_create && !clusters.is_empty() {
                a.button.primary href=(new_href) { "Create cluster" }
            }
        }
        @if clusters.is_empty() {
            @if can_create {
                (view::empty_state("No clusters yet",
                    "A cluster is a managed, Vault-compatible secrets server. Create one to get an address and start storing secrets.",
                    Some(("Create your first cluster", &new_href))))
            } @else {
                (view::empty_state("No clusters yet", "Nobody in this organization has created a cluster.", None))
            }
        } @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Name" } th { "State" } th { "Tier" } th.hide-sm { "Region" } th.hide-sm { "Version" } th.hide-sm { "Created" } } }
                    tbody {
                        @for c in &clusters {
                            tr {
                                td { a href={ "/console/orgs/" (org_id) "/clusters/" (c.id) } { (c.name) } }
                                td { (view::badge(&c.state)) }
                                td { (c.tier) " · " (c.size) }
                                td.hide-sm { (c.region) }
                                td.hide-sm { (c.version) }
                                td.hide-sm.muted { (view::when(c.created_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(view::org_page("Clusters", &session, &ctx, Tab::Clusters, body))
}

/// The create form's values, echoed back when the server refuses them.
#[derive(Deserialize, Default)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    size: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    version: String,
}

pub async fn new_form(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids(org_id): Ids<Uuid>,
) -> Result<Response, ConsoleError> {
    let ctx = OrgContext::load(&state, &session, org_id).await?;
    if !ctx.can(Perm::ManageClusters) {
        return Err(ConsoleError::Forbidden("creating clusters needs the contributor role".into()));
    }
    let defaults = CreateForm {
        tier: "dev".into(),
        size: "small".into(),
        region: "us-east-1".into(),
        ..Default::default()
    };
    Ok(render_form(&session, &ctx, &defaults, None, StatusCode::OK))
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    Ids(org_id): Ids<Uuid>,
    Posted { session, form: f }: Posted<CreateForm>,
) -> Result<Response, ConsoleError> {
    let version = Some(f.version.trim()).filter(|v| !v.is_empty()).map(str::to_owned);
    let req = ClusterRequest {
        name: f.name.trim().to_owned(),
        tier: f.tier.clone(),
        size: f.size.clone(),
        region: f.region.clone(),
        version,
        public_endpoint: None,
        ip_allow_list: None,
    };
    match state.cp.create_cluster(session.caller, org_id, req, None).await {
        Ok(out) => Ok(Redirect::to(&format!(
            "/console/orgs/{org_id}/clusters/{}?op={}",
            out.cluster.id, out.operation.op.id
        ))
        .into_response()),
        Err(ServiceError::Invalid(m) | ServiceError::Conflict(m)) => {
            let ctx = OrgContext::load(&state, &session, org_id).await?;
            Ok(render_form(&session, &ctx, &f, Some(&m), StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

fn render_form(
    session: &Session,
    ctx: &OrgContext,
    f: &CreateForm,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let fields = ["name", "tier", "size", "region", "version"];
    // A duplicate name is a conflict whose message does not start with the field name.
    let field = error
        .and_then(|e| form::field_of(e, &fields).or_else(|| e.contains("name").then_some("name")));
    let err_for = |name: &str| if field == Some(name) { error } else { None };
    let invalid = |name: &str| err_for(name).map(|_| "true");
    let org_id = ctx.id();
    let sizes = ["small", "medium", "large"];
    let body = html! {
        div.page-head { h1 { "Create a cluster" } }
        form.card.stack.form-wide method="post" action={ "/console/orgs/" (org_id) "/clusters" } novalidate {
            (view::csrf_field(session))
            @if field.is_none() { (view::form_error(error)) }
            label for="name" { "Name" }
            input #name type="text" name="name" value=(f.name) required autofocus
                aria-describedby="name-help" aria-invalid=[invalid("name")];
            small #name-help .muted { "3–32 characters: lowercase letters, digits and '-'; starts with a letter." }
            (view::form_error(err_for("name")))
            div.row {
                div.col {
                    label for="tier" { "Tier" }
                    select #tier name="tier" aria-invalid=[invalid("tier")] {
                        @for t in Tier::ALL {
                            option value=(t.as_str()) selected[f.tier == t.as_str()] {
                                (t.as_str()) " (" (t.node_count()) @if t.node_count() == 1 { " node)" } @else { " nodes)" }
                            }
                        }
                    }
                    (view::form_error(err_for("tier")))
                }
                div.col {
                    label for="size" { "Size" }
                    select #size name="size" aria-invalid=[invalid("size")] {
                        @for s in sizes {
                            option value=(s) selected[f.size == s] { (s) }
                        }
                    }
                    (view::form_error(err_for("size")))
                }
            }
            div.row {
                div.col {
                    label for="region" { "Region" }
                    select #region name="region" aria-invalid=[invalid("region")] {
                        @for r in Region::ALL {
                            option value=(r.as_str()) selected[f.region == r.as_str()] { (r.as_str()) }
                        }
                    }
                    (view::form_error(err_for("region")))
                }
                div.col {
                    label for="version" { "Version" }
                    input #version type="text" name="version" value=(f.version) placeholder="latest"
                        aria-describedby="version-help" aria-invalid=[invalid("version")];
                    small #version-help .muted { "Leave empty for the latest release." }
                    (view::form_error(err_for("version")))
                }
            }
            div.actions {
                button.button.primary type="submit" { "Create cluster" }
                a.button href={ "/console/orgs/" (org_id) "/clusters" } { "Cancel" }
            }
        }
    };
    (status, view::org_page("Create cluster", session, ctx, Tab::Clusters, body)).into_response()
}
