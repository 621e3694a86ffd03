//! Process behaviour around requests: graceful shutdown ends long polls promptly, and every
//! request is logged with its method, route template, status, latency and request id.

use std::time::{Duration, Instant};

use crate::helpers::{spawn_app, str_field};
use crate::operations::start_wait;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_long_polls_and_stops_serving() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let (_, op) = app.create_cluster(&user.own_org, &user.token, "draining").await;
    let op_id = str_field(&op, "id");
    let path = format!("/v1/orgs/{}/operations/{op_id}/wait?timeout=60s", user.own_org);
    let (lock, waiter) = start_wait(&app, &path, &user.token).await;
    // The wait is in flight; let it go on to block on the (never coming) notification.
    lock.rollback().await.expect("release the lock");

    let address = app.address.clone();
    let client = app.client.clone();
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(15), app.stop())
        .await
        .expect("run_until_stopped did not return after cancellation")
        .expect("run_until_stopped failed");
    let (status, body) = waiter.await.expect("waiter task");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "pending", "{body}");
    assert!(started.elapsed() < Duration::from_secs(15), "drain took {:?}", started.elapsed());
    assert!(
        client.get(format!("{address}/v1/health")).send().await.is_err(),
        "still serving after stop"
    );
}

#[tokio::test]
async fn requests_are_logged_with_route_status_latency_and_id() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let request_id = format!("logged-{}", uuid::Uuid::new_v4().simple());
    let path = format!("/v1/orgs/{}/clusters", user.own_org);
    let req =
        app.client.get(app.url(&path)).bearer_auth(&user.token).header("x-request-id", &request_id);
    crate::helpers::TestApp::finish(req).await.expect(200);
    let not_found = format!("missing-{}", uuid::Uuid::new_v4().simple());
    let req = app
        .client
        .get(app.url("/v1/orgs/not-an-org/clusters"))
        .bearer_auth(&user.token)
        .header("x-request-id", &not_found);
    crate::helpers::TestApp::finish(req).await.expect_error(404, "not_found");

    let logs = crate::logs::captured();
    let check = |id: &str, status: &str| {
        let lines: Vec<&str> = logs.lines().filter(|l| l.contains(id)).collect();
        assert!(!lines.is_empty(), "request {id} not logged; logs:\n{logs}");
        let status = format!("status={status}");
        let finished = lines.iter().find(|l| l.contains(&status) && l.contains("latency"));
        let finished =
            finished.unwrap_or_else(|| panic!("no line with {status} for {id}: {lines:#?}"));
        assert!(finished.contains("GET"), "method missing: {finished}");
        assert!(
            finished.contains("/v1/orgs/{") && finished.contains("}/clusters"),
            "route template missing: {finished}"
        );
        assert!(finished.contains("latency"), "latency missing: {finished}");
    };
    check(&request_id, "200");
    check(&not_found, "404");
    // The route template, not the concrete path, groups requests.
    assert!(!logs
        .lines()
        .any(|l| l.contains(&request_id) && l.contains(&format!("route=\"{path}\""))));
}
