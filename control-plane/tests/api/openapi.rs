//! The OpenAPI document is generated from the router, so it must describe exactly the routes
//! the service answers, and the route table the other tests use must cover all of them.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};
use crate::routes::{shape, Ids, ROUTES};

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

async fn spec(app: &TestApp) -> Value {
    let resp = app.send(Method::GET, "/v1/openapi.json", None, None).await;
    let spec = resp.expect(200).clone();
    assert!(
        resp.header("content-type").is_some_and(|ct| ct.starts_with("application/json")),
        "content-type {:?}",
        resp.header("content-type")
    );
    spec
}

/// `(METHOD, shape)` of every operation in the document.
fn documented(spec: &Value) -> BTreeSet<(String, String)> {
    let paths = spec["paths"].as_object().expect("paths object");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), shape(path)));
            }
        }
    }
    out
}

fn table() -> BTreeSet<(String, String)> {
    ROUTES.iter().map(|r| (r.method.to_owned(), r.shape())).collect()
}

#[tokio::test]
async fn document_is_openapi_3_1_with_security_and_errors() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let version = spec["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi version {version:?}");
    assert!(spec["info"]["title"].is_string() && spec["info"]["version"].is_string());

    let schemes = spec["components"]["securitySchemes"].as_object().expect("securitySchemes");
    let bearer = schemes.values().any(|s| {
        s["type"] == "http"
            && s["scheme"].as_str().is_some_and(|v| v.eq_ignore_ascii_case("bearer"))
    });
    assert!(bearer, "no bearer security scheme: {schemes:?}");

    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    let error_model = schemas.values().any(|s| {
        let text = s.to_string();
        text.contains("request_id") && text.contains("code") && text.contains("message")
    });
    assert!(error_model, "no error schema with code/message/request_id");

    // Protected operations declare the security requirement (globally or per operation).
    let global = spec["security"].as_array().is_some_and(|s| !s.is_empty());
    let org_path = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .find(|(p, _)| shape(p) == "/v1/orgs/{}/clusters")
        .map(|(_, item)| item.clone())
        .expect("clusters path documented");
    let per_op = org_path["get"]["security"].as_array().is_some_and(|s| !s.is_empty());
    assert!(global || per_op, "cluster listing has no security requirement");
}

#[tokio::test]
async fn route_table_covers_every_documented_route() {
    let app = spawn_app().await;
    let documented = documented(&spec(&app).await);
    let table = table();
    let missing_from_table: Vec<_> = documented.difference(&table).collect();
    assert!(
        missing_from_table.is_empty(),
        "documented routes missing from the test table: {missing_from_table:?}"
    );
    // The document itself need not be documented; everything else must be.
    let undocumented: Vec<_> =
        table.difference(&documented).filter(|(_, p)| p != "/v1/openapi.json").collect();
    assert!(
        undocumented.is_empty(),
        "served routes missing from the OpenAPI document: {undocumented:?}"
    );
}

#[tokio::test]
async fn every_table_route_is_served() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4().to_string();
    let ids =
        Ids { org: id.clone(), cluster: id.clone(), op: id.clone(), sp: id.clone(), user: id };
    for route in ROUTES {
        let resp = app.send(route.method(), &route.fill(&ids), None, None).await;
        // Without credentials or body a served route answers 200, 400, 401 or 415, never
        // the router's 404/405.
        assert!(
            ![404, 405].contains(&resp.status),
            "{} {} is not served: {} {}",
            route.method,
            route.path,
            resp.status,
            resp.text
        );
    }
    // Unknown paths are 404 in the error model.
    app.send(Method::GET, "/v1/no-such-route", None, None).await.expect_error(404, "not_found");
}

/// The operation object for a table route, found by shape (parameter names may differ).
fn operation<'a>(spec: &'a Value, route: &crate::routes::Route) -> &'a Value {
    let paths = spec["paths"].as_object().expect("paths");
    let item = paths
        .iter()
        .find(|(p, _)| shape(p) == route.shape())
        .map(|(_, item)| item)
        .unwrap_or_else(|| panic!("{} not documented", route.path));
    &item[route.method.to_ascii_lowercase()]
}

#[tokio::test]
async fn operations_document_what_the_server_does() {
    use crate::routes::Access;
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let global_security = spec["security"].as_array().is_some_and(|s| !s.is_empty());
    let mut problems = Vec::new();
    for route in ROUTES.iter().filter(|r| r.path != "/v1/openapi.json") {
        let op = operation(&spec, route);
        let label = format!("{} {}", route.method, route.path);
        let responses = op["responses"].as_object().cloned().unwrap_or_default();
        let success = match (route.method, route.path) {
            ("POST", "/v1/signup") => "201",
            ("POST", p) if p.ends_with("/members") || p.ends_with("/service-principals") => "201",
            ("POST", p) if p.ends_with("/clusters") => "202",
            ("POST", p) if p.ends_with("/snapshots") || p.ends_with("/restore") => "202",
            ("DELETE", p) if p.contains("/snapshots/") => "204",
            ("PATCH" | "DELETE", p) if p.contains("/clusters/") => "202",
            ("DELETE", _) => "204",
            ("POST", p) if p.ends_with("/result") => "204",
            _ => "200",
        };
        if !responses.contains_key(success) {
            problems.push(format!("{label}: success status {success} undocumented"));
        }
        let protected = route.access != Access::Public;
        let secured = global_security || op["security"].as_array().is_some_and(|s| !s.is_empty());
        if protected && !secured {
            problems.push(format!("{label}: no security requirement"));
        }
        if protected && !responses.contains_key("401") {
            problems.push(format!("{label}: 401 undocumented"));
        }
        if matches!(route.access, Access::Org(_)) && !responses.contains_key("404") {
            problems.push(format!("{label}: 404 undocumented"));
        }
        if matches!(route.access, Access::Org(r) if r > crate::routes::Role::Viewer)
            && !responses.contains_key("403")
        {
            problems.push(format!("{label}: 403 undocumented"));
        }
        if matches!(route.method, "POST" | "PATCH") && op["requestBody"].is_null() {
            problems.push(format!("{label}: request body undocumented"));
        }
        let params: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        let path_params = route.path.split('{').skip(1).filter_map(|s| s.split('}').next());
        for name in path_params {
            if !params.contains(name) {
                problems
                    .push(format!("{label}: path parameter {name} undocumented (has {params:?})"));
            }
        }
        let lists = ["/orgs", "/members", "/service-principals", "/clusters", "/orphans"];
        if route.method == "GET" && lists.iter().any(|l| route.path.ends_with(l)) {
            for name in ["page_size", "page_token"] {
                if !params.contains(name) {
                    problems.push(format!("{label}: list parameter {name} undocumented"));
                }
            }
        }
        if route.path.ends_with("/wait") && !params.contains("timeout") {
            problems.push(format!("{label}: timeout undocumented"));
        }
        // Error responses (RFC 6749 aside) point at the error model.
        if route.path != "/oauth/token" {
            for (status, resp) in &responses {
                if status.starts_with('4') && !resp.to_string().contains("Error") {
                    problems.push(format!("{label}: {status} response lacks the error schema"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "OpenAPI gaps:\n{}", problems.join("\n"));
}
