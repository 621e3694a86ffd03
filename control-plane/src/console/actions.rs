//! The console's state-changing actions and their public API twins.
//!
//! The promise is that nothing can be done in the console that the API cannot do;
//! this table is that promise in checkable form (`tests/api/console_parity.rs` looks every
//! twin up in `/v1/openapi.json`).

/// One console action: the form it posts to and the API operation that does the same.
#[derive(Debug, Clone, Copy)]
pub struct Action {
    pub name: &'static str,
    /// Console route (axum path syntax) the form posts to.
    pub form_route: &'static str,
    pub api_method: &'static str,
    /// API path as written in the OpenAPI document.
    pub api_path: &'static str,
}

const fn action(
    name: &'static str,
    form_route: &'static str,
    api_method: &'static str,
    api_path: &'static str,
) -> Action {
    Action { name, form_route, api_method, api_path }
}

pub const ACTIONS: &[Action] = &[
    action("sign up", "/console/signup", "post", "/v1/signup"),
    action("sign in", "/console/login", "post", "/v1/login"),
    action("sign out", "/console/logout", "post", "/v1/logout"),
    // The same form's second button: `everywhere=true`, as `{"everywhere": true}` in the API.
    action("sign out everywhere", "/console/logout", "post", "/v1/logout"),
    action("invite member", "/console/orgs/{org_id}/members", "post", "/v1/orgs/{org_id}/members"),
    action(
        "change member role",
        "/console/orgs/{org_id}/members/{user_id}/role",
        "patch",
        "/v1/orgs/{org_id}/members/{user_id}",
    ),
    action(
        "remove member",
        "/console/orgs/{org_id}/members/{user_id}/remove",
        "delete",
        "/v1/orgs/{org_id}/members/{user_id}",
    ),
    action(
        "create service principal",
        "/console/orgs/{org_id}/service-principals",
        "post",
        "/v1/orgs/{org_id}/service-principals",
    ),
    action(
        "delete service principal",
        "/console/orgs/{org_id}/service-principals/{sp_id}/delete",
        "delete",
        "/v1/orgs/{org_id}/service-principals/{sp_id}",
    ),
    action(
        "create cluster",
        "/console/orgs/{org_id}/clusters",
        "post",
        "/v1/orgs/{org_id}/clusters",
    ),
    action(
        "edit IP allow list",
        "/console/orgs/{org_id}/clusters/{cluster_id}/allow-list",
        "patch",
        "/v1/orgs/{org_id}/clusters/{cluster_id}",
    ),
    action(
        "delete cluster",
        "/console/orgs/{org_id}/clusters/{cluster_id}/delete",
        "delete",
        "/v1/orgs/{org_id}/clusters/{cluster_id}",
    ),
    action(
        "generate admin token",
        "/console/orgs/{org_id}/clusters/{cluster_id}/admin-token",
        "post",
        "/v1/orgs/{org_id}/clusters/{cluster_id}/admin-token",
    ),
    action(
        "revoke admin tokens",
        "/console/orgs/{org_id}/clusters/{cluster_id}/revoke-admin-tokens",
        "post",
        "/v1/orgs/{org_id}/clusters/{cluster_id}/revoke-admin-tokens",
    ),
    action(
        "take snapshot",
        "/console/orgs/{org_id}/clusters/{cluster_id}/snapshots",
        "post",
        "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots",
    ),
    action(
        "restore snapshot",
        "/console/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}/restore",
        "post",
        "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}/restore",
    ),
    action(
        "delete snapshot",
        "/console/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}/delete",
        "delete",
        "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}",
    ),
    action(
        "list audit logs",
        "/console/orgs/{org_id}/clusters/{cluster_id}/audit-logs",
        "get",
        "/v1/orgs/{org_id}/clusters/{cluster_id}/audit-logs",
    ),
    action(
        "watch operation",
        "/console/orgs/{org_id}/clusters/{cluster_id}/status",
        "get",
        "/v1/orgs/{org_id}/operations/{op_id}",
    ),
];
