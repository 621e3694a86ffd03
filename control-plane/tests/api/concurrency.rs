//! Races a real client produces (retries, double clicks, two admins at once): uniqueness and
//! invariants must hold under concurrent requests, not just sequential ones.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{cluster_body, spawn_app, unique_email, Resp, TestApp, PASSWORD};

const RACERS: usize = 8;

/// Splits responses into the successes (with `ok` status) and checks every other one is a 409.
#[track_caller]
fn winners(responses: &[Resp], ok: u16) -> Vec<&Resp> {
    for r in responses.iter().filter(|r| r.status != ok) {
        r.expect_error(409, "conflict");
    }
    responses.iter().filter(|r| r.status == ok).collect()
}

async fn cluster_count(app: &TestApp, org: &str, token: &str) -> usize {
    let body =
        app.get(&format!("/v1/orgs/{org}/clusters?page_size=100"), token).await.expect(200).clone();
    body["clusters"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_idempotency_key_create_one_cluster() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let url = app.url(&format!("/v1/orgs/{}/clusters", user.own_org));
    let body = cluster_body("raced");
    let requests = (0..RACERS).map(|_| {
        let req = app
            .client
            .post(&url)
            .bearer_auth(&user.token)
            .header("idempotency-key", "retry-1")
            .json(&body);
        TestApp::finish(req)
    });
    let responses = join_all(requests).await;
    let bodies: Vec<&Value> = responses.iter().map(|r| r.expect(202)).collect();
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "replays differ: {bodies:#?}");
    assert_eq!(cluster_count(&app, &user.own_org, &user.token).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_name_yield_one_cluster() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let path = format!("/v1/orgs/{}/clusters", user.own_org);
    let body = cluster_body("contested");
    let responses = join_all((0..RACERS).map(|_| app.post(&path, &user.token, &body))).await;
    assert_eq!(winners(&responses, 202).len(), 1, "exactly one create may win");
    assert_eq!(cluster_count(&app, &user.own_org, &user.token).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_signups_of_one_email_yield_one_account() {
    let app = spawn_app().await;
    let email = unique_email();
    let responses = join_all(
        (0..RACERS).map(|i| app.signup(&email, PASSWORD, if i % 2 == 0 { "even" } else { "odd" })),
    )
    .await;
    let won = winners(&responses, 201);
    assert_eq!(won.len(), 1, "exactly one signup may win");
    let token = app.login_token(&email, PASSWORD).await;
    let orgs = app.get("/v1/orgs", &token).await.expect(200).clone();
    assert_eq!(
        orgs["orgs"].as_array().map(Vec::len),
        Some(1),
        "losing signups left orgs behind: {orgs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_invitations_of_one_email_yield_one_member() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let path = format!("/v1/orgs/{}/members", owner.own_org);
    let body = json!({"email": unique_email(), "role": "viewer"});
    let responses = join_all((0..RACERS).map(|_| app.post(&path, &owner.token, &body))).await;
    assert_eq!(winners(&responses, 201).len(), 1);
    let members = app.get(&path, &owner.token).await.expect(200).clone();
    assert_eq!(members["members"].as_array().map(Vec::len), Some(2), "{members}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_stepping_down_at_once_leave_one_owner() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let first = app.new_user().await;
        let org = first.own_org.clone();
        let second = app.add_member(&org, &first.token, "owner").await;
        let demote = json!({"role": "admin"});
        let p1 = format!("/v1/orgs/{org}/members/{}", first.id);
        let p2 = format!("/v1/orgs/{org}/members/{}", second.id);
        let (r1, r2) = tokio::join!(
            app.patch(&p1, &first.token, &demote),
            app.patch(&p2, &second.token, &demote)
        );
        let responses = [r1, r2];
        assert_eq!(winners(&responses, 200).len(), 1, "exactly one owner may step down");
        let members =
            app.get(&format!("/v1/orgs/{org}/members"), &first.token).await.expect(200).clone();
        let owners = members["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter(|m| m["role"] == "owner")
            .count();
        assert_eq!(owners, 1, "{members}");

        // Same race with removal instead of demotion.
        let remaining = if responses[0].status == 200 { &second } else { &first };
        let third = app.add_member(&org, &remaining.token, "owner").await;
        let pr = format!("/v1/orgs/{org}/members/{}", remaining.id);
        let p3 = format!("/v1/orgs/{org}/members/{}", third.id);
        let (r1, r2) =
            tokio::join!(app.delete(&pr, &remaining.token), app.delete(&p3, &third.token));
        assert_eq!(winners(&[r1, r2], 204).len(), 1, "exactly one owner may leave");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_waiters_neither_starve_the_pool_nor_miss_the_change() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let org = &user.own_org;
    let (_, op) = app.create_cluster(org, &user.token, "watched").await;
    let op_id = crate::helpers::str_field(&op, "id");
    let url = app.url(&format!("/v1/orgs/{org}/operations/{op_id}/wait?timeout=30s"));
    // More waiters than the pool has connections (10 by default).
    let waiters: Vec<_> = (0..30)
        .map(|_| {
            let req = app.client.get(&url).bearer_auth(&user.token);
            tokio::spawn(async move {
                let resp = req.send().await.expect("wait");
                resp.json::<Value>().await.expect("body")
            })
        })
        .collect();
    // Long polls must not hold database connections while they wait: with the pool held by
    // waiters, this request would fail once the pool's acquire timeout passes.
    app.get(&format!("/v1/orgs/{org}/clusters"), &user.token).await.expect(200);

    crate::helpers::finish_operation(&app.db, &op_id, "succeeded").await;
    let all = tokio::time::timeout(std::time::Duration::from_secs(15), join_all(waiters))
        .await
        .expect("waiters were not all woken");
    for body in all {
        assert_eq!(body.expect("waiter")["state"], "succeeded");
    }
}
