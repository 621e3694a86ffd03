//! Health, sign-up, log-in and bearer-token authentication.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    spawn_app, spawn_app_with, str_field, unique_email, unique_name, TestApp, PASSWORD,
};

#[tokio::test]
async fn health_reports_ok_and_request_ids_are_generated_or_echoed() {
    let app = spawn_app().await;
    let resp = app.send(Method::GET, "/v1/health", None, None).await;
    assert_eq!(resp.expect(200), &json!({"status": "ok", "database": "ok"}));
    let generated = resp.header("x-request-id").unwrap_or_default().to_owned();
    assert!(!generated.is_empty(), "no x-request-id generated");
    let again = app.send(Method::GET, "/v1/health", None, None).await;
    assert_ne!(
        again.header("x-request-id"),
        Some(generated.as_str()),
        "request ids must be unique"
    );

    let req = app.client.get(app.url("/v1/health")).header("x-request-id", "test-req-42");
    let resp = TestApp::finish(req).await;
    assert_eq!(resp.header("x-request-id"), Some("test-req-42"));
    // Errors carry the caller's request id too.
    let req = app.client.get(app.url("/v1/orgs")).header("x-request-id", "test-req-43");
    let resp = TestApp::finish(req).await;
    resp.expect_error(401, "unauthenticated");
    assert_eq!(resp.body["error"]["request_id"], "test-req-43");
}

#[tokio::test]
async fn signup_creates_a_user_and_an_org_they_own() {
    let app = spawn_app().await;
    let email = unique_email();
    let resp = app.signup(&email, PASSWORD, "acme").await;
    let body = resp.expect(201);
    let user = &body["user"];
    let org = &body["org"];
    assert_eq!(user["email"], email.as_str());
    for field in ["id", "created_at"] {
        assert!(user[field].is_string(), "user.{field} missing: {body}");
        assert!(org[field].is_string(), "org.{field} missing: {body}");
    }
    assert_eq!(org["name"], "acme");
    assert!(!resp.text.contains(PASSWORD), "signup echoes the password");
    assert!(!resp.text.contains("argon2"), "signup leaks a hash");

    let token = app.login_token(&email, PASSWORD).await;
    let orgs = app.get("/v1/orgs", &token).await.expect(200).clone();
    assert_eq!(orgs["orgs"].as_array().map(Vec::len), Some(1), "{orgs}");
    assert_eq!(orgs["orgs"][0]["id"], org["id"]);
    assert_eq!(orgs["orgs"][0]["role"], "owner");
    let org_id = str_field(org, "id");
    let members = app.get(&format!("/v1/orgs/{org_id}/members"), &token).await.expect(200).clone();
    let list = members["members"].as_array().expect("members array");
    assert_eq!(list.len(), 1, "{members}");
    assert_eq!(list[0]["user_id"], user["id"]);
    assert_eq!(list[0]["role"], "owner");
    assert_eq!(list[0]["status"], "active");
    let got = app.get(&format!("/v1/orgs/{org_id}"), &token).await.expect(200).clone();
    assert_eq!(got["id"], org["id"]);
    assert_eq!(got["name"], "acme");
}

