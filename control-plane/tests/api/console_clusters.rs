//! Console cluster forms without a browser: each is guarded by the same service authorization
//! as its API twin, so a member whose role is too low gets 403 even with a valid session and
//! CSRF token (exactly what a forged post from their own browser would carry); refusals the
//! person can act on are explained on the page; console sign-out revokes the session, and
//! "sign out everywhere" every session and token of the person.

use reqwest::Method;

use crate::helpers::{spawn_app, TestApp, User, PASSWORD};

/// A console session: the `Cookie` header value and the CSRF token the pages embed.
pub(crate) struct Console {
    cookie: String,
    csrf: String,
    session: String,
}

pub(crate) async fn sign_in(app: &TestApp, user: &User) -> Console {
    let req = app
        .client
        .post(app.url("/console/login"))
        .form(&[("email", user.email.as_str()), ("password", PASSWORD)]);
    let resp = TestApp::finish(req).await;
    assert_eq!(resp.status, 303, "console sign-in: {}", resp.text);
    let value = |name: &str| {
        resp.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
            .unwrap_or_else(|| panic!("sign-in sets {name}"))
    };
    let (session, csrf) = (value("coffer_session"), value("coffer_csrf"));
    Console { cookie: format!("coffer_session={session}; coffer_csrf={csrf}"), csrf, session }
}

impl Console {
    async fn post(
        &self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> crate::helpers::Resp {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let req = app.client.post(app.url(path)).header("cookie", &self.cookie).form(&form);
        TestApp::finish(req).await
    }

    pub(crate) async fn get(&self, app: &TestApp, path: &str) -> crate::helpers::Resp {
        TestApp::finish(app.client.get(app.url(path)).header("cookie", &self.cookie)).await
    }
}

#[tokio::test]
async fn cluster_forms_refuse_roles_below_their_api_twins() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = owner.own_org.clone();
    let (cluster, _) = app.create_cluster(&org, &owner.token, "console-roles").await;
    let cluster = cluster["id"].as_str().expect("cluster id").to_owned();
    let base = format!("/console/orgs/{org}/clusters/{cluster}");
    let snapshot = uuid::Uuid::now_v7();

    // (form, fields, least role that may post it) as in the API's route table.
    let forms = [
        (format!("{base}/admin-token"), vec![("ttl", "1h")], "admin"),
        (format!("{base}/revoke-admin-tokens"), vec![], "admin"),
        (format!("{base}/snapshots"), vec![], "contributor"),
        (
            format!("{base}/snapshots/{snapshot}/restore"),
            vec![("confirm_name", "console-roles")],
            "admin",
        ),
        (format!("{base}/snapshots/{snapshot}/delete"), vec![], "admin"),
    ];
    let rank =
        |role: &str| ["viewer", "contributor", "admin", "owner"].iter().position(|r| *r == role);
    for role in ["viewer", "contributor"] {
        let member = app.add_member(&org, &owner.token, role).await;
        let console = sign_in(&app, &member).await;
        for (path, fields, least) in &forms {
            let resp = console.post(&app, path, fields).await;
            if rank(role) < rank(least) {
                assert_eq!(resp.status, 403, "{role} POST {path}: {}", resp.text);
                assert!(resp.text.contains("Not allowed"), "{role} POST {path}: {}", resp.text);
            } else {
                assert_ne!(resp.status, 403, "{role} POST {path}: {}", resp.text);
            }
        }
        let audit = console.get(&app, &format!("{base}/audit-logs")).await;
        assert_eq!(audit.status, 403, "{role} audit logs: {}", audit.text);
        // The cluster page draws no control the role cannot use.
        let page = console.get(&app, &base).await;
        assert_eq!(page.status, 200);
        assert!(!page.text.contains("Generate admin token"), "{role} sees admin access");
        assert!(!page.text.contains("/audit-logs\""), "{role} sees the audit-logs tab");
    }
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn refusals_a_person_can_act_on_are_explained_on_the_page() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = owner.own_org.clone();
    let (cluster, _) = app.create_cluster(&org, &owner.token, "console-early").await;
    let cluster = cluster["id"].as_str().expect("cluster id").to_owned();
    let base = format!("/console/orgs/{org}/clusters/{cluster}");
    let console = sign_in(&app, &owner).await;

