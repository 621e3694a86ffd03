//! Retention of node commands against a fresh database: rows of every kind, and only the old
//! settled or expired ones that nothing still needs are deleted, in batches; the periodic task
//! runs in the application and stops with it.

use std::collections::BTreeSet;
use std::time::Duration;

use coffer_control_plane::service::RetentionSettings;
use coffer_test_support::wait::until;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::support::commander;
use crate::helpers::{spawn_app, spawn_app_with, str_field, unique_name, TestApp};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// A command row with explicit times (`None`: not delivered / not completed).
struct Row {
    name: &'static str,
    delivered: Option<OffsetDateTime>,
    completed: Option<OffsetDateTime>,
    expires: OffsetDateTime,
    msp_version: Option<i64>,
}

async fn a_cluster(app: &TestApp) -> Uuid {
    let owner = app.new_user().await;
    let (cluster, _) = app.create_cluster(&owner.own_org, &owner.token, &unique_name("c")).await;
    str_field(&cluster, "id").parse().expect("cluster id")
}

async fn insert(app: &TestApp, cluster: Uuid, row: &Row) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO node_commands (id, cluster_id, node_index, kind, body, msp_version, \
         created_at, expires_at, delivered_at, completed_at, result) \
         VALUES ($1, $2, 0, 'revoke_admin_tokens', $3, $4, $5, $6, $7, $8, \
         CASE WHEN $8 IS NULL THEN NULL ELSE $9 END)",
    )
    .bind(id)
    .bind(cluster)
    .bind(json!({"type": "revoke_admin_tokens"}))
    .bind(row.msp_version)
    .bind(OffsetDateTime::now_utc() - 30 * DAY)
    .bind(row.expires)
    .bind(row.delivered)
    .bind(row.completed)
    .bind(json!({"status": "failed", "error": "x"}))
    .execute(&app.db)
    .await
    .expect("insert command");
    id
}

async fn remaining(app: &TestApp, ids: &[(&'static str, Uuid)]) -> BTreeSet<&'static str> {
    let left: Vec<(Uuid,)> =
        sqlx::query_as("SELECT id FROM node_commands").fetch_all(&app.db).await.expect("select");
    ids.iter().filter(|(_, id)| left.iter().any(|(l,)| l == id)).map(|(n, _)| *n).collect()
}

#[tokio::test]
async fn only_old_settled_or_expired_commands_are_pruned() {
    let app = spawn_app().await;
    let cluster = a_cluster(&app).await;
    let now = OffsetDateTime::now_utc();
    let (old, recent, later) = (now - 8 * DAY, now - DAY, now + DAY);
    for version in [1_i64, 2] {
        sqlx::query(
            "INSERT INTO msp_bundles (version, payload, signature, published_by) \
             VALUES ($1, 'p', 's', $2)",
        )
        .bind(version)
        .bind(Uuid::new_v4())
        .execute(&app.db)
        .await
        .expect("bundle");
    }
    let row = |name, delivered, completed, expires, msp_version| Row {
        name,
        delivered,
        completed,
        expires,
        msp_version,
    };
    let rows = [
        row("old answered", Some(old), Some(old), later, None),
        row("old expired, never delivered", None, None, old, None),
        row("old expired, delivered, unanswered", Some(old), None, old, None),
        row("old answered, previous bundle", Some(old), Some(old), old, Some(1)),
        row("recently answered", Some(recent), Some(recent), later, None),
        row("recently expired", None, None, recent, None),
        row("pending", None, None, later, None),
        row("in flight", Some(old), None, later, None),
        row("old answered, newest bundle", Some(old), Some(old), old, Some(2)),
        row("old answered, snapshot still creating", Some(old), Some(old), old, None),
        row("old answered, snapshot available", Some(old), Some(old), old, None),
    ];
    let mut ids = Vec::new();
    for r in &rows {
        ids.push((r.name, insert(&app, cluster, r).await));
    }
    for (name, state) in [
        ("old answered, snapshot still creating", "creating"),
        ("old answered, snapshot available", "available"),
    ] {
        let command = ids.iter().find(|(n, _)| *n == name).expect("row").1;
        sqlx::query(
            "INSERT INTO snapshots (id, org_id, cluster_id, state, origin, bucket, object_key, \
             command_id) SELECT $2, org_id, id, $3, 'manual', 'b', 'k', $4 FROM clusters \
             WHERE id = $1",
        )
        .bind(cluster)
        .bind(Uuid::now_v7())
        .bind(state)
        .bind(command)
        .execute(&app.db)
        .await
        .expect("snapshot");
    }

    // Batches of two: a pass keeps deleting until a batch comes back short.
    let settings = RetentionSettings { batch_size: 2, ..RetentionSettings::default() };
    let deleted = commander(&app).prune_node_commands(now, &settings).await.expect("prune");
    let kept: BTreeSet<&str> = [
        "recently answered",
        "recently expired",
        "pending",
        "in flight",
        "old answered, newest bundle",
        "old answered, snapshot still creating",
    ]
    .into();
    assert_eq!(remaining(&app, &ids).await, kept);
    assert_eq!(deleted, 5);
    // Nothing left to do.
    let again = commander(&app).prune_node_commands(now, &settings).await.expect("prune");
    assert_eq!(again, 0);
}

#[tokio::test]
async fn the_retention_task_runs_in_the_application_and_stops_with_it() {
    let app = spawn_app_with(|s| s.nodes.retention.interval_secs = 1).await;
    let cluster = a_cluster(&app).await;
    let old = OffsetDateTime::now_utc() - 8 * DAY;
    let stale = Row {
        name: "old",
        delivered: Some(old),
        completed: Some(old),
        expires: old,
        msp_version: None,
    };
    let id = insert(&app, cluster, &stale).await;
    until("the task to prune the old command", Duration::from_secs(15), || {
        let app = &app;
        async move { remaining(app, &[("old", id)]).await.is_empty() }
    })
    .await;
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("the application (and its retention task) stopped")
        .expect("clean stop");
}
