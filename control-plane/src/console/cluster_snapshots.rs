//! A cluster's snapshots: the list, taking one, restoring one (after a confirmation page,
//! because a restore replaces every secret the cluster holds now) and deleting one.
//!
//! Taking a snapshot needs the contributor role (it changes nothing in the cluster);
//! restore and delete reach into the cluster's data and need admin, as in the API. States
//! are reconciled by the service on every read, so while a snapshot is in flight the page
//! simply reloads itself until nothing is.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::cluster_nav::{self, ClusterTab};
use super::error::ConsoleError;
use super::form::{self, Ids, Posted};
use super::session::Session;
use super::view::{self, max_page, OrgContext, Tab};
use crate::domain::{Action as Perm, ClusterState};
use crate::http::AppState;
use crate::service::ServiceError;
use crate::store::clusters::ClusterRow;
use crate::store::snapshots::{restore_state, state as snap_state, SnapshotRow};

/// How often a page with snapshots in flight reloads itself.
const RELOAD_MS: u32 = 2000;

pub async fn list(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
) -> Result<Response, ConsoleError> {
    render(&state, &session, org_id, cluster_id, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    session: &Session,
    org_id: Uuid,
    cluster_id: Uuid,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let ctx = OrgContext::load(state, session, org_id).await?;
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    let snaps =
        state.cp.list_snapshots(session.caller, org_id, cluster_id, max_page(), None).await?.items;
    let body = page_body(session, &ctx, &cluster, &snaps, error);
    let title = format!("Snapshots · {}", cluster.name);
    Ok((status, view::org_page(&title, session, &ctx, Tab::Clusters, body)).into_response())
}

fn in_flight(s: &SnapshotRow) -> bool {
    s.state == snap_state::CREATING || s.state == snap_state::RESTORING
}

fn page_body(
    session: &Session,
    ctx: &OrgContext,
    c: &ClusterRow,
    snaps: &[SnapshotRow],
    error: Option<&str>,
) -> Markup {
    let base = format!("/console/orgs/{}/clusters/{}/snapshots", ctx.id(), c.id);
    let running = ClusterState::parse(&c.state).ok() == Some(ClusterState::Running);
    let can_take = ctx.can(Perm::ManageClusters) && running;
    let can_touch_data = ctx.can(Perm::AccessClusterData);
    let busy = snaps.iter().any(in_flight);
    html! {
        (cluster_nav::header(ctx, c, ClusterTab::Snapshots))
        section.card #snapshots data-reload-after=[busy.then_some(RELOAD_MS)] {
            div.page-head {
                h2 { "Snapshots" }
                @if can_take {
                    form method="post" action=(base) {
                        (view::csrf_field(session))
                        button.button.primary type="submit" { "Take snapshot" }
                    }
                }
            }
            p.muted { "A snapshot is a point-in-time copy of the cluster's encrypted storage, kept in the cluster's own bucket under its KMS key." }
            (view::form_error(error))
            @if busy { p.muted.loading { span.spinner aria-hidden="true" {} "Working; this list updates by itself…" } }
            @if snaps.is_empty() {
                p { "No snapshots yet." }
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th { "Taken" } th { "State" } th.hide-sm { "Origin" } th.hide-sm { "Size" }
                        @if can_touch_data { th { span.sr-only { "Actions" } } }
                    } }
                    tbody { @for s in snaps { (row(session, &base, s, can_touch_data)) } }
                } }
            }
        }
    }
}

fn row(session: &Session, base: &str, s: &SnapshotRow, can_touch_data: bool) -> Markup {
    let taken = view::when(s.created_at);
    html! {
        tr data-snapshot=(s.id) {
            td { (taken) br; span.muted.small { code { (s.id) } } }
            td {
                (view::badge(&s.state))
                @if let Some(e) = &s.error { p.step-error { (e) } }
                @if let Some(t) = s.restored_at { br; span.muted.small { "restored " (view::when(t)) } }
                // A failed snapshot already shows its reason above; this is for one still usable.
                @if let (Some(restore_state::FAILED), Some(t), true) = (s.last_restore_state.as_deref(), s.last_restore_finished_at, s.state != snap_state::FAILED) {
                    p.step-error data-last-restore="failed" {
                        "Last restore failed (" (view::when(t)) "): "
                        (s.last_restore_error.as_deref().unwrap_or("no reason given"))
                    }
                }
            }
            td.hide-sm { (s.origin) }
            td.hide-sm { (s.size_bytes.map_or_else(|| "–".to_owned(), size)) }
            @if can_touch_data {
                td.right.row-actions {
                    @if s.state == snap_state::AVAILABLE {
                        a.button.small href={ (base) "/" (s.id) "/restore" } aria-label={ "Restore snapshot of " (taken) } { "Restore" }
                    }
                    @if s.state == snap_state::AVAILABLE || s.state == snap_state::FAILED {
                        form method="post" action={ (base) "/" (s.id) "/delete" }
                            data-confirm={ "Delete the snapshot of " (taken) "? Its object is removed from the bucket." } {
                            (view::csrf_field(session))
                            button.button.small.destructive type="submit" aria-label={ "Delete snapshot of " (taken) } { "Delete" }
                        }
                    }
                }
            }
        }
    }
}

