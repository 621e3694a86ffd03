//! The operation panel of a cluster page and the small JSON endpoint that keeps it live.
//!
//! Only an operation in progress gets the step-by-step view (updated by polling [`status`]):
//! that is when a person wants to see what is happening. A finished operation the person
//! came back from (`?op=` after a form post) is reduced to its outcome, so old step lists
//! never crowd the page or suggest work that is no longer happening.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::error::ConsoleError;
use super::form::Ids;
use super::session::Session;
use super::view;
use crate::domain::OperationState;
use crate::http::AppState;
use crate::service::ServiceError;
use crate::store::operations::Operation;

#[derive(Deserialize)]
pub struct OpQuery {
    op: Option<String>,
}

impl OpQuery {
    pub fn id(&self) -> Option<Uuid> {
        Self::parse_id(self.op.as_deref())
    }

    /// A malformed id names no operation: the page simply shows none.
    pub fn parse_id(raw: Option<&str>) -> Option<Uuid> {
        raw.and_then(|s| Uuid::parse_str(s).ok())
    }
}

pub fn is_terminal(op: &Operation) -> bool {
    OperationState::parse(&op.op.state).map(OperationState::is_terminal).unwrap_or(false)
}

/// What the page shows about operations: the one in progress (live), and the outcome of the
/// one named in the URL when that one has finished.
pub struct Operations {
    pub live: Option<Operation>,
    pub finished: Option<Operation>,
}

impl Operations {
    pub async fn load(
        state: &AppState,
        session: &Session,
        org_id: Uuid,
        cluster_id: Uuid,
        named: Option<Uuid>,
    ) -> Result<Self, ConsoleError> {
        let named = match named {
            Some(id) => named_operation(state, session, org_id, cluster_id, id).await?,
            None => None,
        };
        let (live, finished) = match named {
            Some(op) if !is_terminal(&op) => (Some(op), None),
            finished => {
                let live =
                    state.cp.active_cluster_operation(session.caller, org_id, cluster_id).await?;
                (live, finished)
            }
        };
        Ok(Self { live, finished })
    }

    pub fn render(&self, base: &str) -> Markup {
        html! {
            @if let Some(op) = &self.finished { (outcome(op)) }
            @if let Some(op) = &self.live { (live_panel(base, op)) }
        }
    }
}

/// An operation of this cluster by id; an id of another cluster's operation shows nothing.
async fn named_operation(
    state: &AppState,
    session: &Session,
    org_id: Uuid,
    cluster_id: Uuid,
    id: Uuid,
) -> Result<Option<Operation>, ConsoleError> {
    match state.cp.get_operation(session.caller, org_id, id).await {
        Ok(op) if op.op.cluster_id == cluster_id => Ok(Some(op)),
        Ok(_) | Err(ServiceError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn outcome(op: &Operation) -> Markup {
    let failed_step = op.steps.iter().find(|s| s.state == "failed");
    html! {
        section.card.outcome #operation-outcome role="status" {
            p {
                "Operation " strong { (op.op.kind) } " " (view::badge(&op.op.state))
                @if let Some(t) = op.op.finished_at { span.muted { " · " (view::when(t)) } }
            }
            @if let Some(msg) = &op.op.error_message {
                p.error role="alert" {
                    strong { "Failed: " } (msg)
                    @if let Some(s) = failed_step { " (step " code { (s.name) } ")" }
                }
            }
        }
    }
}

fn live_panel(base: &str, op: &Operation) -> Markup {
    let status_url = format!("{base}/status?op={}", op.op.id);
    html! {
        section.card #operation data-status-url=(status_url) data-terminal="false" aria-live="polite" {
            div.page-head {
                h2 { "Operation: " (op.op.kind) }
                span #op-state { (view::badge(&op.op.state)) }
            }
            p.muted.loading #op-loading { span.spinner aria-hidden="true" {} "Updating live…" }
            div #op-error {}
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

/// Small JSON for the live step view: the cluster's state and the watched operation (the
/// one named by `?op=`, else the one in progress).
pub async fn status(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids((org_id, cluster_id)): Ids<(Uuid, Uuid)>,
    Query(q): Query<OpQuery>,
) -> Result<Response, ConsoleError> {
    let cluster = state.cp.get_cluster(session.caller, org_id, cluster_id).await?;
    let op = match q.id() {
        Some(id) => named_operation(&state, &session, org_id, cluster_id, id).await?,
        None => state.cp.active_cluster_operation(session.caller, org_id, cluster_id).await?,
    };
    let op = op.map(|o| {
        serde_json::json!({
            "id": o.op.id,
            "kind": o.op.kind,
            "state": o.op.state,
            "terminal": is_terminal(&o),
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
