//! Console/API parity: every action the web console offers must have an API twin that the
//! OpenAPI document describes, and every console form route must really be served.

use reqwest::Method;
use serde_json::Value;

use coffer_control_plane::console::ACTIONS;

use crate::helpers::spawn_app;

/// Replaces each `{param}` with a well-formed id so the route matches.
fn concrete(route: &str) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let mut out = String::new();
    let mut rest = route;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
        out.push_str(&id);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn concrete_table() {
    let check = |route: &str, braces_left: bool, prefix: &str| {
        let got = concrete(route);
        assert_eq!(got.contains('{'), braces_left, "{got}");
        assert!(got.starts_with(prefix), "{got}");
    };
    check("/console/login", false, "/console/login");
    check("/console/orgs/{org_id}/members/{user_id}/role", false, "/console/orgs/");
}

#[tokio::test]
async fn every_console_action_has_a_documented_api_twin() {
    let app = spawn_app().await;
    let spec: Value =
        app.send(Method::GET, "/v1/openapi.json", None, None).await.expect(200).clone();
    assert!(ACTIONS.len() >= 10, "the console offers at least the issue's actions");
    let mut missing = Vec::new();
    for a in ACTIONS {
        if spec["paths"][a.api_path].get(a.api_method).is_none() {
            missing.push(format!("{}: {} {}", a.name, a.api_method.to_uppercase(), a.api_path));
        }
    }
    assert!(
        missing.is_empty(),
        "console actions without an API twin in /v1/openapi.json: {missing:?}"
    );
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn every_console_form_route_is_served() {
    let app = spawn_app().await;
    for a in ACTIONS {
        let method = if a.api_method == "get" { Method::GET } else { Method::POST };
        let url = app.url(&concrete(a.form_route));
        let resp = app
            .client
            .request(method.clone(), url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        // Unauthenticated posts are redirected to sign-in or refused as incomplete forms; an
        // unrouted path would be the API's 404/405 instead.
        assert!(!matches!(status, 404 | 405), "{} {method} {}: {status}", a.name, a.form_route);
    }
    app.stop().await.expect("stop");
}
