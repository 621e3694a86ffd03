//! Snapshots end to end through the API, with a simulated node answering over the real node
//! channel: create -> creating -> available; node failure and silence -> failed; restore ->
//! restoring -> available, with a failed restore's reason kept as `last_restore` (failed only
//! when the node finds the object bad); delete -> gone, DeleteSnapshot queued; the conflicts
//! and typed errors around them; and the daily scheduler for production tiers, driven with its
//! own clock.

use std::time::Duration;

use coffer_control_plane::service::NODE_DID_NOT_ANSWER;
use coffer_node_api::commands::{CommandBody, CommandOutput, CommandResult, NodeCommand};
use coffer_test_support::wait::until;
use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with, str_field, unique_name, TestApp, User};
use crate::node_channel::support::{
    commander, poll_commands, post_result, register_node, spawn_agent, Node,
};

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Records the cluster's snapshots bucket the way the provisioning engine does; idempotent.
/// Returns the bucket name.
pub async fn provision(app: &TestApp, cluster_id: &str) -> String {
    let cluster: Uuid = cluster_id.parse().expect("cluster id");
    let bucket = format!("coffer-{cluster_id}-snapshots");
    sqlx::query(
        "INSERT INTO cluster_resources (cluster_id, org_id, region, kind, resource_id, arn, role, \
         state) SELECT id, org_id, region, 'bucket', $2, 'arn:aws:s3:::' || $2, 'snapshots', \
         'present' FROM clusters WHERE id = $1 ON CONFLICT DO NOTHING",
    )
    .bind(cluster)
    .bind(&bucket)
    .execute(&app.db)
    .await
    .expect("record bucket");
    bucket
}

/// Marks the cluster running, as the engine does once its nodes registered.
async fn set_running(app: &TestApp, cluster_id: &str) {
    sqlx::query("UPDATE clusters SET state = 'running' WHERE id = $1")
        .bind(cluster_id.parse::<Uuid>().expect("cluster id"))
        .execute(&app.db)
        .await
        .expect("cluster running");
}

/// An `available` snapshot of the cluster, written straight into the table (as if a node had
/// answered earlier). Returns its id.
pub async fn available_snapshot(app: &TestApp, cluster_id: &str) -> String {
    let cluster: Uuid = cluster_id.parse().expect("cluster id");
    let bucket = provision(app, cluster_id).await;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO snapshots (id, org_id, cluster_id, state, origin, bucket, object_key, \
         size_bytes, sha256, completed_at) SELECT $2, org_id, id, 'available', 'manual', $3, \
         'snapshots/' || id || '/' || $2 || '.snap', 10, $4, now() FROM clusters WHERE id = $1",
    )
    .bind(cluster)
    .bind(id)
    .bind(&bucket)
    .bind(SHA)
    .execute(&app.db)
    .await
    .expect("insert snapshot");
    id.to_string()
}

struct Setup {
    owner: User,
    org: String,
    cluster: String,
    bucket: String,
    node: Node,
}

impl Setup {
    fn path(&self, rest: &str) -> String {
        format!("/v1/orgs/{}/clusters/{}/snapshots{rest}", self.org, self.cluster)
    }
}

async fn setup(app: &TestApp) -> Setup {
    let owner = app.new_user().await;
    let org = owner.own_org.clone();
    let (cluster, _) = app.create_cluster(&org, &owner.token, &unique_name("c")).await;
    let cluster = str_field(&cluster, "id");
    let bucket = provision(app, &cluster).await;
    set_running(app, &cluster).await;
    let node = register_node(app, &cluster, 0).await;
    Setup { owner, org, cluster, bucket, node }
}

/// The one command the node receives next.
async fn next_command(app: &TestApp, node: &Node) -> NodeCommand {
    let mut got = poll_commands(app, node, 5).await;
    assert_eq!(got.len(), 1, "expected one command, got {got:?}");
    got.remove(0)
}

async fn answer(app: &TestApp, node: &Node, id: Uuid, result: CommandResult) {
    post_result(app, node, id, &result).await.expect(204);
}

fn taken(size_bytes: u64, sha256: &str) -> CommandResult {
    CommandResult::Succeeded {
        output: CommandOutput::Snapshot { size_bytes, sha256: sha256.into() },
    }
}

