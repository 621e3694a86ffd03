//! Secrets never leak: not into the application's logs (captured at DEBUG), not into any GET
//! response, and not into the database in plaintext.

use base64::Engine as _;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, str_field, unique_email, TestApp};
use crate::logs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_logs_responses_and_storage() {
    let app = spawn_app().await;
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let wrong_password = format!("wrong-{}", uuid::Uuid::new_v4().simple());
    let email = unique_email();
    let signup = app.signup(&email, &password, "secretive").await;
    let org = str_field(&signup.expect(201)["org"], "id");
    app.login(&email, &wrong_password).await.expect_error(401, "unauthenticated");
    let login = app.login(&email, &password).await;
    let token = str_field(login.expect(200), "access_token");
    let csrf = str_field(&login.body, "csrf_token");
    let session = login
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("coffer_session="))
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    assert!(!session.is_empty(), "login sets no session cookie");

    let sp = app.create_sp(&org, &token, "admin").await;
    let form_token = app.sp_token(&sp).await;
    let basic = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(&sp.client_id, Some(&sp.client_secret))
        .form(&[("grant_type", "client_credentials")]);
    let basic_token = str_field(TestApp::finish(basic).await.expect(200), "access_token");
    let bad = app
        .oauth_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &sp.client_id),
            ("client_secret", &wrong_password),
        ])
        .await;
    assert_eq!(bad.status, 401);

    // Use every credential so request handling (and its logging) sees each of them.
    let (cluster, op) = app.create_cluster(&org, &form_token, "quiet").await;
    let basic_header = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", sp.client_id, sp.client_secret));
    let gets = [
        "/v1/orgs".to_owned(),
        format!("/v1/orgs/{org}"),
        format!("/v1/orgs/{org}/members"),
        format!("/v1/orgs/{org}/service-principals"),
        format!("/v1/orgs/{org}/clusters"),
        format!("/v1/orgs/{org}/clusters/{}", str_field(&cluster, "id")),
        format!("/v1/orgs/{org}/operations/{}", str_field(&op, "id")),
    ];
    let secrets = [
        ("password", password.as_str()),
        ("wrong password", wrong_password.as_str()),
        ("client secret", sp.client_secret.as_str()),
        ("user token", token.as_str()),
        ("form token", form_token.as_str()),
        ("basic token", basic_token.as_str()),
        ("csrf token", csrf.as_str()),
        ("session cookie", session.as_str()),
        ("basic credentials", basic_header.as_str()),
    ];
    for path in &gets {
        for t in [&token, &form_token, &basic_token] {
            let resp = app.get(path, t).await;
            resp.expect(200);
            for (what, secret) in secrets {
                assert!(!resp.text.contains(secret), "GET {path} reveals the {what}");
            }
            for marker in ["$argon2", "password", "hash", "client_secret"] {
                assert!(
                    !resp.text.contains(marker),
                    "GET {path} contains {marker:?}: {}",
                    resp.text
                );
            }
        }
    }
    let req =
        app.client.get(app.url("/v1/orgs")).header("cookie", format!("coffer_session={session}"));
    TestApp::finish(req).await.expect(200);
    let req = app
        .client
        .request(Method::DELETE, app.url(&format!("/v1/orgs/{org}/service-principals/{}", sp.id)))
        .header("cookie", format!("coffer_session={session}"))
        .header("x-csrf-token", &csrf);
    TestApp::finish(req).await.expect(204);

    let captured = logs::captured();
    assert!(captured.contains("/v1/login"), "log capture saw no request spans; logs:\n{captured}");
    for (what, secret) in secrets {
        assert!(!captured.contains(secret), "the {what} reached the logs");
    }

    // Storage keeps only hashes: no row of any table contains a plaintext credential.
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&app.db)
            .await
            .expect("tables");
    assert!(tables.len() > 3, "expected the application's tables, found {tables:?}");
    for (table,) in tables {
        let rows: Vec<(String,)> = sqlx::query_as(&format!(r#"SELECT t::text FROM "{table}" t"#))
            .fetch_all(&app.db)
            .await
            .expect("dump table");
        for (row,) in rows {
            for (what, secret) in secrets {
                assert!(!row.contains(secret), "table {table} stores the {what} in plaintext");
            }
        }
    }
}

#[tokio::test]
async fn debug_logging_of_a_failed_signup_hides_the_password() {
    let app = spawn_app().await;
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    // Rejected for the email, after the password was parsed: error paths must not log bodies.
    let body = json!({"email": "not-an-email", "password": password, "org_name": "x"});
    app.send(Method::POST, "/v1/signup", None, Some(&body))
        .await
        .expect_error(400, "invalid_argument");
    let body =
        json!({"email": unique_email(), "password": password, "org_name": "x", "extra": true});
    app.send(Method::POST, "/v1/signup", None, Some(&body))
        .await
        .expect_error(400, "invalid_argument");
    let captured = logs::captured();
    assert!(captured.contains("/v1/signup"), "log capture saw no request spans");
    assert!(!captured.contains(&password), "a rejected signup logged the password");
}
