//! Every JSON-body route rejects malformed input the same way: bad JSON, unknown fields, wrong
//! shapes -> 400, oversized -> 413, non-JSON content type -> 415, all in the error model, and
//! none of them writes anything.

use serde_json::{json, Value};

use crate::fixture::{org_fixture, OrgFixture};
use crate::helpers::{cluster_body, spawn_app, unique_email, TestApp, PASSWORD};

/// Everything the org's owner can list, to prove rejected requests wrote nothing.
async fn snapshot(app: &TestApp, fx: &OrgFixture) -> Vec<Value> {
    let org = &fx.ids.org;
    let mut out = Vec::new();
    for path in [
        format!("/v1/orgs/{org}/members?page_size=100"),
        format!("/v1/orgs/{org}/service-principals?page_size=100"),
        format!("/v1/orgs/{org}/clusters?page_size=100"),
        format!("/v1/orgs/{org}/clusters/{}", fx.ids.cluster),
    ] {
        out.push(app.get(&path, &fx.owner.token).await.expect(200).clone());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_route_rejects_malformed_bodies_and_writes_nothing() {
    let app = spawn_app().await;
    let fx = org_fixture(&app).await;
    let org = &fx.ids.org;
    let fresh_email = unique_email();
    // (method, path, a body the route would accept)
    let routes = [
        (
            "POST",
            "/v1/signup".to_owned(),
            json!({"email": fresh_email, "password": PASSWORD, "org_name": "x"}),
        ),
        ("POST", "/v1/login".to_owned(), json!({"email": fx.owner.email, "password": PASSWORD})),
        (
            "POST",
            format!("/v1/orgs/{org}/members"),
            json!({"email": unique_email(), "role": "viewer"}),
        ),
        ("PATCH", format!("/v1/orgs/{org}/members/{}", fx.ids.user), json!({"role": "admin"})),
        (
            "POST",
            format!("/v1/orgs/{org}/service-principals"),
            json!({"name": "robot", "role": "viewer"}),
        ),
        ("POST", format!("/v1/orgs/{org}/clusters"), cluster_body("never-made")),
        (
            "PATCH",
            format!("/v1/orgs/{org}/clusters/{}", fx.ids.cluster),
            json!({"public_endpoint": true}),
        ),
    ];
    let before = snapshot(&app, &fx).await;
    for (method, path, valid) in &routes {
        let valid_text = valid.to_string();
        let mut unknown = valid.clone();
        unknown["zz_unknown"] = json!(1);
        let mut oversized = valid.clone();
        oversized["padding"] = json!("x".repeat(70 * 1024));
        let check = |ct: &'static str, body: String, status: u16, code: &'static str| {
            (ct, body, status, code)
        };
        let json_ct = "application/json";
        let cases = [
            check(json_ct, "{\"".to_owned(), 400, "invalid_argument"),
            check(json_ct, "null".to_owned(), 400, "invalid_argument"),
            check(json_ct, "[1,2]".to_owned(), 400, "invalid_argument"),
            check(json_ct, unknown.to_string(), 400, "invalid_argument"),
            check(json_ct, oversized.to_string(), 413, "payload_too_large"),
            check("text/plain", valid_text.clone(), 415, "unsupported_media_type"),
            check("application/xml", "<a/>".to_owned(), 415, "unsupported_media_type"),
        ];
        for (content_type, body, status, code) in cases {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let req = app
                .client
                .request(method.clone(), app.url(path))
                .bearer_auth(&fx.owner.token)
                .header("content-type", content_type)
                .body(body.clone());
            let resp = TestApp::finish(req).await;
            let preview: String = body.chars().take(60).collect();
            assert_eq!(
                resp.status, status,
                "{method} {path} [{content_type}] {preview}: {}",
                resp.text
            );
            resp.expect_error(status, code);
        }
    }
    assert_eq!(before, snapshot(&app, &fx).await, "a rejected request changed the org");
    app.login(&fresh_email, PASSWORD).await.expect_error(401, "unauthenticated");
}
