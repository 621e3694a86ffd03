//! Database outages: health reports them with 503 (without internal detail), requests fail in
//! the error model instead of hanging, and the service recovers on its own when the database
//! comes back.

use std::time::{Duration, Instant};

use reqwest::Method;
use sqlx::{Connection, PgConnection};

use crate::helpers::{admin_url, spawn_app_with, TestApp};

/// Refuses new connections to the test database and ends the existing ones (or undoes that).
async fn set_database_reachable(app: &TestApp, reachable: bool) {
    let mut admin = PgConnection::connect(&admin_url()).await.expect("admin connection");
    let allow = if reachable { "true" } else { "false" };
    sqlx::query(&format!(r#"ALTER DATABASE "{}" ALLOW_CONNECTIONS {allow}"#, app.db_name))
        .execute(&mut admin)
        .await
        .expect("alter database");
    if !reachable {
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&app.db_name)
            .execute(&mut admin)
            .await
            .expect("terminate connections");
    }
    let _ = admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_an_outage_and_the_service_recovers() {
    let app = spawn_app_with(|s| s.database.connect_timeout_secs = 1).await;
    let user = app.new_user().await;
    app.send(Method::GET, "/v1/health", None, None).await.expect(200);

    set_database_reachable(&app, false).await;
    let started = Instant::now();
    let health = app.send(Method::GET, "/v1/health", None, None).await;
    assert_eq!(health.status, 503, "{}", health.text);
    assert_eq!(health.body["database"], "unreachable", "{}", health.text);
    assert_ne!(health.body["status"], "ok", "{}", health.text);
    assert!(started.elapsed() < Duration::from_secs(10), "health hung for {:?}", started.elapsed());
    // An API call during the outage is an internal error in the model, with no detail.
    let resp = app.get("/v1/orgs", &user.token).await;
    let message = resp.expect_error(500, "internal");
    assert_eq!(message, "internal error");
    assert!(!resp.text.contains(&app.db_name), "error reveals the database: {}", resp.text);

    set_database_reachable(&app, true).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health = app.send(Method::GET, "/v1/health", None, None).await;
        if health.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {} {}", health.status, health.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.get("/v1/orgs", &user.token).await.expect(200);
}