#[tokio::test]
async fn snapshot_create_restore_delete() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let token = &s.owner.token;

    let created = app.post(&s.path(""), token, &json!({})).await.expect(202).clone();
    assert_eq!(created["state"], "creating", "{created}");
    assert_eq!(created["origin"], "manual");
    assert_eq!(created["size_bytes"], Value::Null);
    let sid = str_field(&created, "id");

    let cmd = next_command(&app, &s.node).await;
    let expected_key = format!("snapshots/{}/{sid}.snap", s.cluster);
    match &cmd.body {
        CommandBody::TakeSnapshot { snapshot_id, bucket, key } => {
            assert_eq!(snapshot_id.to_string(), sid);
            assert_eq!(bucket, &s.bucket);
            assert_eq!(key, &expected_key);
        }
        other => panic!("expected TakeSnapshot, got {other:?}"),
    }
    // Until the node answers, the snapshot stays creating.
    let got = app.get(&s.path(&format!("/{sid}")), token).await.expect(200).clone();
    assert_eq!(got["state"], "creating");

    answer(&app, &s.node, cmd.id, taken(4096, SHA)).await;
    let got = app.get(&s.path(&format!("/{sid}")), token).await.expect(200).clone();
    assert_eq!(got["state"], "available", "{got}");
    assert_eq!(got["size_bytes"], 4096);
    assert_eq!(got["sha256"], SHA);
    assert_eq!(got["error"], Value::Null);
    assert!(got["completed_at"].is_string(), "{got}");
    assert_eq!(got["created_at"], created["created_at"]);

    let list = app.get(&s.path(""), token).await.expect(200).clone();
    let listed = list["snapshots"].as_array().expect("snapshots");
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["id"], sid.as_str());
    assert_eq!(listed[0]["state"], "available");

    // Restore: restoring until the node answers, then available again.
    let restoring = app.post(&s.path(&format!("/{sid}/restore")), token, &json!({})).await;
    assert_eq!(restoring.expect(202)["state"], "restoring");
    // One restore at a time, and only of an available snapshot.
    app.post(&s.path(&format!("/{sid}/restore")), token, &json!({}))
        .await
        .expect_error(409, "conflict");
    let cmd = next_command(&app, &s.node).await;
    match &cmd.body {
        CommandBody::RestoreSnapshot { snapshot_id, bucket, key, sha256 } => {
            assert_eq!(snapshot_id.to_string(), sid);
            assert_eq!(
                (bucket.as_str(), key.as_str(), sha256.as_str()),
                (s.bucket.as_str(), expected_key.as_str(), SHA)
            );
        }
        other => panic!("expected RestoreSnapshot, got {other:?}"),
    }
    // Deleting a snapshot that is being restored is refused.
    app.delete(&s.path(&format!("/{sid}")), token).await.expect_error(409, "conflict");
    answer(
        &app,
        &s.node,
        cmd.id,
        CommandResult::Succeeded { output: CommandOutput::SnapshotRestored },
    )
    .await;
    let got = app.get(&s.path(&format!("/{sid}")), token).await.expect(200).clone();
    assert_eq!(got["state"], "available", "{got}");
    assert!(got["restored_at"].is_string(), "{got}");
    assert_eq!(got["size_bytes"], 4096, "a restore keeps the snapshot's facts");

    // A second snapshot still creating cannot be restored.
    let second = app.post(&s.path(""), token, &json!({})).await.expect(202).clone();
    let second_id = str_field(&second, "id");
    app.post(&s.path(&format!("/{second_id}/restore")), token, &json!({}))
        .await
        .expect_error(409, "conflict");
    next_command(&app, &s.node).await;

    // Delete: gone from the API, DeleteSnapshot queued for the same object.
    app.delete(&s.path(&format!("/{sid}")), token).await.expect(204);
    app.get(&s.path(&format!("/{sid}")), token).await.expect_error(404, "not_found");
    app.delete(&s.path(&format!("/{sid}")), token).await.expect_error(404, "not_found");
    let list = app.get(&s.path(""), token).await.expect(200).clone();
    assert!(!list.to_string().contains(&sid), "deleted snapshot still listed: {list}");
    let cmd = next_command(&app, &s.node).await;
    assert_eq!(
        cmd.body,
        CommandBody::DeleteSnapshot {
            snapshot_id: sid.parse().expect("uuid"),
            bucket: s.bucket.clone(),
            key: expected_key,
        }
    );
}

