//! Console sessions: the login cookie's attributes and CSRF protection for cookie-authenticated
//! unsafe requests.

use reqwest::Method;

use crate::helpers::{
    cluster_body, spawn_app, spawn_app_with, str_field, unique_email, TestApp, PASSWORD,
};

/// A logged-in console session: the cookie pair and the CSRF token.
struct Session {
    cookie: String,
    set_cookie: String,
    csrf: String,
    org: String,
}

async fn login_session(app: &TestApp) -> Session {
    let email = unique_email();
    let signup = app.signup(&email, PASSWORD, "console").await;
    let org = str_field(&signup.expect(201)["org"], "id");
    let resp = app.login(&email, PASSWORD).await;
    let csrf = str_field(resp.expect(200), "csrf_token");
    let set_cookie = resp
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("coffer_session="))
        .expect("login sets coffer_session")
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap_or_default().trim().to_owned();
    Session { cookie, set_cookie, csrf, org }
}

fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect()
}

async fn cookie_post(
    app: &TestApp,
    s: &Session,
    csrf: Option<&str>,
    origin: Option<&str>,
    name: &str,
) -> crate::helpers::Resp {
    let mut req = app
        .client
        .request(Method::POST, app.url(&format!("/v1/orgs/{}/clusters", s.org)))
        .header("cookie", &s.cookie)
        .json(&cluster_body(name));
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    TestApp::finish(req).await
}

async fn cluster_count(app: &TestApp, s: &Session) -> usize {
    let req = app
        .client
        .get(app.url(&format!("/v1/orgs/{}/clusters", s.org)))
        .header("cookie", &s.cookie);
    let resp = TestApp::finish(req).await;
    resp.expect(200)["clusters"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn login_sets_an_http_only_same_site_cookie() {
    let app = spawn_app().await;
    let s = login_session(&app).await;
    let attrs = attributes(&s.set_cookie);
    assert!(attrs.iter().any(|a| a == "httponly"), "{}", s.set_cookie);
    assert!(attrs.iter().any(|a| a == "samesite=strict"), "{}", s.set_cookie);
    assert!(
        !attrs.iter().any(|a| a == "secure"),
        "plain-HTTP instance marks cookie Secure: {}",
        s.set_cookie
    );
    assert!(s.cookie.len() > "coffer_session=".len() + 20, "session id too short");
    assert!(!s.cookie.contains(&s.csrf), "the CSRF token must differ from the session id");

    let tls = spawn_app_with(|settings| settings.http.secure_cookies = true).await;
    let s = login_session(&tls).await;
    assert!(attributes(&s.set_cookie).iter().any(|a| a == "secure"), "{}", s.set_cookie);
}

#[tokio::test]
async fn cookie_requests_need_the_csrf_token_and_a_same_origin() {
    let app = spawn_app().await;
    let s = login_session(&app).await;
    assert_eq!(cluster_count(&app, &s).await, 0, "safe methods work with the cookie alone");

    let wrong = format!("{}x", s.csrf);
    let foreign = "http://evil.example";
    let check = |csrf: Option<&str>, origin: Option<&str>| {
        (csrf.map(str::to_owned), origin.map(str::to_owned))
    };
    for (csrf, origin) in [
        check(None, None),
        check(Some(""), None),
        check(Some(&wrong), None),
        check(None, Some(&app.address)),
        check(Some(&s.csrf), Some(foreign)),
        check(Some(&s.csrf), Some("null")),
    ] {
        let resp = cookie_post(&app, &s, csrf.as_deref(), origin.as_deref(), "csrf-denied").await;
        resp.expect_error(403, "permission_denied");
        assert_eq!(
            cluster_count(&app, &s).await,
            0,
            "a forged request wrote ({csrf:?}, {origin:?})"
        );
    }

    cookie_post(&app, &s, Some(&s.csrf), None, "csrf-ok-one").await.expect(202);
    cookie_post(&app, &s, Some(&s.csrf), Some(&app.address), "csrf-ok-two").await.expect(202);
    assert_eq!(cluster_count(&app, &s).await, 2);

    // Another session's CSRF token does not fit this session.
    let other = login_session(&app).await;
    cookie_post(&app, &s, Some(&other.csrf), None, "csrf-swapped")
        .await
        .expect_error(403, "permission_denied");
}

#[tokio::test]
async fn a_forged_cookie_is_unauthenticated() {
    let app = spawn_app().await;
    let s = login_session(&app).await;
    let forged = format!("{}x", s.cookie);
    let req = app.client.get(app.url("/v1/orgs")).header("cookie", forged);
    TestApp::finish(req).await.expect_error(401, "unauthenticated");
    let req = app.client.get(app.url("/v1/orgs")).header("cookie", "coffer_session=");
    TestApp::finish(req).await.expect_error(401, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unsafe_route_needs_csrf_with_a_cookie_but_not_with_a_bearer_token() {
    let app = spawn_app().await;
    let fx = crate::fixture::org_fixture(&app).await;
    let login = app.login(&fx.owner.email, &fx.owner.password).await;
    login.expect(200);
    let cookie = login
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("coffer_session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    let snapshot = |app: &TestApp| {
        let org = fx.ids.org.clone();
        let token = fx.owner.token.clone();
        let client = app.client.clone();
        let base = app.address.clone();
        async move {
            let mut out = Vec::new();
            for list in ["members", "service-principals", "clusters"] {
                let resp =
                    client.get(format!("{base}/v1/orgs/{org}/{list}")).bearer_auth(&token).send();
                out.push(resp.await.expect("list").text().await.expect("body"));
            }
            out
        }
    };
    let before = snapshot(&app).await;
    let unsafe_routes = crate::routes::org_routes().filter(|r| r.method != "GET");
    for route in unsafe_routes {
        let call = crate::fixture::prepare(&app, route, &fx, false).await;
        let mut req =
            app.client.request(call.method.clone(), app.url(&call.path)).header("cookie", &cookie);
        if let Some(body) = &call.body {
            req = req.json(body);
        }
        let resp = TestApp::finish(req).await;
        assert_eq!(
            resp.status, 403,
            "{} {} with a cookie and no CSRF token: {}",
            route.method, route.path, resp.text
        );
        resp.expect_error(403, "permission_denied");
    }
    assert_eq!(before, snapshot(&app).await, "a cookie request without CSRF token changed the org");

    // Bearer tokens are not ambient credentials: no CSRF token needed, whatever the Origin.
    let req = app
        .client
        .post(app.url(&format!("/v1/orgs/{}/clusters", fx.ids.org)))
        .bearer_auth(&fx.owner.token)
        .header("origin", "http://elsewhere.example")
        .json(&cluster_body("bearer-made"));
    TestApp::finish(req).await.expect(202);
}
