//! One cluster: state, the operation in progress (see `cluster_operation`), nodes, the IP
//! allow list editor and deletion with type-the-name confirmation.
//!
//! After a form post the console carries the operation it started in the URL (`?op=`),
//! exactly as an API client keeps the operation returned by its request, so the outcome can
//! be shown even when the operation finished before the page loaded.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::cluster_nav::{self, ClusterTab};
use super::cluster_operation::{OpQuery, Operations};
use super::error::ConsoleError;
use super::form::{Ids, Posted};
use super::session::Session;
use super::view::{self, OrgContext, Tab};
use super::{cluster_nodes, cluster_tokens};
use crate::domain::{Action as Perm, ClusterState};
use crate::http::AppState;
use crate::service::{ClusterPatch, NodeStatus, ServiceError};
use crate::store::clusters::ClusterRow;

/// Inline errors to show on a re-rendered detail page.
#[derive(Default)]
pub struct Errors<'a> {
    pub allow_list: Option<(&'a str, &'a str)>,
    pub delete: Option<&'a str>,
    pub admin_token: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct DetailQuery {
    op: Option<String>,
    /// Set after "revoke all admin tokens": how many were revoked.
    revoked: Option<String>,
}

pub async fn show(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, ConsoleError> {
    let notice = q.revoked.and_then(|n| n.parse::<u32>().ok()).map(|n| match n {
        1 => "Revoked 1 admin token.".to_owned(),
        n => format!("Revoked {n} admin tokens."),
    });
    let errors = Errors::default();
    let view = View { op: OpQuery::parse_id(q.op.as_deref()), notice: notice.as_deref(), errors };
    render(&state, &session, org_id, cluster_id, view, StatusCode::OK).await
}

/// What a request adds to the page beyond the cluster itself.
#[derive(Default)]
pub struct View<'a> {
    pub op: Option<Uuid>,
    pub notice: Option<&'a str>,
    pub errors: Errors<'a>,
}

pub async fn render(
    state: &AppState,
    session: &Session,
    org_id: Uuid,
    cluster_id: Uuid,
    v: View<'_>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let ctx = OrgContext::load(state, session, org_id).await?;
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    let ops = Operations::load(state, session, org_id, cluster_id, v.op).await?;
    let nodes = state.cp.cluster_nodes(session.caller, org_id, cluster_id).await?;
    let body = page_body(session, &ctx, &cluster, &ops, &nodes, &v);
    Ok((status, view::org_page(&cluster.name, session, &ctx, Tab::Clusters, body)).into_response())
}

fn page_body(
    session: &Session,
    ctx: &OrgContext,
    c: &ClusterRow,
    ops: &Operations,
    nodes: &[NodeStatus],
    v: &View<'_>,
) -> Markup {
    let errors = &v.errors;
    let base = format!("/console/orgs/{}/clusters/{}", ctx.id(), c.id);
    let state = ClusterState::parse(&c.state).ok();
    let gone = state.is_some_and(ClusterState::is_deleting_or_gone);
    let running = state == Some(ClusterState::Running);
    let can_manage = ctx.can(Perm::ManageClusters) && !gone;
    html! {
        (cluster_nav::header(ctx, c, ClusterTab::Overview))
        @if let Some(n) = v.notice { p.notice.flash role="status" { (n) } }
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
        (ops.render(&base))
        (cluster_nodes::section(nodes, c.node_count))
        @if ctx.can(Perm::AccessClusterData) && !gone {
            (cluster_tokens::card(session, &base, running, errors.admin_token))
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

#[derive(Deserialize)]
pub struct AllowListForm {
    #[serde(default)]
    ip_allow_list: String,
}

pub async fn update_allow_list(
    State(state): State<Arc<AppState>>,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    Posted { session, form: f }: Posted<AllowListForm>,
) -> Result<Response, ConsoleError> {
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
            let v = View { errors, ..View::default() };
            render(&state, &session, org_id, cluster_id, v, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    confirm_name: String,
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    Posted { session, form: f }: Posted<DeleteForm>,
) -> Result<Response, ConsoleError> {
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    if f.confirm_name.trim() != cluster.name {
        let errors = Errors {
            delete: Some("The name you typed does not match this cluster's name."),
            ..Errors::default()
        };
        let v = View { errors, ..View::default() };
        return render(&state, &session, org_id, cluster_id, v, StatusCode::UNPROCESSABLE_ENTITY)
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
            let v = View { errors, ..View::default() };
            render(&state, &session, org_id, cluster_id, v, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}