    // No node yet: an admin token cannot be issued; said next to the admin-access card.
    let resp = console.post(&app, &format!("{base}/admin-token"), &[("ttl", "1h")]).await;
    assert_eq!(resp.status, 503, "{}", resp.text);
    assert!(resp.text.contains("no running node yet"), "{}", resp.text);
    assert!(resp.text.contains("id=\"admin-access\""), "{}", resp.text);
    // A lifetime outside 5m..=24h is refused before any node is asked.
    let resp = console.post(&app, &format!("{base}/admin-token"), &[("ttl", "48h")]).await;
    assert_eq!(resp.status, 400, "{}", resp.text);
    assert!(resp.text.contains("ttl must be a duration"), "{}", resp.text);
    // No snapshot storage before provisioning made it: explained on the snapshots page.
    let resp = console.post(&app, &format!("{base}/snapshots"), &[]).await;
    assert_eq!(resp.status, 409, "{}", resp.text);
    assert!(resp.text.contains("no snapshot storage yet"), "{}", resp.text);
    // A restore of an unknown snapshot is a plain not-found.
    let unknown = uuid::Uuid::now_v7();
    let resp = console.get(&app, &format!("{base}/snapshots/{unknown}/restore")).await;
    assert_eq!(resp.status, 404, "{}", resp.text);
    // Audit logs: a reversed range is explained next to the range form.
    let resp = console
        .get(&app, &format!("{base}/audit-logs?from=2026-01-02T00:00&to=2026-01-01T00:00"))
        .await;
    assert_eq!(resp.status, 422, "{}", resp.text);
    assert!(resp.text.contains("from must be earlier than to"), "{}", resp.text);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn console_sign_out_revokes_the_session_on_the_server() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let console = sign_in(&app, &owner).await;
    // The session cookie's value is a bearer token; a copy of it works until sign-out.
    app.send(Method::GET, "/v1/orgs", Some(&console.session), None).await.expect(200);
    let resp = console.post(&app, "/console/logout", &[]).await;
    assert_eq!(resp.status, 303, "{}", resp.text);
    assert_eq!(resp.header("location"), Some("/console/login"));
    app.send(Method::GET, "/v1/orgs", Some(&console.session), None)
        .await
        .expect_error(401, "unauthenticated");
    // The owner's other session (the API login of the fixture) is untouched.
    app.get("/v1/orgs", &owner.token).await.expect(200);
    app.stop().await.expect("stop");
}

#[tokio::test]
async fn console_sign_out_everywhere_revokes_every_session_of_the_person() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let stranger = app.new_user().await;
    let here = sign_in(&app, &owner).await;
    let laptop = sign_in(&app, &owner).await;
    let org_page = format!("/console/orgs/{}/clusters", owner.own_org);

    // The header offers the control on every org page, as a submit button of the sign-out form.
    let page = here.get(&app, &org_page).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains(r#"name="everywhere" value="true""#)
            && page.text.contains("Sign out everywhere"),
        "{}",
        page.text
    );

    // Forged posts (no token, or another session's token) change nothing.
    let forged = app
        .client
        .post(app.url("/console/logout"))
        .header("cookie", &here.cookie)
        .form(&[("everywhere", "true")]);
    assert_eq!(TestApp::finish(forged).await.status, 403);
    let swapped = app
        .client
        .post(app.url("/console/logout"))
        .header("cookie", &here.cookie)
        .form(&[("csrf", laptop.csrf.as_str()), ("everywhere", "true")]);
    assert_eq!(TestApp::finish(swapped).await.status, 403);
    for token in [&here.session, &laptop.session, &owner.token] {
        app.get("/v1/orgs", token).await.expect(200);
    }

    let resp = here.post(&app, "/console/logout", &[("everywhere", "true")]).await;
    assert_eq!(resp.status, 303, "{}", resp.text);
    assert_eq!(resp.header("location"), Some("/console/login"));
    // This browser, the other browser and the API login are all signed out; a stranger is not.
    for token in [&here.session, &laptop.session, &owner.token] {
        app.get("/v1/orgs", token).await.expect_error(401, "unauthenticated");
    }
    let other = laptop.get(&app, &org_page).await;
    assert_eq!(other.status, 303, "{}", other.text);
    assert_eq!(other.header("location"), Some("/console/login"));
    app.get("/v1/orgs", &stranger.token).await.expect(200);
    app.stop().await.expect("stop");
}
