//! The header every cluster page shares: breadcrumb, name with live state badge, and the
//! cluster's own tabs (overview, snapshots, audit logs).
//!
//! Audit logs are cluster data, so their tab is drawn only for roles that may read them;
//! the page itself is guarded by the service like every other.

use maud::{html, Markup};

use super::view::{self, OrgContext};
use crate::domain::Action as Perm;
use crate::store::clusters::ClusterRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterTab {
    Overview,
    Snapshots,
    AuditLogs,
}

pub fn header(ctx: &OrgContext, c: &ClusterRow, tab: ClusterTab) -> Markup {
    let base = format!("/console/orgs/{}/clusters/{}", ctx.id(), c.id);
    let mut tabs = vec![
        (ClusterTab::Overview, "Overview", base.clone()),
        (ClusterTab::Snapshots, "Snapshots", format!("{base}/snapshots")),
    ];
    if ctx.can(Perm::AccessClusterData) {
        tabs.push((ClusterTab::AuditLogs, "Audit logs", format!("{base}/audit-logs")));
    }
    html! {
        nav.crumbs aria-label="Breadcrumb" { a href={ "/console/orgs/" (ctx.id()) "/clusters" } { "Clusters" } " / " (c.name) }
        div.page-head {
            h1 { (c.name) " " span #cluster-state { (view::badge(&c.state)) } }
        }
        nav.subtabs aria-label="Cluster sections" {
            @for (t, label, href) in &tabs {
                a href=(href) aria-current=[(*t == tab).then_some("page")] { (label) }
            }
        }
    }
}
