//! One cluster: state, the operation being watched with its steps (updated live by polling
//! [`status`]), nodes, the IP allow list editor and deletion with type-the-name confirmation.
//!
//! The API does not link a cluster to its latest operation, so the console carries the
//! operation id it started in the URL (`?op=`), exactly as an API client keeps the operation
//! returned by its request.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::error::ConsoleError;
use super::form::{self, Ids};
use super::session::Session;
use super::view::{self, OrgContext, Tab};
use crate::domain::{Action as Perm, ClusterState, OperationState};
use crate::http::AppState;
use crate::service::{ClusterPatch, ServiceError};
use crate::store::clusters::ClusterRow;
use crate::store::nodes::{self, NodeRow};
use crate::store::operations::Operation;

#[derive(Deserialize)]
pub struct OpQuery {
    op: Option<String>,
}

impl OpQuery {
    fn id(&self) -> Option<Uuid> {
        self.op.as_deref().and_then(|s| Uuid::parse_str(s).ok())
    }
}

/// Inline errors to show on a re-rendered detail page.
#[derive(Default)]
struct Errors<'a> {
    allow_list: Option<(&'a str, &'a str)>,
    delete: Option<&'a str>,
}

pub async fn show(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    Query(q): Query<OpQuery>,
) -> Result<Response, ConsoleError> {
    render(&state, &session, org_id, cluster_id, q.id(), Errors::default(), StatusCode::OK).await
}

async fn operation(
    state: &AppState,
    session: &Session,
    org_id: Uuid,
    cluster_id: Uuid,
    op: Option<Uuid>,
) -> Result<Option<Operation>, ConsoleError> {
    let Some(op_id) = op else { return Ok(None) };
    match state.cp.get_operation(session.caller, org_id, op_id).await {
        Ok(op) if op.op.cluster_id == cluster_id => Ok(Some(op)),
        Ok(_) | Err(ServiceError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    org_id: Uuid,
    cluster_id: Uuid,
    op: Option<Uuid>,
    errors: Errors<'_>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let ctx = OrgContext::load(state, session, org_id).await?;
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    let op = operation(state, session, org_id, cluster_id, op).await?;
    // Read only after get_cluster authorised the caller for this org's clusters.
    let nodes = nodes::list_nodes(state.cp.pool(), cluster_id)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let body = page_body(session, &ctx, &cluster, op.as_ref(), &nodes, &errors);
    Ok((status, view::org_page(&cluster.name, session, &ctx, Tab::Clusters, body)).into_response())
}

fn page_body(
    session: &Session,
    ctx: &OrgContext,
    c: &ClusterRow,
    op: Option<&Operation>,
    nodes: &[NodeRow],
    errors: &Errors<'_>,
) -> Markup {
    let base = format!("/console/orgs/{}/clusters/{}", ctx.id(), c.id);
    let gone =
        ClusterState::parse(&c.state).map(ClusterState::is_deleting_or_gone).unwrap_or(false);
    let can_manage = ctx.can(Perm::ManageClusters) && !gone;
    html! {
        nav.crumbs aria-label="Breadcrumb" { a href={ "/console/orgs/" (ctx.id()) "/clusters" } { "Clusters" } " / " (c.name) }
        div.page-head {
            h1 { (c.name) " " span #cluster-state { (view::badge(&c.state)) } }
        }
        dl.facts.card {
            div { dt { "Address" } dd #cluster-address {
                @if let Some(a) = &c.address { code { (a) } } @else { span.muted { "Assigned when the cluster is running" } }
            } }
            div { dt { "Version" } dd { (c.version) } }
            div { dt { "Tier" } dd { (c.tier) " · " (c.size) } }
            div { dt { "Region" } dd { (c.region) } }
            div { dt { "Nodes" } dd { (nodes.len()) " of " (c.node_count) " joined" } }
            div { dt { "Created" } dd { (view::when(c.created_at)) } }
        }
        @if let Some(op) = op { (operation_panel(&base, op)) }
        section.card {
            h2 { "Nodes" }
            @if nodes.is_empty() {
                p.muted { "No node has joined yet. Nodes appear here as they register with the control plane." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th { "Node" } th { "Instance" } th { "Health" } th.hide-sm { "Joined" } } }
                    tbody { @for n in nodes { tr {
                        td { "node-" (n.node_index) }
                        td { code { (n.instance_id) } }
                        td { span.badge.badge-running { "registered" } }
                        td.hide-sm.muted { (view::when(n.registered_at)) }
                    } } }
                } }
            }
        }
        section.card {
            h2 { "IP allow list" }
            p.muted { "Only these networks may reach the cluster's address. Empty means no network is allowed." }
            @if can_manage {
                form.stack method="post" action={ (base) "/allow-list" } novalidate {
                    (view::csrf_field(session))
                    label for="ip_allow_list" { "One CIDR block per line" }
                    @let text = errors.allow_list.map_or_else(|| c.ip_allow_list.join("\n"), |(t, _)| t.to_owned());
                    textarea #ip_allow_list name="ip_allow_list" rows="4" placeholder="203.0.113.0/24"
                        aria-invalid=[errors.allow_list.map(|_| "true")] { (text) }
                    (view::form_error(errors.allow_list.map(|(_, e)| e)))
                    div.actions { button.button.primary type="submit" { "Save allow list" } }
                }
            } @else if c.ip_allow_list.is_empty() {
                p { "No networks allowed." }
            } @else {
                ul.cidrs { @for cidr in &c.ip_allow_list { li { code { (cidr) } } } }
            }
        }
        @if can_manage {
            section.card.danger {
                h2 { "Delete cluster" }
                p { "Deleting destroys the cluster's servers and data. This cannot be undone." }
                form.stack method="post" action={ (base) "/delete" } data-confirm-name=(c.name) novalidate {
                    (view::csrf_field(session))
                    label for="confirm_name" { "Type " strong { (c.name) } " to confirm" }
                    input #confirm_name type="text" name="confirm_name" autocomplete="off" required
                        aria-invalid=[errors.delete.map(|_| "true")];
                    (view::form_error(errors.delete))
                    div.actions { button.button.destructive type="submit" { "Delete this cluster" } }
                }
            }
        }
    }
}

