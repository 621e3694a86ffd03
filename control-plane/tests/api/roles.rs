//! Role matrix: every org-scoped route, called by users and service principals of every role,
//! must answer exactly as the route table says (success for allowed roles, 403 for the rest).

use reqwest::Method;

use crate::fixture::{org_fixture, prepare};
use crate::helpers::{spawn_app, TestApp};
use crate::routes::{org_routes, Access, Role, ROUTES};

struct Principal {
    label: String,
    role: Role,
    token: String,
}

async fn principals(app: &TestApp, org: &str, owner_token: &str) -> Vec<Principal> {
    let mut out = vec![Principal {
        label: "owner user".into(),
        role: Role::Owner,
        token: owner_token.into(),
    }];
    for role in [Role::Viewer, Role::Contributor, Role::Admin] {
        let user = app.add_member(org, owner_token, role.as_str()).await;
        out.push(Principal { label: format!("{} user", role.as_str()), role, token: user.token });
        let sp = app.create_sp(org, owner_token, role.as_str()).await;
        let token = app.sp_token(&sp).await;
        out.push(Principal { label: format!("{} service principal", role.as_str()), role, token });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_org_route_enforces_the_role_table() {
    let app = spawn_app().await;
    let fx = org_fixture(&app).await;
    let principals = principals(&app, &fx.ids.org, &fx.owner.token).await;

    let mut failures = Vec::new();
    for route in org_routes() {
        let Access::Org(required) = route.access else { continue };
        for p in &principals {
            let call = prepare(&app, route, &fx, true).await;
            let resp =
                app.send(call.method.clone(), &call.path, Some(&p.token), call.body.as_ref()).await;
            let allowed = p.role >= required;
            let ok = if allowed {
                resp.status == call.success
            } else {
                resp.status == 403 && resp.body["error"]["code"] == "permission_denied"
            };
            if !ok {
                let want =
                    if allowed { call.success.to_string() } else { "403 permission_denied".into() };
                failures.push(format!(
                    "{} {} as {}: want {want}, got {} {}",
                    route.method, route.path, p.label, resp.status, resp.text
                ));
            }
        }
    }
    assert!(failures.is_empty(), "role matrix violations:\n{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_principal_lists_its_orgs() {
    let app = spawn_app().await;
    let fx = org_fixture(&app).await;
    for p in principals(&app, &fx.ids.org, &fx.owner.token).await {
        let resp = app.get("/v1/orgs", &p.token).await;
        let body = resp.expect(200);
        let orgs = body["orgs"].as_array().expect("orgs array");
        let entry = orgs.iter().find(|o| o["id"] == fx.ids.org.as_str());
        let entry = entry.unwrap_or_else(|| panic!("{} does not see its org: {body}", p.label));
        assert_eq!(entry["role"], p.role.as_str(), "{}: {body}", p.label);
    }
}

#[tokio::test]
async fn every_non_public_route_requires_credentials() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let ids = crate::routes::Ids {
        org: owner.own_org.clone(),
        cluster: uuid::Uuid::new_v4().to_string(),
        op: uuid::Uuid::new_v4().to_string(),
        sp: uuid::Uuid::new_v4().to_string(),
        user: owner.id.clone(),
    };
    let sp = app.create_sp(&owner.own_org, &owner.token, "admin").await;
    let sp_token = app.sp_token(&sp).await;
    let garbage = [
        "",
        "garbage",
        "Zm9vYmFy",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ];
    for route in ROUTES.iter().filter(|r| r.access != Access::Public) {
        let path = route.fill(&ids);
        let resp = app.send(route.method(), &path, None, None).await;
        resp.expect_error(401, "unauthenticated");
        for token in garbage {
            let req = app
                .client
                .request(route.method(), app.url(&path))
                .header("authorization", format!("Bearer {token}"));
            TestApp::finish(req).await.expect_error(401, "unauthenticated");
        }
        // Customer credentials are not operator credentials.
        if route.access == Access::Operator {
            for token in [&owner.token, &sp_token] {
                let resp = app.send(route.method(), &path, Some(token), None).await;
                resp.expect_error(401, "unauthenticated");
            }
        }
        // A real token in the wrong scheme is not a credential either.
        let req = app
            .client
            .request(route.method(), app.url(&path))
            .header("authorization", format!("Basic {}", owner.token));
        TestApp::finish(req).await.expect_error(401, "unauthenticated");
    }
    // Sanity: the same routes are reachable with the real token (so the 401s above mean something).
    app.send(Method::GET, &format!("/v1/orgs/{}", owner.own_org), Some(&owner.token), None)
        .await
        .expect(200);
}
