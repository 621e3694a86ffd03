//! The page shell and small shared widgets (badges, flash notes, empty states).
//!
//! Pages are assembled with `maud`, which escapes every interpolated string at compile time,
//! so user-supplied names and emails cannot inject markup.

use axum::response::Html;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use uuid::Uuid;

use super::error::ConsoleError;
use super::session::Session;
use crate::domain::{Action as Perm, PageSize, Role};
use crate::http::AppState;
use crate::store::orgs::OrgWithRole;

/// The navigation tab a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Clusters,
    Members,
    ServicePrincipals,
}

/// What the shell needs to draw the header: the org being viewed, the others for the switcher,
/// and the caller's role (which decides whether mutating controls are drawn at all).
pub struct OrgContext {
    pub org: OrgWithRole,
    pub orgs: Vec<OrgWithRole>,
    pub role: Role,
}

impl OrgContext {
    pub async fn load(
        state: &AppState,
        session: &Session,
        org_id: Uuid,
    ) -> Result<Self, ConsoleError> {
        let org = state.cp.get_org(session.caller, org_id).await?;
        let orgs = state.cp.list_orgs(session.caller, max_page(), None).await?.items;
        let role = Role::parse(&org.role).map_err(|e| ConsoleError::Internal(e.0))?;
        Ok(Self { org, orgs, role })
    }

    pub fn can(&self, perm: Perm) -> bool {
        self.role.allows(perm)
    }

    pub fn id(&self) -> Uuid {
        self.org.id
    }
}

/// The largest page the API serves; the console lists at most this many rows per table.
pub fn max_page() -> PageSize {
    PageSize::new(100).unwrap_or_default()
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Coffer" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

fn brand() -> Markup {
    html! {
        a.brand href="/console" aria-label="Coffer home" {
            span.logo aria-hidden="true" { (PreEscaped("&#9670;")) }
            " Coffer"
        }
    }
}

/// A page without the signed-in chrome (sign-in, sign-up, error pages).
pub fn bare_page(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body.bare {
                    header.topbar { (brand()) }
                    main.container { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// A signed-in page inside an org: header with org switcher, tabs and sign-out.
pub fn org_page(
    title: &str,
    session: &Session,
    ctx: &OrgContext,
    tab: Tab,
    body: Markup,
) -> Html<String> {
    let org_id = ctx.id();
    let tabs = [
        (Tab::Clusters, "Clusters", format!("/console/orgs/{org_id}/clusters")),
        (Tab::Members, "Members", format!("/console/orgs/{org_id}/members")),
        (
            Tab::ServicePrincipals,
            "Service principals",
            format!("/console/orgs/{org_id}/service-principals"),
        ),
    ];
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body {
                    header.topbar {
                        (brand())
                        details.switcher {
                            summary aria-label="Switch organization" {
                                span.org-name { (ctx.org.name) }
                                span.role-pill { (ctx.org.role) }
                            }
                            ul.menu {
                                @for o in &ctx.orgs {
                                    li {
                                        a href={ "/console/orgs/" (o.id) "/clusters" }
                                          aria-current=[(o.id == org_id).then_some("true")] {
                                            (o.name) span.muted { " · " (o.role) }
                                        }
                                    }
                                }
                            }
                        }
                        (signout_form(session, "link"))
                    }
                    nav.tabs aria-label="Sections" {
                        @for (t, label, href) in &tabs {
                            a href=(href) aria-current=[(*t == tab).then_some("page")] { (label) }
                        }
                    }
                    main.container { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// A state badge; the CSS colours it by state name.
pub fn badge(state: &str) -> Markup {
    html! { span class={ "badge badge-" (state) } { (state) } }
}

pub fn empty_state(title: &str, text: &str, action: Option<(&str, &str)>) -> Markup {
    html! {
        div.empty {
            h2 { (title) }
            p.muted { (text) }
            @if let Some((label, href)) = action {
                a.button.primary href=(href) { (label) }
            }
        }
    }
}

/// An inline error attached to a form or field (announced by screen readers).
pub fn form_error(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p.error role="alert" { (m) }
        }
    }
}

/// Sign out of this browser, or of every session and token the person holds (after a lost
/// laptop or a leaked token). Both are submit buttons of one form, so each is reachable with
/// Tab and pressed with Enter/Space, and only the pressed one's `everywhere` value is posted.
pub fn signout_form(session: &Session, button_class: &str) -> Markup {
    html! {
        form.signout method="post" action="/console/logout" {
            (csrf_field(session))
            button class=(button_class) type="submit" { "Sign out" }
            button class=(button_class) type="submit" name="everywhere" value="true"
                title="Also revoke your other browser sessions and API tokens" {
                "Sign out everywhere"
            }
        }
    }
}

pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf()); }
}

/// `2026-11-22 13:58 UTC`: enough precision for a console table.
pub fn when(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}
