//! A populated org (owner, cluster with its create operation, service principal, extra member)
//! and a way to turn any row of the route table into a concrete request that an authorized
//! caller would succeed with. Shared by the role matrix and the cross-org walk.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{cluster_body, str_field, unique_email, unique_name, TestApp, User};
use crate::routes::{Ids, Route};

pub struct OrgFixture {
    pub owner: User,
    pub ids: Ids,
}

/// An org owned by a new user, holding one cluster (and its operation), one viewer service
/// principal and one viewer member.
pub async fn org_fixture(app: &TestApp) -> OrgFixture {
    let owner = app.new_user().await;
    let org = owner.own_org.clone();
    let (cluster, op) = app.create_cluster(&org, &owner.token, &unique_name("c")).await;
    let sp = app.create_sp(&org, &owner.token, "viewer").await;
    let member = app.add_member(&org, &owner.token, "viewer").await;
    let ids = Ids {
        org,
        cluster: str_field(&cluster, "id"),
        op: str_field(&op, "id"),
        sp: sp.id,
        user: member.id,
    };
    OrgFixture { owner, ids }
}

/// A concrete request for a route and the status an authorized caller gets.
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    pub success: u16,
}

/// Builds a valid request for `route` against `fx`. With `fresh_targets`, routes that change
/// or remove one object get a newly created object (made by the owner), so every caller in a
/// matrix acts on an intact target; without it they aim at the fixture's own objects.
pub async fn prepare(app: &TestApp, route: &Route, fx: &OrgFixture, fresh_targets: bool) -> Call {
    let mut ids = fx.ids.clone();
    let org = &fx.ids.org;
    let owner = &fx.owner.token;
    let method = route.method();
    let (body, success) = match (route.method, route.path) {
        ("POST", "/v1/orgs/{org_id}/members") => {
            (Some(json!({"email": unique_email(), "role": "viewer"})), 201)
        }
        ("PATCH", "/v1/orgs/{org_id}/members/{user_id}") => {
            if fresh_targets {
                ids.user = app.add_member(org, owner, "viewer").await.id;
            }
            (Some(json!({"role": "contributor"})), 200)
        }
        ("DELETE", "/v1/orgs/{org_id}/members/{user_id}") => {
            if fresh_targets {
                ids.user = app.add_member(org, owner, "viewer").await.id;
            }
            (None, 204)
        }
        ("POST", "/v1/orgs/{org_id}/service-principals") => {
            (Some(json!({"name": unique_name("sp"), "role": "viewer"})), 201)
        }
        ("DELETE", "/v1/orgs/{org_id}/service-principals/{sp_id}") => {
            if fresh_targets {
                ids.sp = app.create_sp(org, owner, "viewer").await.id;
            }
            (None, 204)
        }
        ("POST", "/v1/orgs/{org_id}/clusters") => (Some(cluster_body(&unique_name("c"))), 202),
        ("PATCH" | "DELETE", "/v1/orgs/{org_id}/clusters/{cluster_id}") => {
            if fresh_targets {
                let (cluster, _) = app.create_cluster(org, owner, &unique_name("c")).await;
                ids.cluster = str_field(&cluster, "id");
            }
            let body = (route.method == "PATCH").then(|| json!({"ip_allow_list": ["10.0.0.0/8"]}));
            (body, 202)
        }
        // The fixture's cluster has no node, so an allowed caller gets "node unavailable".
        ("POST", "/v1/orgs/{org_id}/clusters/{cluster_id}/admin-token") => {
            (Some(json!({"ttl": "1h"})), 503)
        }
        ("POST", "/v1/orgs/{org_id}/clusters/{cluster_id}/revoke-admin-tokens") => (None, 503),
        // Snapshots: the target cluster gets a snapshots bucket (as if provisioned); a route
        // on one snapshot gets a new available one. A restore locks its cluster's restores,
        // so fresh targets restore on a fresh cluster.
        ("POST", "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots") => {
            crate::snapshots::provision(app, &ids.cluster).await;
            (Some(json!({})), 202)
        }
        ("POST", "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}/restore") => {
            if fresh_targets {
                let (cluster, _) = app.create_cluster(org, owner, &unique_name("c")).await;
                ids.cluster = str_field(&cluster, "id");
            }
            (Some(json!({})), 202)
        }
        ("DELETE", "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}") => {
            (None, 204)
        }
        ("GET", _) => (None, 200),
        other => panic!("no request recipe for {other:?}; add one"),
    };
    let mut path = route.fill(&ids);
    if route.path.contains("{snapshot_id}") {
        let snapshot = crate::snapshots::available_snapshot(app, &ids.cluster).await;
        path = path.replace("{snapshot_id}", &snapshot);
    }
    if route.path.contains("/audit-logs") {
        path.push_str("?from=2026-11-22T10:00:00Z&to=2026-11-22T11:00:00Z");
    }
    if route.path.ends_with("/wait") {
        path.push_str("?timeout=100ms");
    }
    Call { method, path, body, success }
}
