//! Cross-org isolation: org A's owner and A's admin service principal walk every route of
//! org B. Each attempt must look like the object does not exist (404), B must be unchanged
//! afterwards, and A's own lists must never mention B's objects.

use serde_json::Value;

use crate::fixture::{org_fixture, prepare, OrgFixture};
use crate::helpers::{spawn_app, TestApp};
use crate::routes::{org_routes, Ids};

/// Everything B's owner can read about B, for before/after comparison.
async fn snapshot(app: &TestApp, b: &OrgFixture) -> Vec<Value> {
    let org = &b.ids.org;
    let paths = [
        format!("/v1/orgs/{org}"),
        format!("/v1/orgs/{org}/members"),
        format!("/v1/orgs/{org}/service-principals"),
        format!("/v1/orgs/{org}/clusters"),
        format!("/v1/orgs/{org}/clusters/{}", b.ids.cluster),
        format!("/v1/orgs/{org}/operations/{}", b.ids.op),
    ];
    let mut out = Vec::new();
    for path in paths {
        out.push(app.get(&path, &b.owner.token).await.expect(200).clone());
    }
    out
}

fn b_ids(ids: &Ids) -> [&str; 5] {
    [&ids.org, &ids.cluster, &ids.op, &ids.sp, &ids.user]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_orgs_are_invisible_and_untouchable() {
    let app = spawn_app().await;
    let a = org_fixture(&app).await;
    let b = org_fixture(&app).await;
    let a_sp = app.create_sp(&a.ids.org, &a.owner.token, "admin").await;
    let a_sp_token = app.sp_token(&a_sp).await;
    let before = snapshot(&app, &b).await;

    // A's org id with B's object ids: the object must not be found through A either.
    let mixed =
        OrgFixture { owner: a.owner.clone(), ids: Ids { org: a.ids.org.clone(), ..b.ids.clone() } };

    let mut failures = Vec::new();
    for (label, token) in
        [("A's owner", &a.owner.token), ("A's admin service principal", &a_sp_token)]
    {
        for route in org_routes() {
            let mut targets = vec![("B's org", &b)];
            if route.path.matches('{').count() > 1 {
                targets.push(("A's org with B's object", &mixed));
            }
            for (target, fx) in targets {
                let call = prepare(&app, route, fx, false).await;
                let resp = app
                    .send(call.method.clone(), &call.path, Some(token), call.body.as_ref())
                    .await;
                if resp.status != 404 || resp.body["error"]["code"] != "not_found" {
                    failures.push(format!(
                        "{label} {} {} ({target}): want 404 not_found, got {} {}",
                        route.method, call.path, resp.status, resp.text
                    ));
                }
            }
        }

        let org = &a.ids.org;
        for path in [
            "/v1/orgs".to_owned(),
            format!("/v1/orgs/{org}/members"),
            format!("/v1/orgs/{org}/service-principals"),
            format!("/v1/orgs/{org}/clusters"),
        ] {
            let resp = app.get(&path, token).await;
            resp.expect(200);
            for id in b_ids(&b.ids) {
                assert!(
                    !resp.text.contains(id),
                    "{label}: {path} reveals B's id {id}: {}",
                    resp.text
                );
            }
        }
    }
    assert!(failures.is_empty(), "isolation violations:\n{}", failures.join("\n"));
    assert_eq!(before, snapshot(&app, &b).await, "org B changed through org A's credentials");
}

#[tokio::test]
async fn service_principal_tokens_act_only_in_their_own_org() {
    let app = spawn_app().await;
    let a = org_fixture(&app).await;
    // A's owner is also an owner of a second org; A's service principal must still see only A.
    let second = app.new_user().await;
    app.add_existing(&second.own_org, &second.token, &a.owner, "owner").await;
    let sp = app.create_sp(&a.ids.org, &a.owner.token, "admin").await;
    let token = app.sp_token(&sp).await;

    let body = app.get("/v1/orgs", &token).await.expect(200).clone();
    let ids: Vec<&str> =
        body["orgs"].as_array().expect("orgs").iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids, [a.ids.org.as_str()], "service principal sees other orgs: {body}");
    app.get(&format!("/v1/orgs/{}/clusters", second.own_org), &token)
        .await
        .expect_error(404, "not_found");
    // Sanity: A's owner does see the second org, so the 404 above is isolation, not absence.
    app.get(&format!("/v1/orgs/{}/clusters", second.own_org), &a.owner.token).await.expect(200);
}
