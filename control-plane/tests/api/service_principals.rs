//! Service principals: one-time secrets, the OAuth 2.0 client-credentials exchange (form and
//! HTTP Basic), RFC 6749 error bodies, revocation and role limits.

use base64::Engine as _;
use serde_json::json;

use crate::helpers::{spawn_app, str_field, unique_name, Resp, TestApp};

#[track_caller]
fn assert_oauth_error(resp: &Resp, status: u16, error: &str) {
    assert_eq!(resp.status, status, "{}", resp.text);
    assert_eq!(resp.body["error"], error, "RFC 6749 error body expected: {}", resp.text);
    assert!(resp.body["error_description"].is_string() || resp.body["error_description"].is_null());
}

#[tokio::test]
async fn the_secret_is_shown_once_and_never_listed() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let path = format!("/v1/orgs/{org}/service-principals");
    let name = unique_name("ci");
    let resp = app.post(&path, &owner.token, &json!({"name": name, "role": "contributor"})).await;
    let body = resp.expect(201).clone();
    let sp = &body["service_principal"];
    let secret = str_field(&body, "client_secret");
    assert!(secret.len() >= 32, "client secret too short to be random");
    assert_eq!(sp["name"], name.as_str());
    assert_eq!(sp["role"], "contributor");
    for field in ["id", "client_id", "created_at"] {
        assert!(sp[field].is_string(), "{field} missing: {body}");
    }
    assert!(!sp.to_string().contains(&secret), "secret inside the principal object");

    let list = app.get(&path, &owner.token).await;
    let principals = list.expect(200)["service_principals"].as_array().expect("list").clone();
    assert_eq!(principals.len(), 1);
    assert_eq!(&principals[0], sp, "list entry must equal the created principal");
    assert!(!list.text.contains(&secret), "list reveals the client secret");
    assert!(!list.text.contains("client_secret"), "list has a client_secret field");
    assert!(!list.text.contains("argon2") && !list.text.contains("hash"), "list reveals a hash");
}

#[tokio::test]
async fn token_exchange_via_form_and_basic() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let sp = app.create_sp(org, &owner.token, "viewer").await;

    let form = app
        .oauth_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &sp.client_id),
            ("client_secret", &sp.client_secret),
        ])
        .await;
    let body = form.expect(200);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0), "{body}");
    let form_token = str_field(body, "access_token");
    app.get(&format!("/v1/orgs/{org}/clusters"), &form_token).await.expect(200);

    let basic = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(&sp.client_id, Some(&sp.client_secret))
        .form(&[("grant_type", "client_credentials")]);
    let basic = TestApp::finish(basic).await;
    let basic_token = str_field(basic.expect(200), "access_token");
    assert_ne!(basic_token, form_token);
    app.get(&format!("/v1/orgs/{org}/clusters"), &basic_token).await.expect(200);
    // The token carries the principal's role: a viewer may not create clusters.
    let body = crate::helpers::cluster_body("sp-made");
    app.post(&format!("/v1/orgs/{org}/clusters"), &basic_token, &body)
        .await
        .expect_error(403, "permission_denied");
}

#[tokio::test]
async fn bad_exchanges_follow_rfc_6749() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let sp = app.create_sp(&owner.own_org, &owner.token, "viewer").await;
    let id = sp.client_id.as_str();
    let secret = sp.client_secret.as_str();
    let wrong = format!("{secret}x");
    let cc = "client_credentials";
    let check =
        |form: Vec<(&'static str, String)>, status: u16, error: &'static str| (form, status, error);
    let cases = [
        check(
            vec![
                ("grant_type", cc.into()),
                ("client_id", id.into()),
                ("client_secret", wrong.clone()),
            ],
            401,
            "invalid_client",
        ),
        check(
            vec![
                ("grant_type", cc.into()),
                ("client_id", id.into()),
                ("client_secret", String::new()),
            ],
            401,
            "invalid_client",
        ),
        check(
            vec![
                ("grant_type", cc.into()),
                ("client_id", "no-such-client".into()),
                ("client_secret", secret.into()),
            ],
            401,
            "invalid_client",
        ),
        check(
            vec![
                ("grant_type", "password".into()),
                ("client_id", id.into()),
                ("client_secret", secret.into()),
            ],
            400,
            "unsupported_grant_type",
        ),
        check(
            vec![
                ("grant_type", "authorization_code".into()),
                ("client_id", id.into()),
                ("client_secret", secret.into()),
            ],
            400,
            "unsupported_grant_type",
        ),
        check(
            vec![("client_id", id.into()), ("client_secret", secret.into())],
            400,
            "invalid_request",
        ),
        check(vec![("grant_type", cc.into())], 401, "invalid_client"),
    ];
    for (form, status, error) in cases {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = app.oauth_token(&pairs).await;
        assert_oauth_error(&resp, status, error);
        assert!(!resp.text.contains(secret), "error body echoes the secret");
    }

    // Basic with a wrong secret.
    let req = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(id, Some(&wrong))
        .form(&[("grant_type", cc)]);
    assert_oauth_error(&TestApp::finish(req).await, 401, "invalid_client");
    // Garbage Basic credentials.
    let req = app
        .client
        .post(app.url("/oauth/token"))
        .header("authorization", "Basic %%%")
        .form(&[("grant_type", cc)]);
    let resp = TestApp::finish(req).await;
    assert!(matches!(resp.status, 400 | 401), "{}", resp.text);
    // A JSON body is not the token endpoint's format.
    let req = app
        .client
        .post(app.url("/oauth/token"))
        .json(&json!({"grant_type": cc, "client_id": id, "client_secret": secret}));
    let resp = TestApp::finish(req).await;
    assert_eq!(resp.status, 400, "{}", resp.text);
    assert_eq!(resp.body["error"], "invalid_request", "{}", resp.text);
    // A user's password is not a client secret, and a user token is not accepted there either.
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", owner.email, owner.password));
    let req = app
        .client
        .post(app.url("/oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", cc)]);
    assert_oauth_error(&TestApp::finish(req).await, 401, "invalid_client");
}