#[tokio::test]
async fn failures_come_from_the_node_or_its_silence() {
    let app = spawn_app_with(|s| s.snapshots.take_timeout_secs = 3).await;
    let s = setup(&app).await;
    let token = &s.owner.token;

    // The node refuses: failed with the node's (customer-safe) message.
    let sid = str_field(app.post(&s.path(""), token, &json!({})).await.expect(202), "id");
    let cmd = next_command(&app, &s.node).await;
    let refusal = "the snapshot upload was refused by the bucket";
    answer(&app, &s.node, cmd.id, CommandResult::Failed { error: refusal.into() }).await;
    let got = app.get(&s.path(&format!("/{sid}")), token).await.expect(200).clone();
    assert_eq!((got["state"].as_str(), got["error"].as_str()), (Some("failed"), Some(refusal)));
    // A failed snapshot cannot be restored but can be deleted.
    app.post(&s.path(&format!("/{sid}/restore")), token, &json!({}))
        .await
        .expect_error(409, "conflict");

    // A nonsense checksum is not accepted as a snapshot.
    let bad = str_field(app.post(&s.path(""), token, &json!({})).await.expect(202), "id");
    let cmd = next_command(&app, &s.node).await;
    answer(&app, &s.node, cmd.id, taken(1, "not-a-sha")).await;
    let got = app.get(&s.path(&format!("/{bad}")), token).await.expect(200).clone();
    assert_eq!(got["state"], "failed", "{got}");

    // The node never answers: failed once the command expired, seen through the list too.
    let silent = str_field(app.post(&s.path(""), token, &json!({})).await.expect(202), "id");
    let path = s.path("");
    until("the unanswered snapshot to fail", Duration::from_secs(10), || {
        let (app, path, token, silent) = (&app, &path, token, &silent);
        async move {
            let list = app.get(path, token).await.expect(200).clone();
            let row = list["snapshots"]
                .as_array()
                .and_then(|a| a.iter().find(|r| r["id"] == silent.as_str()).cloned())
                .expect("listed");
            if row["state"] == "failed" {
                assert_eq!(row["error"], NODE_DID_NOT_ANSWER, "{row}");
                return true;
            }
            assert_eq!(row["state"], "creating", "{row}");
            false
        }
    })
    .await;

    app.delete(&s.path(&format!("/{sid}")), token).await.expect(204);
}

async fn restore(app: &TestApp, s: &Setup, sid: &str) -> Value {
    let resp = app.post(&s.path(&format!("/{sid}/restore")), &s.owner.token, &json!({})).await;
    resp.expect(202).clone()
}

async fn snapshot(app: &TestApp, s: &Setup, sid: &str) -> Value {
    app.get(&s.path(&format!("/{sid}")), &s.owner.token).await.expect(200).clone()
}

/// Asserts the snapshot is available again and its last restore failed with `reason`.
fn assert_kept_with_failed_restore(got: &Value, reason: &str) {
    assert_eq!(got["state"], "available", "the object is unchanged: {got}");
    assert_eq!(got["error"], Value::Null, "{got}");
    assert_eq!(got["last_restore"]["state"], "failed", "{got}");
    assert_eq!(got["last_restore"]["error"], reason, "{got}");
    assert!(got["last_restore"]["finished_at"].is_string(), "{got}");
    assert_eq!(got["restored_at"], Value::Null, "{got}");
}

