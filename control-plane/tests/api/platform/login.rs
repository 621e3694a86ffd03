//! Operator login, and that operator and customer credentials never cross over.

use reqwest::Method;
use serde_json::json;

use super::support::{create_operator, operator_login, operator_token};
use crate::helpers::{expire_all_tokens, spawn_app, str_field, unique_email, TestApp, PASSWORD};

const PLATFORM_ROUTES: [&str; 2] = ["/v1/platform/orphans", "/v1/platform/metrics"];

#[tokio::test]
async fn operator_logs_in_and_reads_platform_routes() {
    let app = spawn_app().await;
    let op = create_operator(&app).await;
    let resp = operator_login(&app, &op.email, PASSWORD).await;
    let body = resp.expect(200);
    let token = str_field(body, "access_token");
    assert!(token.starts_with("cpo_"), "{token}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(resp.header("cache-control"), Some("no-store"));

    // The email is matched case-insensitively, like customer logins.
    operator_login(&app, &op.email.to_uppercase(), PASSWORD).await.expect(200);

    let orphans = app.get("/v1/platform/orphans", &token).await;
    assert_eq!(orphans.expect(200)["orphans"], json!([]));
    assert!(orphans.body["next_page_token"].is_null(), "{}", orphans.text);

    let metrics = app.get("/v1/platform/metrics", &token).await;
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert!(
        metrics.header("content-type").is_some_and(|c| c.starts_with("text/plain")),
        "{:?}",
        metrics.header("content-type")
    );
    assert!(metrics.text.contains("\ncoffer_sweeper_runs_total 0\n"), "{}", metrics.text);
    assert!(metrics.text.contains("# TYPE coffer_orphans gauge"), "{}", metrics.text);

    // Bad page parameters are the usual 400.
    app.get("/v1/platform/orphans?page_size=0", &token).await.expect_error(400, "invalid_argument");

    // Neither the password nor the token reached a log line; the access was audited.
    let logs = crate::logs::captured();
    assert!(!logs.contains(PASSWORD) && !logs.contains(&token), "secret in logs:\n{logs}");
    assert!(logs.contains("operator listed orphan findings"), "{logs}");
}

#[tokio::test]
async fn bad_operator_credentials_are_indistinguishable() {
    let app = spawn_app().await;
    let op = create_operator(&app).await;
    let customer = app.new_user().await;
    let check = |email: String, password: &'static str| {
        let app = &app;
        async move {
            let resp = operator_login(app, &email, password).await;
            (resp.status, resp.expect_error(401, "unauthenticated"))
        }
    };
    let wrong_password = check(op.email.clone(), "not-the-password-at-all").await;
    let unknown_email = check(unique_email(), PASSWORD).await;
    let not_an_email = check("nobody".into(), PASSWORD).await;
    // A customer's valid credentials are not operator credentials.
    let customer_creds = check(customer.email.clone(), PASSWORD).await;
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password, not_an_email);
    assert_eq!(wrong_password, customer_creds);

    // Conversely, operator credentials do not log in to the customer API.
    app.login(&op.email, PASSWORD).await.expect_error(401, "unauthenticated");

    // Malformed bodies are 400 as elsewhere.
    let body = json!({"email": op.email});
    app.send(Method::POST, "/v1/platform/login", None, Some(&body))
        .await
        .expect_error(400, "invalid_argument");
}

#[tokio::test]
async fn customer_credentials_never_work_on_platform_routes() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let sp = app.create_sp(&owner.own_org, &owner.token, "admin").await;
    let sp_token = app.sp_token(&sp).await;
    // Sanity: these credentials work where they belong.
    app.get(&format!("/v1/orgs/{}", owner.own_org), &owner.token).await.expect(200);
    app.get(&format!("/v1/orgs/{}", owner.own_org), &sp_token).await.expect(200);

    for path in PLATFORM_ROUTES {
        for token in [&owner.token, &sp_token] {
            app.get(path, token).await.expect_error(401, "unauthenticated");
        }
        // Nor does the console session cookie (platform routes take bearer tokens only).
        let req = app
            .client
            .get(app.url(path))
            .header("cookie", format!("coffer_session={}", owner.token));
        TestApp::finish(req).await.expect_error(401, "unauthenticated");
        app.send(Method::GET, path, None, None).await.expect_error(401, "unauthenticated");
    }
}

#[tokio::test]
async fn operator_tokens_never_work_on_customer_routes() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let token = operator_token(&app).await;
    let org = &owner.own_org;
    let (cluster, op) = app.create_cluster(org, &owner.token, "prod-main").await;
    let cluster_id = str_field(&cluster, "id");
    let op_id = str_field(&op, "id");
    let body = json!({"name": "new-one", "tier": "dev", "size": "small", "region": "us-east-1"});
    let calls = [
        (Method::GET, "/v1/orgs".to_owned(), None),
        (Method::GET, format!("/v1/orgs/{org}"), None),
        (Method::GET, format!("/v1/orgs/{org}/members"), None),
        (Method::GET, format!("/v1/orgs/{org}/clusters"), None),
        (Method::POST, format!("/v1/orgs/{org}/clusters"), Some(&body)),
        (Method::GET, format!("/v1/orgs/{org}/clusters/{cluster_id}"), None),
        (Method::DELETE, format!("/v1/orgs/{org}/clusters/{cluster_id}"), None),
        (Method::GET, format!("/v1/orgs/{org}/operations/{op_id}"), None),
    ];
    for (method, path, body) in calls {
        let resp = app.send(method.clone(), &path, Some(&token), body).await;
        assert_eq!(resp.status, 401, "{method} {path}: {}", resp.text);
        resp.expect_error(401, "unauthenticated");
    }
    // The operator token itself is fine: it still works where it belongs.
    app.get("/v1/platform/orphans", &token).await.expect(200);
    // Nothing was changed by the refused calls.
    let clusters = app.get(&format!("/v1/orgs/{org}/clusters"), &owner.token).await;
    assert_eq!(clusters.expect(200)["clusters"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn expired_operator_tokens_are_refused() {
    let app = spawn_app().await;
    let token = operator_token(&app).await;
    app.get("/v1/platform/orphans", &token).await.expect(200);
    assert!(expire_all_tokens(&app).await >= 1);
    app.get("/v1/platform/orphans", &token).await.expect_error(401, "unauthenticated");
}