fn operation_panel(base: &str, op: &Operation) -> Markup {
    let terminal =
        OperationState::parse(&op.op.state).map(OperationState::is_terminal).unwrap_or(false);
    let status_url = format!("{base}/status?op={}", op.op.id);
    html! {
        section.card #operation data-status-url=(status_url) data-terminal=(terminal) aria-live="polite" {
            div.page-head {
                h2 { "Operation: " (op.op.kind) }
                span #op-state { (view::badge(&op.op.state)) }
            }
            @if !terminal { p.muted.loading #op-loading { span.spinner aria-hidden="true" {} "Updating live…" } }
            div #op-error {
                @if let Some(msg) = &op.op.error_message {
                    p.error role="alert" { strong { "Failed: " } (msg) }
                }
            }
            ol.steps #op-steps {
                @for s in &op.steps {
                    li class={ "step step-" (s.state) } {
                        span.step-name { (s.name) }
                        (view::badge(&s.state))
                        @if s.attempt > 1 { span.muted { " attempt " (s.attempt) } }
                        @if let Some(e) = &s.error { p.step-error { (e) } }
                    }
                }
            }
        }
    }
}

/// Small JSON for the live step view: the cluster's state and the watched operation.
pub async fn status(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    Query(q): Query<OpQuery>,
) -> Result<Response, ConsoleError> {
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    let op = operation(&state, &session, org_id, cluster_id, q.id()).await?;
    let op = op.map(|o| {
        let terminal =
            OperationState::parse(&o.op.state).map(OperationState::is_terminal).unwrap_or(false);
        serde_json::json!({
            "id": o.op.id,
            "kind": o.op.kind,
            "state": o.op.state,
            "terminal": terminal,
            "error_message": o.op.error_message,
            "steps": o.steps.iter().map(|s| serde_json::json!({
                "name": s.name, "state": s.state, "attempt": s.attempt, "error": s.error,
            })).collect::<Vec<_>>(),
        })
    });
    let body = serde_json::json!({
        "cluster": { "state": cluster.state, "address": cluster.address },
        "operation": op,
    });
    Ok(Json(body).into_response())
}

#[derive(Deserialize)]
pub struct AllowListForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ip_allow_list: String,
}

pub async fn update_allow_list(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let f: AllowListForm = form::parse(&body)?;
    session.verify(&headers, &state, &f.csrf)?;
    let entries: Vec<String> = f
        .ip_allow_list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let patch = ClusterPatch { ip_allow_list: Some(entries), ..ClusterPatch::default() };
    match state.cp.update_cluster(session.caller, org_id, cluster_id, patch).await {
        Ok(out) => Ok(Redirect::to(&format!(
            "/console/orgs/{org_id}/clusters/{cluster_id}?op={}",
            out.operation.op.id
        ))
        .into_response()),
        Err(ServiceError::Invalid(m) | ServiceError::Conflict(m)) => {
            let errors = Errors { allow_list: Some((&f.ip_allow_list, &m)), ..Errors::default() };
            render(
                &state,
                &session,
                org_id,
                cluster_id,
                None,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm_name: String,
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let f: DeleteForm = form::parse(&body)?;
    session.verify(&headers, &state, &f.csrf)?;
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    if f.confirm_name.trim() != cluster.name {
        let errors = Errors {
            delete: Some("The name you typed does not match this cluster's name."),
            ..Errors::default()
        };
        return render(
            &state,
            &session,
            org_id,
            cluster_id,
            None,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match state.cp.delete_cluster(session.caller, org_id, cluster_id).await {
        Ok(out) => Ok(Redirect::to(&format!(
            "/console/orgs/{org_id}/clusters/{cluster_id}?op={}",
            out.operation.op.id
        ))
        .into_response()),
        Err(ServiceError::Conflict(m)) => {
            let errors = Errors { delete: Some(&m), ..Errors::default() };
            render(&state, &session, org_id, cluster_id, None, errors, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}