#[tokio::test]
async fn a_node_reported_restore_failure_keeps_the_snapshot_available() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let sid = available_snapshot(&app, &s.cluster).await;
    assert_eq!(snapshot(&app, &s, &sid).await["last_restore"], Value::Null, "never restored");

    restore(&app, &s, &sid).await;
    let cmd = next_command(&app, &s.node).await;
    let reason = "the server refused the snapshot";
    answer(&app, &s.node, cmd.id, CommandResult::Failed { error: reason.into() }).await;
    let got = snapshot(&app, &s, &sid).await;
    assert_kept_with_failed_restore(&got, reason);
    // The list (and so the console) shows the same.
    let list = app.get(&s.path(""), &s.owner.token).await.expect(200).clone();
    assert_eq!(list["snapshots"][0]["last_restore"], got["last_restore"], "{list}");
    let page = crate::console_clusters::sign_in(&app, &s.owner)
        .await
        .get(&app, &format!("/console/orgs/{}/clusters/{}/snapshots", s.org, s.cluster))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Last restore failed"), "{}", page.text);
    assert!(page.text.contains(reason), "{}", page.text);

    // The OpenAPI description documents it.
    let spec = app.get("/v1/openapi.json", &s.owner.token).await.expect(200).clone();
    let schemas = &spec["components"]["schemas"];
    assert!(schemas["SnapshotDto"]["properties"]["last_restore"].is_object(), "{spec}");
    for field in ["state", "error", "finished_at"] {
        assert!(schemas["LastRestoreDto"]["properties"][field].is_object(), "{field}: {spec}");
    }

    // A later restore works, and replaces the failure.
    restore(&app, &s, &sid).await;
    let cmd = next_command(&app, &s.node).await;
    let restored = CommandResult::Succeeded { output: CommandOutput::SnapshotRestored };
    answer(&app, &s.node, cmd.id, restored).await;
    let got = snapshot(&app, &s, &sid).await;
    assert_eq!(got["state"], "available", "{got}");
    assert_eq!(got["last_restore"]["state"], "succeeded", "{got}");
    assert_eq!(got["last_restore"]["error"], Value::Null, "{got}");
    assert!(got["restored_at"].is_string(), "{got}");
}

#[tokio::test]
async fn a_timed_out_restore_keeps_the_snapshot_and_a_later_restore_works() {
    let app = spawn_app_with(|s| s.snapshots.restore_timeout_secs = 2).await;
    let s = setup(&app).await;
    let sid = available_snapshot(&app, &s.cluster).await;
    restore(&app, &s, &sid).await;
    // The node takes the command and never answers.
    next_command(&app, &s.node).await;
    until("the unanswered restore to settle", Duration::from_secs(10), || {
        let (app, s, sid) = (&app, &s, &sid);
        async move {
            let got = snapshot(app, s, sid).await;
            if got["state"] == "restoring" {
                return false;
            }
            assert_kept_with_failed_restore(&got, NODE_DID_NOT_ANSWER);
            true
        }
    })
    .await;

    // A node that answers now restores it.
    let (stop, mut seen) = spawn_agent(app.address.clone(), s.node.clone(), |_| {
        CommandResult::Succeeded { output: CommandOutput::SnapshotRestored }
    });
    restore(&app, &s, &sid).await;
    let cmd = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("the agent answered in time")
        .expect("a command");
    assert!(matches!(cmd.body, CommandBody::RestoreSnapshot { .. }), "{cmd:?}");
    stop.cancel();
    let got = snapshot(&app, &s, &sid).await;
    assert_eq!(got["state"], "available", "{got}");
    assert_eq!(got["last_restore"]["state"], "succeeded", "{got}");
}

#[tokio::test]
async fn a_checksum_failure_marks_the_snapshot_failed() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let sid = available_snapshot(&app, &s.cluster).await;
    restore(&app, &s, &sid).await;
    let cmd = next_command(&app, &s.node).await;
    // The agent's wording (agent/src/snapshots.rs) for an object that does not hash right.
    let reason = "the snapshot object failed its integrity check; nothing was restored";
    answer(&app, &s.node, cmd.id, CommandResult::Failed { error: reason.into() }).await;
    let got = snapshot(&app, &s, &sid).await;
    assert_eq!((got["state"].as_str(), got["error"].as_str()), (Some("failed"), Some(reason)));
    assert_eq!(got["last_restore"]["state"], "failed", "{got}");
    assert_eq!(got["last_restore"]["error"], reason, "{got}");
    assert_eq!(got["restored_at"], Value::Null);
    // A bad object is not offered again.
    app.post(&s.path(&format!("/{sid}/restore")), &s.owner.token, &json!({}))
        .await
        .expect_error(409, "conflict");
}

