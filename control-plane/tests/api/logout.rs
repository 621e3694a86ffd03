//! `POST /v1/logout`: the presented credential is revoked server-side at once (not at
//! expiry), "everywhere" reaches a person's other sessions only, and a cookie sign-out needs
//! the CSRF header like every other cookie-authenticated write.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, str_field, TestApp, PASSWORD};

async fn logout(
    app: &TestApp,
    token: &str,
    body: Option<serde_json::Value>,
) -> crate::helpers::Resp {
    app.send(Method::POST, "/v1/logout", Some(token), body.as_ref()).await
}

#[tokio::test]
async fn bearer_logout_revokes_only_that_token() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let other = app.login_token(&user.email, PASSWORD).await;

    // No body at all is the common case.
    let resp = logout(&app, &user.token, None).await;
    assert_eq!(resp.expect(200)["revoked"], 1, "{}", resp.text);
    app.get("/v1/orgs", &user.token).await.expect_error(401, "unauthenticated");
    // Signing out twice: the token is gone, so the second call is unauthenticated.
    logout(&app, &user.token, None).await.expect_error(401, "unauthenticated");
    // The person's other session is untouched.
    app.get("/v1/orgs", &other).await.expect(200);
}

#[tokio::test]
async fn everywhere_revokes_the_persons_sessions_but_not_their_orgs_machines() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let second = app.login_token(&user.email, PASSWORD).await;
    let third = app.login_token(&user.email, PASSWORD).await;
    let sp = app.create_sp(&user.own_org, &user.token, "viewer").await;
    let sp_token = app.sp_token(&sp).await;
    let sp_token_2 = app.sp_token(&sp).await;
    let stranger = app.new_user().await;

    let resp = logout(&app, &second, Some(json!({"everywhere": true}))).await;
    assert_eq!(resp.expect(200)["revoked"], 3, "{}", resp.text);
    for token in [&user.token, &second, &third] {
        app.get("/v1/orgs", token).await.expect_error(401, "unauthenticated");
    }
    app.get("/v1/orgs", &sp_token).await.expect(200);
    app.get("/v1/orgs", &stranger.token).await.expect(200);

    // A service principal's token is revoked alone, even when it asks for "everywhere".
    let resp = logout(&app, &sp_token, Some(json!({"everywhere": true}))).await;
    assert_eq!(resp.expect(200)["revoked"], 1, "{}", resp.text);
    app.get("/v1/orgs", &sp_token).await.expect_error(401, "unauthenticated");
    app.get("/v1/orgs", &sp_token_2).await.expect(200);
}

#[tokio::test]
async fn bad_bodies_are_refused_and_revoke_nothing() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let check =
        |content_type: &'static str, body: &'static str, status: u16, code: &'static str| {
            let req = app
                .client
                .post(app.url("/v1/logout"))
                .bearer_auth(&user.token)
                .header("content-type", content_type)
                .body(body);
            async move { TestApp::finish(req).await.expect_error(status, code) }
        };
    check("application/json", r#"{"everywhere": "yes"}"#, 400, "invalid_argument").await;
    check("application/json", r#"{"all": true}"#, 400, "invalid_argument").await;
    check("text/plain", "everywhere", 415, "unsupported_media_type").await;
    app.get("/v1/orgs", &user.token).await.expect(200);
}

#[tokio::test]
async fn cookie_logout_needs_csrf_and_clears_the_cookie() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let resp = app.login(&user.email, PASSWORD).await;
    let csrf = str_field(resp.expect(200), "csrf_token");
    let token = str_field(&resp.body, "access_token");
    let cookie = format!("coffer_session={token}");

    // Another site can make the browser post here with the cookie, but not with the header.
    let forged = app.client.post(app.url("/v1/logout")).header("cookie", &cookie);
    TestApp::finish(forged).await.expect_error(403, "permission_denied");
    app.get("/v1/orgs", &token).await.expect(200);

    let real = app
        .client
        .post(app.url("/v1/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf);
    let resp = TestApp::finish(real).await;
    assert_eq!(resp.expect(200)["revoked"], 1);
    let cleared = resp.header("set-cookie").unwrap_or_default();
    assert!(cleared.starts_with("coffer_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    app.get("/v1/orgs", &token).await.expect_error(401, "unauthenticated");
    // The bearer token from the first login is another session and still works.
    app.get("/v1/orgs", &user.token).await.expect(200);
}
