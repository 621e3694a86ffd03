//! The nodes section of a cluster page: each node's address and health as the control plane
//! last heard it from the node's heartbeats (`ControlPlane::cluster_nodes`, the same data as
//! `GET /v1/orgs/{org}/clusters/{id}/nodes`).

use maud::{html, Markup};

use super::view;
use crate::service::NodeStatus;

/// One node's health in a word: what a person scanning the table needs first.
fn health(n: &NodeStatus) -> (&'static str, &'static str) {
    match (n.healthy, n.sealed, n.last_heartbeat_at) {
        (_, _, None) => ("joining", "pending"),
        (false, _, Some(_)) => ("unreachable", "failed"),
        (true, Some(true), _) => ("sealed", "deleting"),
        (true, _, _) => ("healthy", "running"),
    }
}

pub fn section(nodes: &[NodeStatus], expected: i32) -> Markup {
    html! {
        section.card #nodes {
            h2 { "Nodes" }
            @if nodes.is_empty() {
                p.muted { "No node has joined yet. Nodes appear here as they register with the control plane." }
            } @else {
                p.muted { (nodes.len()) " of " (expected) " joined" }
                div.table-wrap { table {
                    thead { tr {
                        th { "Node" } th { "Address" } th { "Health" }
                        th.hide-sm { "Version" } th.hide-sm { "Last heartbeat" }
                    } }
                    tbody { @for n in nodes {
                        @let (word, class) = health(n);
                        tr data-node=(n.index) {
                            td {
                                "node-" (n.index)
                                @if n.leader { " " span.role-pill title="Serves the cluster's API" { "leader" } }
                                br; span.muted.small { (n.instance_id) }
                            }
                            td { @if let Some(a) = &n.api_address { code { (a) } } @else { span.muted { "not yet reported" } } }
                            td { span class={ "badge badge-" (class) } { (word) } }
                            td.hide-sm { (n.server_version.as_deref().unwrap_or("–")) }
                            td.hide-sm.muted {
                                @if let Some(t) = n.last_heartbeat_at { (view::when(t)) } @else { "never" }
                            }
                        }
                    } }
                } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn node(healthy: bool, sealed: Option<bool>, beat: bool) -> NodeStatus {
        NodeStatus {
            index: 0,
            instance_id: "i-1".into(),
            api_address: None,
            healthy,
            initialized: None,
            sealed,
            server_version: None,
            agent_version: None,
            leader: false,
            msp_bundle_version: None,
            registered_at: OffsetDateTime::UNIX_EPOCH,
            last_heartbeat_at: beat.then_some(OffsetDateTime::UNIX_EPOCH),
        }
    }

    #[test]
    fn health_table() {
        let check = |n: NodeStatus, expect: &str| assert_eq!(health(&n).0, expect);
        check(node(false, None, false), "joining");
        check(node(false, Some(false), true), "unreachable");
        check(node(true, Some(true), true), "sealed");
        check(node(true, Some(false), true), "healthy");
        check(node(true, None, true), "healthy");
    }
}