/// `12.3 MiB`: enough precision to tell snapshots apart.
fn size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes.max(0) as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    Posted { session, .. }: Posted<form::CsrfForm>,
) -> Result<Response, ConsoleError> {
    match state.cp.create_snapshot(session.caller, org_id, cluster_id).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/console/orgs/{org_id}/clusters/{cluster_id}/snapshots"))
                .into_response())
        }
        Err(e) => refused(&state, &session, (org_id, cluster_id), e).await,
    }
}

/// Conflicts and an unreachable node are explained on the list; anything else is an error page.
async fn refused(
    state: &AppState,
    session: &Session,
    (org_id, cluster_id): (Uuid, Uuid),
    e: ServiceError,
) -> Result<Response, ConsoleError> {
    let (status, m) = match e {
        ServiceError::Conflict(m) => (StatusCode::CONFLICT, m),
        ServiceError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
        other => return Err(other.into()),
    };
    render(state, session, org_id, cluster_id, Some(&m), status).await
}

pub async fn confirm_restore(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids((org_id, cluster_id, snapshot_id)): Ids<(Uuid, Uuid, Uuid)>,
) -> Result<Response, ConsoleError> {
    restore_page(&state, &session, (org_id, cluster_id, snapshot_id), None, StatusCode::OK).await
}

async fn restore_page(
    state: &AppState,
    session: &Session,
    (org_id, cluster_id, snapshot_id): (Uuid, Uuid, Uuid),
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let ctx = OrgContext::load(state, session, org_id).await?;
    if !ctx.can(Perm::AccessClusterData) {
        return Err(ConsoleError::Forbidden("restoring snapshots needs the admin role".into()));
    }
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    let snap = state.cp.get_snapshot(session.caller, org_id, cluster_id, snapshot_id).await?;
    let list = format!("/console/orgs/{org_id}/clusters/{cluster_id}/snapshots");
    let taken = view::when(snap.created_at);
    let body = html! {
        (cluster_nav::header(&ctx, &cluster, ClusterTab::Snapshots))
        section.card.danger.form-wide {
            h2 { "Restore the snapshot of " (taken) "?" }
            p { "The cluster's current data is replaced by this snapshot: every secret, policy and token "
                "created after " (taken) " is lost. Clients keep the same address." }
            dl.facts {
                div { dt { "Snapshot" } dd { code { (snap.id) } } }
                div { dt { "State" } dd { (view::badge(&snap.state)) } }
                div { dt { "Size" } dd { (snap.size_bytes.map_or_else(|| "–".to_owned(), size)) } }
            }
            form.stack method="post" action={ (list) "/" (snap.id) "/restore" } data-confirm-name=(cluster.name) novalidate {
                (view::csrf_field(session))
                label for="confirm_name" { "Type " strong { (cluster.name) } " to confirm" }
                input #confirm_name type="text" name="confirm_name" autocomplete="off" required
                    aria-invalid=[error.map(|_| "true")];
                (view::form_error(error))
                div.actions {
                    button.button.destructive type="submit" { "Restore this snapshot" }
                    a.button href=(list) { "Cancel" }
                }
            }
        }
    };
    Ok((status, view::org_page("Restore snapshot", session, &ctx, Tab::Clusters, body))
        .into_response())
}

#[derive(Deserialize)]
pub struct RestoreForm {
    #[serde(default)]
    confirm_name: String,
}

pub async fn restore(
    State(state): State<Arc<AppState>>,
    Ids((org_id, cluster_id, snapshot_id)): Ids<(Uuid, Uuid, Uuid)>,
    Posted { session, form: f }: Posted<RestoreForm>,
) -> Result<Response, ConsoleError> {
    let ids = (org_id, cluster_id, snapshot_id);
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    if f.confirm_name.trim() != cluster.name {
        let m = "The name you typed does not match this cluster's name.";
        return restore_page(&state, &session, ids, Some(m), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    }
    match state.cp.restore_snapshot(session.caller, org_id, cluster_id, snapshot_id).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/console/orgs/{org_id}/clusters/{cluster_id}/snapshots"))
                .into_response())
        }
        Err(ServiceError::Conflict(m)) => {
            restore_page(&state, &session, ids, Some(&m), StatusCode::CONFLICT).await
        }
        Err(ServiceError::Unavailable(m)) => {
            restore_page(&state, &session, ids, Some(&m), StatusCode::SERVICE_UNAVAILABLE).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Ids((org_id, cluster_id, snapshot_id)): Ids<(Uuid, Uuid, Uuid)>,
    Posted { session, .. }: Posted<form::CsrfForm>,
) -> Result<Response, ConsoleError> {
    match state.cp.delete_snapshot(session.caller, org_id, cluster_id, snapshot_id).await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/console/orgs/{org_id}/clusters/{cluster_id}/snapshots"))
                .into_response())
        }
        Err(e) => refused(&state, &session, (org_id, cluster_id), e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_table() {
        let check = |bytes: i64, expect: &str| assert_eq!(size(bytes), expect, "{bytes}");
        check(0, "0 B");
        check(1023, "1023 B");
        check(1024, "1.0 KiB");
        check(1536, "1.5 KiB");
        check(5 * 1024 * 1024, "5.0 MiB");
        check(-3, "-3 B");
    }
}
