//! The single table of every route the control plane serves and who may call it. The role
//! matrix, the cross-org walk and the OpenAPI coverage check all read this table, so a route
//! added to the service without a row here fails the OpenAPI test.

use reqwest::Method;

/// Org roles, ordered by privilege.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Contributor,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Contributor => "contributor",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No credentials needed.
    Public,
    /// Any valid credentials; answers only about the caller.
    Authenticated,
    /// A member (user or service principal) of the org in the path with at least this role.
    Org(Role),
    /// A platform operator's bearer token; customer credentials never qualify.
    Operator,
    /// A registered node's credential (`cfn_...`); nothing else qualifies.
    Node,
}

#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: &'static str,
    /// Path template with `{org_id}`, `{cluster_id}`, `{op_id}`, `{sp_id}`, `{user_id}`.
    pub path: &'static str,
    pub access: Access,
}

impl Route {
    pub fn method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).expect("valid method in table")
    }

    /// The template with every `{param}` replaced by `{}`, for comparing with other spellings.
    pub fn shape(&self) -> String {
        shape(self.path)
    }

    pub fn fill(&self, ids: &Ids) -> String {
        self.path
            .replace("{org_id}", &ids.org)
            .replace("{cluster_id}", &ids.cluster)
            .replace("{op_id}", &ids.op)
            .replace("{sp_id}", &ids.sp)
            .replace("{user_id}", &ids.user)
    }
}

/// Object ids to fill a path template with.
#[derive(Clone, Debug)]
pub struct Ids {
    pub org: String,
    pub cluster: String,
    pub op: String,
    pub sp: String,
    pub user: String,
}

/// Replaces every `{param}` in a path template with `{}`.
pub fn shape(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn shape_ignores_parameter_names() {
    let check = |input: &str, expect: &str| assert_eq!(shape(input), expect, "{input}");
    check("/v1/health", "/v1/health");
    check("/v1/orgs/{org_id}", "/v1/orgs/{}");
    check("/v1/orgs/{org}/clusters/{id}", "/v1/orgs/{}/clusters/{}");
}

const fn route(method: &'static str, path: &'static str, access: Access) -> Route {
    Route { method, path, access }
}

use Access::{Authenticated, Node, Operator, Org, Public};
use Role::{Admin, Contributor, Viewer};

pub const ROUTES: &[Route] = &[
    route("GET", "/v1/health", Public),
    route("POST", "/v1/signup", Public),
    route("POST", "/v1/login", Public),
    route("POST", "/v1/logout", Authenticated),
    route("POST", "/oauth/token", Public),
    route("GET", "/v1/openapi.json", Public),
    route("GET", "/v1/orgs", Authenticated),
    route("GET", "/v1/orgs/{org_id}", Org(Viewer)),
    route("GET", "/v1/orgs/{org_id}/members", Org(Viewer)),
    route("POST", "/v1/orgs/{org_id}/members", Org(Admin)),
    route("PATCH", "/v1/orgs/{org_id}/members/{user_id}", Org(Admin)),
    route("DELETE", "/v1/orgs/{org_id}/members/{user_id}", Org(Admin)),
    route("GET", "/v1/orgs/{org_id}/service-principals", Org(Viewer)),
    route("POST", "/v1/orgs/{org_id}/service-principals", Org(Admin)),
    route("DELETE", "/v1/orgs/{org_id}/service-principals/{sp_id}", Org(Admin)),
    route("GET", "/v1/orgs/{org_id}/clusters", Org(Viewer)),
    route("POST", "/v1/orgs/{org_id}/clusters", Org(Contributor)),
    route("GET", "/v1/orgs/{org_id}/clusters/{cluster_id}", Org(Viewer)),
    route("PATCH", "/v1/orgs/{org_id}/clusters/{cluster_id}", Org(Contributor)),
    route("DELETE", "/v1/orgs/{org_id}/clusters/{cluster_id}", Org(Contributor)),
    route("GET", "/v1/orgs/{org_id}/operations/{op_id}", Org(Viewer)),
    route("GET", "/v1/orgs/{org_id}/operations/{op_id}/wait", Org(Viewer)),
    route("POST", "/v1/nodes/register", Public),
    route("GET", "/v1/nodes/commands", Node),
    route("POST", "/v1/nodes/commands/{command_id}/result", Node),
    route("POST", "/v1/nodes/heartbeat", Node),
    route("GET", "/v1/orgs/{org_id}/clusters/{cluster_id}/nodes", Org(Viewer)),
    route("POST", "/v1/orgs/{org_id}/clusters/{cluster_id}/admin-token", Org(Admin)),
    route("POST", "/v1/orgs/{org_id}/clusters/{cluster_id}/revoke-admin-tokens", Org(Admin)),
    route("GET", "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots", Org(Viewer)),
    route("POST", "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots", Org(Contributor)),
    route("GET", "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}", Org(Viewer)),
    route("DELETE", "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}", Org(Admin)),
    route(
        "POST",
        "/v1/orgs/{org_id}/clusters/{cluster_id}/snapshots/{snapshot_id}/restore",
        Org(Admin),
    ),
    route("GET", "/v1/orgs/{org_id}/clusters/{cluster_id}/audit-logs", Org(Admin)),
    route("GET", "/v1/orgs/{org_id}/clusters/{cluster_id}/audit-logs/download", Org(Admin)),
    route("POST", "/v1/platform/msp-bundles", Operator),
    route("GET", "/v1/platform/msp-bundles/{version}", Operator),
    route("POST", "/v1/platform/login", Public),
    route("GET", "/v1/platform/orphans", Operator),
    route("GET", "/v1/platform/metrics", Operator),
];

/// Routes scoped to an org, i.e. the ones authorization decides on.
pub fn org_routes() -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().filter(|r| matches!(r.access, Org(_)))
}
