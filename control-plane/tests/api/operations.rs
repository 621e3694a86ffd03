//! Operations: read and long-poll. Nothing executes operations yet, so `wait` must time out and
//! report the still-pending operation; it must also wake promptly once an operation finishes.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinHandle;

use crate::helpers::{
    finish_operation, lock_table, spawn_app, str_field, until_blocked_on, TestApp,
};

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
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?} for a 500ms timeout");

    let started = Instant::now();
    app.get(&format!("{path}/wait?timeout=0s"), &user.token).await.expect(200);
    assert!(started.elapsed() < Duration::from_secs(4), "timeout=0s must not block");
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
            started.elapsed() < Duration::from_secs(4),
            "{timeout:?} was waited on before rejection"
        );
    }
}

/// Starts `GET path` (a wait) in the background and returns once the server is inside that
/// request, holding it just after it read the operation row and before it read the steps:
/// the returned transaction locks `operation_steps`; ending it lets the request go on.
pub async fn start_wait(
    app: &TestApp,
    path: &str,
    token: &str,
) -> (sqlx::Transaction<'static, sqlx::Postgres>, JoinHandle<(u16, Value)>) {
    let lock = lock_table(app, "operation_steps").await;
    let req = app.client.get(app.url(path)).bearer_auth(token);
    let waiter = tokio::spawn(async move {
        let resp = req.send().await.expect("wait request");
        (resp.status().as_u16(), resp.json::<Value>().await.expect("wait body"))
    });
    until_blocked_on(app, "operation_steps").await;
    (lock, waiter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_wakes_when_the_operation_finishes() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let (_, op) = app.create_cluster(&user.own_org, &user.token, "woken").await;
    let op_id = str_field(&op, "id");
    let path = format!("/v1/orgs/{}/operations/{op_id}/wait?timeout=30s", user.own_org);

    let started = Instant::now();
    let (mut lock, waiter) = start_wait(&app, &path, &user.token).await;
    // The wait has read the operation as pending. Finish it in the same transaction that holds
    // the wait back, so the change (and its notification) lands after that read: what ends the
    // wait must be the notification, as it will be for the provisioning engine's updates.
    finish_operation(&mut *lock, &op_id, "failed").await;
    lock.commit().await.expect("commit");
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

#[tokio::test]
async fn wait_returns_at_once_for_a_finished_operation() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let (_, op) = app.create_cluster(&user.own_org, &user.token, "finished").await;
    let op_id = str_field(&op, "id");
    finish_operation(&app.db, &op_id, "succeeded").await;
    let started = Instant::now();
    let path = format!("/v1/orgs/{}/operations/{op_id}/wait?timeout=30s", user.own_org);
    let body = app.get(&path, &user.token).await.expect(200).clone();
    assert_eq!(body["state"], "succeeded", "{body}");
    assert_eq!(body["error"], Value::Null, "{body}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}
