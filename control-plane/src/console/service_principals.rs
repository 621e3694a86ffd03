//! Service principals: machine identities. Creating one shows its client secret exactly once,
//! as the body of the POST response (never a GET, never cached), with a copy button.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use secrecy::ExposeSecret;
use serde::Deserialize;
use uuid::Uuid;

use super::error::ConsoleError;
use super::form::{self, Ids, Posted};
use super::session::Session;
use super::view::{self, max_page, OrgContext, Tab};
use crate::domain::{Action as Perm, Role};
use crate::http::AppState;
use crate::service::ServiceError;

pub async fn list(
    State(state): State<Arc<AppState>>,
    session: Session,
    Ids(org_id): Ids<Uuid>,
) -> Result<Response, ConsoleError> {
    render(&state, &session, org_id, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    session: &Session,
    org_id: Uuid,
    create: Option<(&CreateForm, &str)>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let ctx = OrgContext::load(state, session, org_id).await?;
    let sps =
        state.cp.list_service_principals(session.caller, org_id, max_page(), None).await?.items;
    let manage = ctx.can(Perm::ManageMembers);
    let base = format!("/console/orgs/{org_id}/service-principals");
    let body = html! {
        div.page-head { h1 { "Service principals" } }
        p.muted.lead { "Machine identities for CI jobs and automation. They sign in with a client ID and secret through " code { "POST /oauth/token" } "." }
        @if manage {
            form.card.inline-form method="post" action=(base) novalidate aria-label="Create a service principal" {
                (view::csrf_field(session))
                div.col.grow {
                    label for="sp-name" { "Name" }
                    input #sp-name type="text" name="name" required placeholder="ci-deployer"
                        value=(create.map_or("", |(f, _)| f.name.as_str()))
                        aria-invalid=[create.map(|_| "true")];
                }
                div.col {
                    label for="sp-role" { "Role" }
                    select #sp-role name="role" {
                        @for r in Role::ALL.into_iter().filter(|r| *r != Role::Owner && *r <= ctx.role) {
                            option value=(r.as_str()) selected[r == Role::Viewer] { (r.as_str()) }
                        }
                    }
                }
                div.col.end { button.button.primary type="submit" { "Create" } }
                (view::form_error(create.map(|(_, e)| e)))
            }
        }
        @if sps.is_empty() {
            (view::empty_state("No service principals", "Create one to let automation manage clusters without a person's password.", None))
        } @else {
            div.table-wrap { table {
                thead { tr { th { "Name" } th { "Role" } th { "Client ID" } th.hide-sm { "Created" } @if manage { th { span.sr-only { "Actions" } } } } }
                tbody { @for sp in &sps { tr {
                    td { (sp.name) }
                    td { span.role-pill { (sp.role) } }
                    td { code { (sp.client_id) } }
                    td.hide-sm.muted { (view::when(sp.created_at)) }
                    @if manage {
                        td.right {
                            form method="post" action={ (base) "/" (sp.id) "/delete" }
                                data-confirm={ "Delete " (sp.name) "? Its credentials stop working immediately." } {
                                (view::csrf_field(session))
                                button.button.small.destructive type="submit" aria-label={ "Delete " (sp.name) } { "Delete" }
                            }
                        }
                    }
                } } }
            } }
        }
    };
    Ok((status, view::org_page("Service principals", session, &ctx, Tab::ServicePrincipals, body))
        .into_response())
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    Ids(org_id): Ids<Uuid>,
    Posted { session, form: f }: Posted<CreateForm>,
) -> Result<Response, ConsoleError> {
    let created = match state
        .cp
        .create_service_principal(session.caller, org_id, f.name.trim(), &f.role)
        .await
    {
        Ok(c) => c,
        Err(ServiceError::Invalid(m) | ServiceError::Conflict(m)) => {
            return render(
                &state,
                &session,
                org_id,
                Some((&f, &m)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    let ctx = OrgContext::load(&state, &session, org_id).await?;
    let sp = &created.service_principal;
    let body = html! {
        div.page-head { h1 { "Service principal created" } }
        section.card.secret-card {
            p.notice role="status" {
                strong { "Copy the client secret now." }
                " It is shown only on this page and cannot be retrieved again; if you lose it, delete the principal and create a new one."
            }
            dl.facts {
                div { dt { "Name" } dd { (sp.name) } }
                div { dt { "Role" } dd { (sp.role) } }
                div { dt { "Client ID" } dd { code #client-id { (sp.client_id) } } }
            }
            label for="client-secret" { "Client secret" }
            div.copy-row {
                input #client-secret type="text" readonly value=(created.client_secret.expose_secret()) autocomplete="off" spellcheck="false";
                button.button type="button" data-copy="#client-secret" { "Copy" }
            }
            p { a.button.primary href={ "/console/orgs/" (org_id) "/service-principals" } { "Done" } }
        }
    };
    let mut res =
        view::org_page("Service principal created", &session, &ctx, Tab::ServicePrincipals, body)
            .into_response();
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(res)
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Ids((org_id, sp_id)): Ids<(Uuid, Uuid)>,
    Posted { session, .. }: Posted<form::CsrfForm>,
) -> Result<Redirect, ConsoleError> {
    state.cp.delete_service_principal(session.caller, org_id, sp_id).await?;
    Ok(Redirect::to(&format!("/console/orgs/{org_id}/service-principals")))
}
