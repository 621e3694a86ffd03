//! Commands: handed out once, long polls wake promptly, results are scoped to the node that
//! received the command and written once, expired commands are never delivered.

use std::time::{Duration, Instant};

use coffer_node_api::commands::{CommandBody, CommandOutput, CommandResult};
use uuid::Uuid;

use super::support::{commander, poll, poll_commands, post_result, register_node};
use crate::helpers::{spawn_app, str_field, unique_name, TestApp};

const HOUR: Duration = Duration::from_secs(3600);

fn delete_body(n: u128) -> CommandBody {
    CommandBody::DeleteSnapshot {
        snapshot_id: Uuid::from_u128(n),
        bucket: "coffer-x-snapshots".into(),
        key: format!("snapshots/{n}.snap"),
    }
}

/// A new cluster in a new user's org; returns its id.
async fn cluster(app: &TestApp) -> String {
    let owner = app.new_user().await;
    let (cluster, _) = app.create_cluster(&owner.own_org, &owner.token, &unique_name("c")).await;
    str_field(&cluster, "id")
}

#[tokio::test]
async fn each_command_is_handed_out_once_in_order() {
    let app = spawn_app().await;
    let cluster_id = cluster(&app).await;
    let node0 = register_node(&app, &cluster_id, 0).await;
    let node1 = register_node(&app, &cluster_id, 1).await;
    let cp = commander(&app);
    let c = node0.cluster_id;
    let first = cp.send_node_command(c, 0, delete_body(1), HOUR).await.unwrap();
    let second = cp.send_node_command(c, 0, CommandBody::RevokeAdminTokens, HOUR).await.unwrap();
    let other = cp.send_node_command(c, 1, delete_body(3), HOUR).await.unwrap();

    let got = poll_commands(&app, &node0, 0).await;
    let ids: Vec<Uuid> = got.iter().map(|c| c.id).collect();
    assert_eq!(ids, [first, second], "node 0 gets its own commands, oldest first");
    assert_eq!(got[0].body, delete_body(1));
    assert_eq!(got[1].body, CommandBody::RevokeAdminTokens);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((now + 3500..=now + 3700).contains(&got[0].expires_at), "{}", got[0].expires_at);
    assert!(poll_commands(&app, &node0, 0).await.is_empty(), "handed out twice");

    let got = poll_commands(&app, &node1, 0).await;
    assert_eq!(got.iter().map(|c| c.id).collect::<Vec<_>>(), [other]);
    assert_eq!(cp.node_command_result(first).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_wakes_when_a_command_is_queued() {
    let app = std::sync::Arc::new(spawn_app().await);
    let cluster_id = cluster(&app).await;
    let node = register_node(&app, &cluster_id, 0).await;
    let cp = commander(&app);

    let waiting = {
        let (app, node) = (app.clone(), node.clone());
        tokio::spawn(async move { poll_commands(&app, &node, 25).await })
    };
    let mut waiting = std::pin::pin!(waiting);
    // The poll stays open while nothing is queued.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut waiting).await.is_err(),
        "the poll returned with nothing queued"
    );
    let queued_at = Instant::now();
    let id = cp.send_node_command(node.cluster_id, 0, delete_body(7), HOUR).await.unwrap();
    // Well before both the poll's 25 s and the waiters' slow re-check: only a notification
    // explains an answer this fast.
    let got = tokio::time::timeout(Duration::from_secs(3), &mut waiting)
        .await
        .expect("the long poll did not wake")
        .expect("poll task");
    assert_eq!(got.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
    assert!(queued_at.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_idle_poll_returns_empty_after_wait_secs() {
    let app = spawn_app().await;
    let cluster_id = cluster(&app).await;
    let node = register_node(&app, &cluster_id, 0).await;
    let started = Instant::now();
    assert!(poll_commands(&app, &node, 1).await.is_empty());
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{took:?}");
    // Invalid waits are refused, not clamped silently into something else.
    poll(&app, &node, 0).await.expect(200);
    let resp = app.get("/v1/nodes/commands?wait_secs=-1", &node.credential).await;
    resp.expect_error(400, "invalid_argument");
}

#[tokio::test]
async fn node_routes_need_a_node_credential() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let (cluster, _) = app.create_cluster(&owner.own_org, &owner.token, &unique_name("c")).await;
    let node = register_node(&app, &str_field(&cluster, "id"), 0).await;
    let result = serde_json::json!({"status": "failed", "error": "x"});
    let id = Uuid::new_v4();
    let hb = super::support::heartbeat_body("http://127.0.0.1:8200", true); // tidy: not-a-port

    // Customer tokens, garbage and look-alikes are all just unknown credentials.
    let forged = format!("cfn_{}", "A".repeat(43));
    for token in [owner.token.as_str(), "garbage", forged.as_str()] {
        app.get("/v1/nodes/commands", token).await.expect_error(401, "unauthenticated");
        app.post(&format!("/v1/nodes/commands/{id}/result"), token, &result)
            .await
            .expect_error(401, "unauthenticated");
        app.post("/v1/nodes/heartbeat", token, &hb).await.expect_error(401, "unauthenticated");
    }
    // And a node credential is no customer credential.
    app.get("/v1/orgs", &node.credential).await.expect_error(401, "unauthenticated");
    poll(&app, &node, 0).await.expect(200);

    // A deleted cluster's nodes no longer authenticate.
    sqlx::query("UPDATE clusters SET state = 'deleted' WHERE id = $1")
        .bind(node.cluster_id)
        .execute(&app.db)
        .await
        .unwrap();
    poll(&app, &node, 0).await.expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn results_are_scoped_to_the_node_and_written_once() {
    let app = spawn_app().await;
    let a = register_node(&app, &cluster(&app).await, 0).await;
    let a1 = register_node(&app, &a.cluster_id.to_string(), 1).await;
    let b = register_node(&app, &cluster(&app).await, 0).await;
    let cp = commander(&app);
    let id = cp.send_node_command(a.cluster_id, 0, delete_body(1), HOUR).await.unwrap();
    let undelivered = cp.send_node_command(a.cluster_id, 1, delete_body(2), HOUR).await.unwrap();
    assert_eq!(poll_commands(&app, &a, 0).await.len(), 1);

    let first = CommandResult::Succeeded { output: CommandOutput::SnapshotDeleted };
    let second = CommandResult::Failed { error: "changed my mind".into() };
    // Another cluster's node and another slot of the same cluster: as if it did not exist.
    post_result(&app, &b, id, &first).await.expect_error(404, "not_found");
    post_result(&app, &a1, id, &first).await.expect_error(404, "not_found");
    post_result(&app, &a, Uuid::new_v4(), &first).await.expect_error(404, "not_found");
    // A command the node never received cannot be answered.
    post_result(&app, &a1, undelivered, &first).await.expect_error(409, "conflict");

    post_result(&app, &a, id, &first).await.expect(204);
    post_result(&app, &a, id, &second).await.expect_error(409, "conflict");
    assert_eq!(cp.node_command_result(id).await.unwrap(), Some(first.clone()));
    let awaited = cp.await_node_command(id, Duration::from_millis(10)).await.unwrap();
    assert_eq!(awaited, first);

    // Malformed results are refused before anything is stored.
    let resp = app
        .post(
            &format!("/v1/nodes/commands/{undelivered}/result"),
            &a1.credential,
            &serde_json::json!({"status": "succeeded"}),
        )
        .await;
    resp.expect_error(400, "invalid_argument");
}

#[tokio::test]
async fn expired_commands_are_not_delivered_and_awaiting_one_times_out() {
    let app = spawn_app().await;
    let node = register_node(&app, &cluster(&app).await, 0).await;
    let cp = commander(&app);
    let stale = cp.send_node_command(node.cluster_id, 0, delete_body(1), HOUR).await.unwrap();
    let fresh = cp.send_node_command(node.cluster_id, 0, delete_body(2), HOUR).await.unwrap();
    sqlx::query("UPDATE node_commands SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(stale)
        .execute(&app.db)
        .await
        .unwrap();
    let got = poll_commands(&app, &node, 0).await;
    assert_eq!(got.iter().map(|c| c.id).collect::<Vec<_>>(), [fresh]);
    assert!(poll_commands(&app, &node, 0).await.is_empty());

    let started = Instant::now();
    let err = cp.await_node_command(stale, Duration::from_millis(300)).await.unwrap_err();
    assert!(err.to_string().contains("did not answer"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(cp.node_command_result(Uuid::new_v4()).await.is_err(), "unknown command");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_polls_of_one_node_never_share_a_command() {
    let app = std::sync::Arc::new(spawn_app().await);
    let node = register_node(&app, &cluster(&app).await, 0).await;
    let cp = commander(&app);
    let mut queued = Vec::new();
    for n in 0..12 {
        queued.push(cp.send_node_command(node.cluster_id, 0, delete_body(n), HOUR).await.unwrap());
    }
    let polls: Vec<_> = (0..4)
        .map(|_| {
            let (app, node) = (app.clone(), node.clone());
            tokio::spawn(async move { poll_commands(&app, &node, 0).await })
        })
        .collect();
    let mut delivered = Vec::new();
    for p in polls {
        delivered.extend(p.await.expect("poll task").into_iter().map(|c| c.id));
    }
    // Whatever the interleaving, the rest comes with later polls, and nothing comes twice.
    loop {
        let more = poll_commands(&app, &node, 0).await;
        if more.is_empty() {
            break;
        }
        delivered.extend(more.into_iter().map(|c| c.id));
    }
    let mut sorted = delivered.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), delivered.len(), "a command was handed out twice: {delivered:?}");
    queued.sort();
    assert_eq!(sorted, queued);
}