#[tokio::test]
async fn preconditions_and_bad_ids_are_typed_errors() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let org = owner.own_org.clone();
    let (cluster, _) = app.create_cluster(&org, &owner.token, &unique_name("c")).await;
    let cluster = str_field(&cluster, "id");
    let base = format!("/v1/orgs/{org}/clusters/{cluster}/snapshots");

    // Not provisioned yet: no bucket to put a snapshot in.
    let msg = app.post(&base, &owner.token, &json!({})).await.expect_error(409, "conflict");
    assert!(msg.contains("snapshot storage"), "{msg}");
    assert_eq!(app.get(&base, &owner.token).await.expect(200)["snapshots"], json!([]));

    for path in [
        format!("{base}/not-a-uuid"),
        format!("{base}/{}", Uuid::new_v4()),
        format!("/v1/orgs/{org}/clusters/{}/snapshots", Uuid::new_v4()),
        format!("/v1/orgs/{org}/clusters/nope/snapshots"),
    ] {
        app.get(&path, &owner.token).await.expect_error(404, "not_found");
    }
    app.post(&format!("{base}/{}/restore", Uuid::new_v4()), &owner.token, &json!({}))
        .await
        .expect_error(404, "not_found");
    app.delete(&format!("{base}/{}", Uuid::new_v4()), &owner.token)
        .await
        .expect_error(404, "not_found");
    app.get(&format!("{base}?page_size=0"), &owner.token)
        .await
        .expect_error(400, "invalid_argument");

    // A cluster being deleted takes no new snapshots.
    provision(&app, &cluster).await;
    app.delete(&format!("/v1/orgs/{org}/clusters/{cluster}"), &owner.token).await.expect(202);
    app.post(&base, &owner.token, &json!({})).await.expect_error(409, "conflict");
}

#[tokio::test]
async fn roles_follow_the_contract() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let sid = available_snapshot(&app, &s.cluster).await;
    let contributor = app.add_member(&s.org, &s.owner.token, "contributor").await;
    let viewer = app.add_member(&s.org, &s.owner.token, "viewer").await;

    // Viewers read; contributors also take snapshots; restore and delete need an admin.
    app.get(&s.path(""), &viewer.token).await.expect(200);
    app.get(&s.path(&format!("/{sid}")), &viewer.token).await.expect(200);
    app.post(&s.path(""), &viewer.token, &json!({})).await.expect_error(403, "permission_denied");
    app.post(&s.path(""), &contributor.token, &json!({})).await.expect(202);
    for token in [&viewer.token, &contributor.token] {
        app.post(&s.path(&format!("/{sid}/restore")), token, &json!({}))
            .await
            .expect_error(403, "permission_denied");
        app.delete(&s.path(&format!("/{sid}")), token).await.expect_error(403, "permission_denied");
    }
    let got = app.get(&s.path(&format!("/{sid}")), &s.owner.token).await.expect(200).clone();
    assert_eq!(got["state"], "available", "refused calls changed nothing: {got}");

    // Another org's owner sees nothing, whatever the route.
    let other = app.new_user().await;
    for path in [s.path(""), s.path(&format!("/{sid}"))] {
        app.get(&path, &other.token).await.expect_error(404, "not_found");
    }
    app.post(&s.path(""), &other.token, &json!({})).await.expect_error(404, "not_found");
    app.post(&s.path(&format!("/{sid}/restore")), &other.token, &json!({}))
        .await
        .expect_error(404, "not_found");
    app.delete(&s.path(&format!("/{sid}")), &other.token).await.expect_error(404, "not_found");
    // Their own org id with our cluster and snapshot ids: still not found.
    let mixed = format!("/v1/orgs/{}/clusters/{}/snapshots/{sid}", other.own_org, s.cluster);
    app.get(&mixed, &other.token).await.expect_error(404, "not_found");
}

/// A provisioned, running cluster of `tier` in the owner's org; returns its id.
async fn tier_cluster(app: &TestApp, owner: &User, tier: &str) -> String {
    let body =
        json!({"name": unique_name("c"), "tier": tier, "size": "small", "region": "eu-west-1"});
    let resp = app.post(&format!("/v1/orgs/{}/clusters", owner.own_org), &owner.token, &body).await;
    let id = str_field(&resp.expect(202)["cluster"], "id");
    provision(app, &id).await;
    set_running(app, &id).await;
    id
}

async fn set_snapshot(app: &TestApp, cluster: &str, state: &str, age: Duration) {
    let cluster: Uuid = cluster.parse().expect("uuid");
    let created = OffsetDateTime::now_utc() - age;
    sqlx::query(
        "INSERT INTO snapshots (id, org_id, cluster_id, state, origin, bucket, object_key, \
         created_at) \
         SELECT $2, org_id, id, $3, 'manual', 'b', 'k', $4 FROM clusters WHERE id = $1",
    )
    .bind(cluster)
    .bind(Uuid::now_v7())
    .bind(state)
    .bind(created)
    .execute(&app.db)
    .await
    .expect("insert snapshot");
}

