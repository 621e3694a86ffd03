//! Operations: read and long-poll. Nothing executes operations yet, so `wait` must time out and
//! report the still-pending operation; it must also wake promptly once an operation finishes.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{spawn_app, str_field};

#[tokio::test]
async fn wait_times_out_with_the_pending_operation() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let (cluster, op) = app.create_cluster(&user.own_org, &user.token, "waited").await;
    let path = format!("/v1/orgs/{}/operations/{}", user.own_org, str_field(&op, "id"));
    assert_eq!(app.get(&path, &user.token).await.expect(200), &op);
    assert_eq!(op["cluster_id"], cluster["id"]);

    let started = Instant::now();
    let resp = app.get(&format!("{path}/wait?timeout=500ms"), &user.token).await;
    let elapsed = started.elapsed();
    assert_eq!(resp.expect(200), &op, "wait must return the operation unchanged");
    assert!(
        elapsed >= Duration::from_millis(450),
        "returned after {elapsed:?}, before the timeout"
    );
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?} for a 500ms timeout");

    let started = Instant::now();
    app.get(&format!("{path}/wait?timeout=0s"), &user.token).await.expect(200);
    assert!(started.elapsed() < Duration::from_secs(2), "timeout=0s must not block");
}

#[tokio::test]
async fn wait_rejects_bad_timeouts() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let (_, op) = app.create_cluster(&user.own_org, &user.token, "waited").await;
    let path = format!("/v1/orgs/{}/operations/{}/wait", user.own_org, str_field(&op, "id"));
    for timeout in ["abc", "61s", "2m", "5", "-1s", "5h", "1.5s", ""] {
        let started = Instant::now();
        let resp = app.get(&format!("{path}?timeout={timeout}"), &user.token).await;
        resp.expect_error(400, "invalid_argument");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{timeout:?} was waited on before rejection"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_wakes_when_the_operation_finishes() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let (_, op) = app.create_cluster(&user.own_org, &user.token, "woken").await;
    let op_id = str_field(&op, "id");
    let path = format!("/v1/orgs/{}/operations/{op_id}/wait?timeout=30s", user.own_org);

    let started = Instant::now();
    let waiter = {
        let client = app.client.clone();
        let url = app.url(&path);
        let token = user.token.clone();
        tokio::spawn(async move {
            let resp = client.get(url).bearer_auth(token).send().await.expect("wait request");
            (resp.status().as_u16(), resp.json::<Value>().await.expect("wait body"))
        })
    };
    // Whatever moment the wait reached (before or after it subscribed), finishing the operation
    // must end it long before the 30 s timeout: a correct wait re-reads after subscribing.
    crate::helpers::finish_operation(&app, &op_id, "failed").await;
    let (status, body) = tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .expect("wait did not wake on the state change")
        .expect("waiter task");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "failed", "{body}");
    assert_eq!(body["error"]["code"], "test_failure", "{body}");
    assert!(body["finished_at"].is_string(), "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "woke only after {:?}", started.elapsed());
}
