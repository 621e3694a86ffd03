//! Members and roles: list, invite, change role, remove. Admins see the controls; viewers and
//! contributors see the same table without them (and the service refuses their posts anyway).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
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

/// Roles the caller may hand out: owners can make owners, admins everything below.
fn grantable(ctx: &OrgContext) -> impl Iterator<Item = Role> + '_ {
    Role::ALL.into_iter().filter(|r| *r != Role::Owner || ctx.can(Perm::ManageOwners))
}

async fn render(
    state: &AppState,
    session: &Session,
    org_id: Uuid,
    invite: Option<(&InviteForm, &str)>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let ctx = OrgContext::load(state, session, org_id).await?;
    let members = state.cp.list_members(session.caller, org_id, max_page(), None).await?.items;
    let manage = ctx.can(Perm::ManageMembers);
    let base = format!("/console/orgs/{org_id}/members");
    let body = html! {
        div.page-head { h1 { "Members" } }
        @if manage {
            form.card.inline-form method="post" action=(base) novalidate aria-label="Invite a member" {
                (view::csrf_field(session))
                div.col.grow {
                    label for="invite-email" { "Invite by email" }
                    input #invite-email type="email" name="email" required placeholder="teammate@example.com"
                        value=(invite.map_or("", |(f, _)| f.email.as_str()))
                        aria-invalid=[invite.map(|_| "true")];
                }
                div.col {
                    label for="invite-role" { "Role" }
                    select #invite-role name="role" {
                        @for r in grantable(&ctx) {
                            option value=(r.as_str()) selected[r == Role::Viewer] { (r.as_str()) }
                        }
                    }
                }
                div.col.end { button.button.primary type="submit" { "Send invite" } }
                (view::form_error(invite.map(|(_, e)| e)))
            }
        }
        @if members.is_empty() {
            (view::empty_state("No members", "This organization has no members.", None))
        } @else {
            div.table-wrap { table {
                thead { tr { th { "Email" } th { "Role" } th.hide-sm { "Status" } @if manage { th { span.sr-only { "Actions" } } } } }
                tbody { @for m in &members { tr {
                    td { (m.email) }
                    td {
                        @if manage {
                            form.row-form method="post" action={ (base) "/" (m.user_id) "/role" } {
                                (view::csrf_field(session))
                                label.sr-only for={ "role-" (m.user_id) } { "Role for " (m.email) }
                                select id={ "role-" (m.user_id) } name="role" {
                                    @for r in Role::ALL { option value=(r.as_str()) selected[m.role == r.as_str()] { (r.as_str()) } }
                                }
                                button.button.small type="submit" { "Save" }
                            }
                        } @else {
                            span.role-pill { (m.role) }
                        }
                    }
                    td.hide-sm { @if m.active { span.badge.badge-running { "active" } } @else { span.badge.badge-pending { "invited" } } }
                    @if manage {
                        td.right {
                            form method="post" action={ (base) "/" (m.user_id) "/remove" }
                                data-confirm={ "Remove " (m.email) " from " (ctx.org.name) "?" } {
                                (view::csrf_field(session))
                                button.button.small.destructive type="submit" aria-label={ "Remove " (m.email) } { "Remove" }
                            }
                        }
                    }
                } } }
            } }
        }
    };
    Ok((status, view::org_page("Members", session, &ctx, Tab::Members, body)).into_response())
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    State(state): State<Arc<AppState>>,
    Ids(org_id): Ids<Uuid>,
    Posted { session, form: f }: Posted<InviteForm>,
) -> Result<Response, ConsoleError> {
    match state.cp.add_member(session.caller, org_id, f.email.trim(), &f.role).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/orgs/{org_id}/members")).into_response()),
        Err(ServiceError::Invalid(m) | ServiceError::Conflict(m)) => {
            render(&state, &session, org_id, Some((&f, &m)), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    State(state): State<Arc<AppState>>,
    Ids((org_id, user_id)): Ids<(Uuid, Uuid)>,
    Posted { session, form: f }: Posted<RoleForm>,
) -> Result<Redirect, ConsoleError> {
    state.cp.update_member(session.caller, org_id, user_id, &f.role).await?;
    Ok(Redirect::to(&format!("/console/orgs/{org_id}/members")))
}

pub async fn remove(
    State(state): State<Arc<AppState>>,
    Ids((org_id, user_id)): Ids<(Uuid, Uuid)>,
    Posted { session, .. }: Posted<form::CsrfForm>,
) -> Result<Redirect, ConsoleError> {
    state.cp.remove_member(session.caller, org_id, user_id).await?;
    Ok(Redirect::to(&format!("/console/orgs/{org_id}/members")))
}