#[tokio::test]
async fn deleting_a_principal_revokes_its_tokens() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let sp = app.create_sp(org, &owner.token, "admin").await;
    let keep = app.create_sp(org, &owner.token, "viewer").await;
    let token = app.sp_token(&sp).await;
    let keep_token = app.sp_token(&keep).await;
    let clusters = format!("/v1/orgs/{org}/clusters");
    app.get(&clusters, &token).await.expect(200);

    app.delete(&format!("/v1/orgs/{org}/service-principals/{}", sp.id), &owner.token)
        .await
        .expect(204);
    app.get(&clusters, &token).await.expect_error(401, "unauthenticated");
    let resp = app
        .oauth_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &sp.client_id),
            ("client_secret", &sp.client_secret),
        ])
        .await;
    assert_oauth_error(&resp, 401, "invalid_client");
    // Other principals are unaffected.
    app.get(&clusters, &keep_token).await.expect(200);
    let list = app.get(&format!("/v1/orgs/{org}/service-principals"), &owner.token).await;
    assert!(!list.text.contains(&sp.id), "deleted principal still listed");
    app.delete(&format!("/v1/orgs/{org}/service-principals/{}", sp.id), &owner.token)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn principal_roles_are_capped() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = &owner.own_org;
    let admin = app.add_member(org, &owner.token, "admin").await;
    let path = format!("/v1/orgs/{org}/service-principals");
    // No principal may be an owner: for an owner that is a bad value; for an admin it would
    // also exceed their own role, so either refusal is fine there.
    let body = json!({"name": unique_name("sp"), "role": "owner"});
    app.post(&path, &owner.token, &body).await.expect_error(400, "invalid_argument");
    let resp = app.post(&path, &admin.token, &body).await;
    match resp.status {
        400 => resp.expect_error(400, "invalid_argument"),
        _ => resp.expect_error(403, "permission_denied"),
    };
    for body in [
        json!({"name": unique_name("sp"), "role": "superuser"}),
        json!({"name": "", "role": "viewer"}),
        json!({"name": unique_name("sp")}),
        json!({"name": unique_name("sp"), "role": "viewer", "client_secret": "chosen"}),
    ] {
        app.post(&path, &owner.token, &body).await.expect_error(400, "invalid_argument");
    }
    let list = app.get(&path, &owner.token).await.expect(200).clone();
    assert_eq!(
        list["service_principals"].as_array().map(Vec::len),
        Some(0),
        "rejected principals were written: {list}"
    );

    // An admin may create principals up to admin, and an admin principal may too.
    for role in ["viewer", "contributor", "admin"] {
        let body = json!({"name": unique_name("sp"), "role": role});
        assert_eq!(
            app.post(&path, &admin.token, &body).await.expect(201)["service_principal"]["role"],
            role
        );
    }
    let sp = app.create_sp(org, &admin.token, "admin").await;
    let sp_token = app.sp_token(&sp).await;
    let body = json!({"name": unique_name("sp"), "role": "admin"});
    app.post(&path, &sp_token, &body).await.expect(201);
    let resp =
        app.post(&path, &sp_token, &json!({"name": unique_name("sp"), "role": "owner"})).await;
    match resp.status {
        400 => resp.expect_error(400, "invalid_argument"),
        _ => resp.expect_error(403, "permission_denied"),
    };
}