#[tokio::test]
async fn duplicate_email_is_a_conflict() {
    let app = spawn_app().await;
    let email = unique_email();
    app.signup(&email, PASSWORD, "first").await.expect(201);
    app.signup(&email, "another-long-password", "second").await.expect_error(409, "conflict");
    // The original password still works; the second one never does.
    app.login(&email, PASSWORD).await.expect(200);
    app.login(&email, "another-long-password").await.expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn invalid_signups_are_rejected_and_write_nothing() {
    let app = spawn_app().await;
    let check =
        |email: &'static str, password: &'static str, org: &'static str| (email, password, org);
    let cases = [
        check("short@example.com", "elevenchars", "acme"),
        check("empty@example.com", "", "acme"),
        check("not-an-email", PASSWORD, "acme"),
        check("", PASSWORD, "acme"),
        check("a@", PASSWORD, "acme"),
        check("@example.com", PASSWORD, "acme"),
        check("two@@example.com", PASSWORD, "acme"),
        check("spa ce@example.com", PASSWORD, "acme"),
        check("noorg@example.com", PASSWORD, ""),
    ];
    for (email, password, org) in cases {
        let resp = app.signup(email, password, org).await;
        let message = resp.expect_error(400, "invalid_argument");
        assert!(!message.contains(password) || password.is_empty(), "message echoes the password");
        if !email.is_empty() {
            app.login(email, password).await.expect_error(401, "unauthenticated");
        }
    }
    // Exactly 12 characters is enough.
    app.signup(&unique_email(), "twelve-chars", &unique_name("org")).await.expect(201);
    // Structural problems are 400 in the same model.
    let bad_bodies = [
        json!({"email": unique_email(), "password": PASSWORD}),
        json!({"email": unique_email(), "password": PASSWORD, "org_name": "x", "admin": true}),
        json!({"email": 42, "password": PASSWORD, "org_name": "x"}),
    ];
    for body in bad_bodies {
        let resp = app.send(Method::POST, "/v1/signup", None, Some(&body)).await;
        resp.expect_error(400, "invalid_argument");
    }
}

#[tokio::test]
async fn login_returns_a_bearer_token_and_rejects_wrong_credentials() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let resp = app.login(&user.email, PASSWORD).await;
    let body = resp.expect(200);
    assert_eq!(body["token_type"], "Bearer");
    let expires_in = body["expires_in"].as_u64().expect("expires_in");
    assert!(expires_in > 0 && expires_in <= 86_400, "expires_in {expires_in}");
    assert!(body["csrf_token"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    let token = str_field(body, "access_token");
    assert!(token.len() >= 32, "token too short to be random: {}", token.len());
    app.get("/v1/orgs", &token).await.expect(200);
    // Two logins give two distinct tokens.
    assert_ne!(token, app.login_token(&user.email, PASSWORD).await);

    let wrong_password = app.login(&user.email, "wrong-password-123").await;
    let unknown_user = app.login(&unique_email(), PASSWORD).await;
    let m1 = wrong_password.expect_error(401, "unauthenticated");
    let m2 = unknown_user.expect_error(401, "unauthenticated");
    assert_eq!(m1, m2, "login must not reveal whether the email exists");
}

#[tokio::test]
async fn expired_tokens_are_rejected() {
    // With a zero lifetime every token is already expired when it is first used.
    let app = spawn_app_with(|s| s.auth.access_token_ttl_secs = 0).await;
    let email = unique_email();
    app.signup(&email, PASSWORD, "acme").await.expect(201);
    let token = app.login_token(&email, PASSWORD).await;
    app.get("/v1/orgs", &token).await.expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn expired_service_principal_tokens_are_rejected() {
    let app = spawn_app_with(|s| s.auth.service_token_ttl_secs = 0).await;
    let user = app.new_user().await;
    // User tokens keep their own lifetime.
    app.get("/v1/orgs", &user.token).await.expect(200);
    let sp = app.create_sp(&user.own_org, &user.token, "viewer").await;
    let token = app.sp_token(&sp).await;
    app.get(&format!("/v1/orgs/{}/clusters", user.own_org), &token)
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn tokens_are_stored_as_sha256_only() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let sp = app.create_sp(&user.own_org, &user.token, "viewer").await;
    let sp_token = app.sp_token(&sp).await;
    // Look in every bytea column of every table for SHA-256(token).
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type = 'bytea'",
    )
    .fetch_all(&app.db)
    .await
    .expect("columns");
    for token in [&user.token, &sp_token] {
        let mut found = 0;
        for (table, column) in &columns {
            let sql =
                format!(r#"SELECT count(*) FROM "{table}" WHERE "{column}" = sha256($1::bytea)"#);
            let (n,): (i64,) = sqlx::query_as(&sql)
                .bind(token.as_bytes())
                .fetch_one(&app.db)
                .await
                .expect("search");
            found += n;
        }
        assert_eq!(found, 1, "SHA-256 of an issued token must be stored exactly once");
    }
}

#[tokio::test]
async fn tokens_expire_in_the_database_too() {
    // A token made expired after issue (as time passing would) stops working.
    let app = spawn_app().await;
    let user = app.new_user().await;
    app.get("/v1/orgs", &user.token).await.expect(200);
    let updated = crate::helpers::expire_all_tokens(&app).await;
    assert!(updated > 0, "no token rows found to expire");
    app.get("/v1/orgs", &user.token).await.expect_error(401, "unauthenticated");
}