#[tokio::test]
async fn the_daily_schedule_snapshots_production_tiers_that_are_due() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let hour = Duration::from_secs(3600);
    let day = 24 * hour;

    let fresh = tier_cluster(&app, &owner, "essentials").await;
    let old = tier_cluster(&app, &owner, "standard").await;
    set_snapshot(&app, &old, "available", 2 * day).await;
    let recent = tier_cluster(&app, &owner, "essentials").await;
    set_snapshot(&app, &recent, "available", hour).await;
    let recently_failed = tier_cluster(&app, &owner, "standard").await;
    set_snapshot(&app, &recently_failed, "failed", hour).await;
    let dev = tier_cluster(&app, &owner, "dev").await;
    let not_running = tier_cluster(&app, &owner, "essentials").await;
    sqlx::query("UPDATE clusters SET state = 'creating' WHERE id = $1")
        .bind(not_running.parse::<Uuid>().expect("uuid"))
        .execute(&app.db)
        .await
        .expect("state");
    let unprovisioned = {
        let body = json!({"name": unique_name("c"), "tier": "standard", "size": "small",
            "region": "eu-west-1"});
        let resp =
            app.post(&format!("/v1/orgs/{}/clusters", owner.own_org), &owner.token, &body).await;
        str_field(&resp.expect(202)["cluster"], "id")
    };
    let node = register_node(&app, &old, 0).await;

    let cp = commander(&app);
    let now = OffsetDateTime::now_utc();
    let queued = cp.schedule_due_snapshots(now, day).await.expect("pass");
    let mut got: Vec<String> = queued.iter().map(|r| r.cluster_id.to_string()).collect();
    got.sort();
    let mut want = vec![fresh.clone(), old.clone(), recently_failed.clone()];
    want.sort();
    assert_eq!(
        got, want,
        "not due: dev {dev}, recent {recent}, not running {not_running}, unprovisioned {unprovisioned}"
    );
    assert!(queued.iter().all(|r| r.origin == "scheduled" && r.state == "creating"));

    // Visible through the API, and the node gets the command.
    let list = app
        .get(&format!("/v1/orgs/{}/clusters/{old}/snapshots", owner.own_org), &owner.token)
        .await
        .expect(200)
        .clone();
    let scheduled: Vec<&Value> = list["snapshots"]
        .as_array()
        .expect("snapshots")
        .iter()
        .filter(|s| s["origin"] == "scheduled")
        .collect();
    assert_eq!(scheduled.len(), 1, "{list}");
    let cmd = next_command(&app, &node).await;
    assert!(matches!(cmd.body, CommandBody::TakeSnapshot { .. }), "{cmd:?}");

    // A second pass right away finds nothing due; a pass a day later finds them all again.
    assert!(cp.schedule_due_snapshots(now, day).await.expect("pass").is_empty());
    let later = cp.schedule_due_snapshots(now + day + hour, day).await.expect("pass");
    assert_eq!(later.len(), 4, "every running production cluster is due a day later");
}

#[tokio::test]
async fn the_scheduler_task_runs_in_the_application_and_stops_with_it() {
    let app = spawn_app_with(|s| {
        s.snapshots.schedule.enabled = true;
        s.snapshots.schedule.interval_secs = 1;
    })
    .await;
    let owner = app.new_user().await;
    let cluster = tier_cluster(&app, &owner, "standard").await;
    let path = format!("/v1/orgs/{}/clusters/{cluster}/snapshots", owner.own_org);
    until("the scheduler to snapshot the cluster", Duration::from_secs(15), || {
        let (app, path, token) = (&app, &path, &owner.token);
        async move {
            let list = app.get(path, token).await.expect(200).clone();
            let snapshots = list["snapshots"].as_array().cloned().unwrap_or_default();
            assert!(snapshots.len() <= 1, "one scheduled snapshot per day: {list}");
            snapshots.first().is_some_and(|s| s["origin"] == "scheduled")
        }
    })
    .await;
    // Shutdown waits for the scheduler task; it must notice the cancellation.
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("the application (and its scheduler) stopped")
        .expect("clean stop");
}
