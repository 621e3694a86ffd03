//! Admin tokens: minted by the cluster's node (simulated here by a task that polls like the
//! agent and seals a token to the request's reply key), returned once, never stored in the
//! clear, never logged; bounded TTLs; admins only; "node unavailable" when nobody answers.

use std::time::{Duration, Instant};

use coffer_node_api::commands::{CommandBody, CommandOutput, CommandResult};
use coffer_node_api::seal::seal;
use serde_json::json;

use crate::helpers::{spawn_app_with, str_field, unique_name, TestApp, User};
use crate::logs;
use crate::node_channel::support::{register_node, spawn_agent, Node};

/// An app with a short node timeout, an owner and a cluster whose node 0 is registered.
async fn setup(timeout_ms: u64) -> (TestApp, User, String, Node) {
    let app = spawn_app_with(|s| s.nodes.command_timeout_ms = timeout_ms).await;
    let owner = app.new_user().await;
    let (cluster, _) = app.create_cluster(&owner.own_org, &owner.token, &unique_name("c")).await;
    let cluster_id = str_field(&cluster, "id");
    let node = register_node(&app, &cluster_id, 0).await;
    (app, owner, cluster_id, node)
}

/// What the simulated agent answers: the token it minted, sealed to the reply key.
fn agent_answer(token: String) -> impl Fn(&CommandBody) -> CommandResult + Send + 'static {
    move |body| match body {
        CommandBody::IssueAdminToken { ttl_secs, reply_key } => CommandResult::Succeeded {
            output: CommandOutput::AdminToken {
                sealed: seal(reply_key, token.as_bytes()).expect("seal"),
                accessor: format!("acc-{ttl_secs}"),
                expires_at: 1_900_000_000,
            },
        },
        CommandBody::RevokeAdminTokens => {
            CommandResult::Succeeded { output: CommandOutput::AdminTokensRevoked { count: 3 } }
        }
        _ => CommandResult::Failed { error: "unexpected command".into() },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_travels_sealed_and_is_returned_once() {
    let (app, owner, cluster_id, node) = setup(10_000).await;
    let org = &owner.own_org;
    let minted = format!("hvs.x-{}", uuid::Uuid::new_v4().simple());
    let (stop, mut seen) =
        spawn_agent(app.address.clone(), node.clone(), agent_answer(minted.clone()));
    let path = format!("/v1/orgs/{org}/clusters/{cluster_id}/admin-token");

    let resp = app.post(&path, &owner.token, &json!({"ttl": "1h"})).await;
    let body = resp.expect(200).clone();
    assert_eq!(body["token"], minted.as_str());
    assert_eq!(body["accessor"], "acc-3600", "the requested ttl reached the node");
    assert_eq!(body["expires_at"], "2030-03-17T17:46:40Z");
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let command = seen.recv().await.expect("the agent saw the command");
    assert!(matches!(command.body, CommandBody::IssueAdminToken { ttl_secs: 3600, .. }));

    // No body: the default 6h. An admin service principal may ask too.
    let sp = app.create_sp(org, &owner.token, "admin").await;
    let sp_token = app.sp_token(&sp).await;
    let resp = app.send(reqwest::Method::POST, &path, Some(&sp_token), None).await;
    assert_eq!(resp.expect(200)["accessor"], "acc-21600");

    let revoked = app
        .post(
            &format!("/v1/orgs/{org}/clusters/{cluster_id}/revoke-admin-tokens"),
            &owner.token,
            &json!({}),
        )
        .await;
    assert_eq!(revoked.expect(200), &json!({"revoked": 3}));
    stop.cancel();

    // The database holds only ciphertext: no row of any table contains the token.
    let rows: Vec<(String,)> = sqlx::query_as("SELECT t::text FROM node_commands t")
        .fetch_all(&app.db)
        .await
        .expect("commands");
    assert_eq!(rows.len(), 3, "one command per request");
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&app.db)
            .await
            .expect("tables");
    for (table,) in tables {
        let rows: Vec<(String,)> = sqlx::query_as(&format!(r#"SELECT t::text FROM "{table}" t"#))
            .fetch_all(&app.db)
            .await
            .expect("dump table");
        for (row,) in rows {
            assert!(!row.contains(&minted), "table {table} holds the admin token");
            assert!(!row.contains(&node.credential), "table {table} holds the node credential");
        }
    }
    let captured = logs::captured();
    assert!(captured.contains("admin token issued"), "no issue log line; logs:\n{captured}");
    assert!(!captured.contains(&minted), "the admin token reached the logs");
    assert!(!captured.contains("acc-3600"), "the token accessor reached the logs");
    assert!(!captured.contains(&node.credential), "the node credential reached the logs");
}

#[tokio::test]
async fn ttl_bounds_are_checked_before_anything_is_queued() {
    let (app, owner, cluster_id, _node) = setup(10_000).await;
    let path = format!("/v1/orgs/{}/clusters/{cluster_id}/admin-token", owner.own_org);
    for ttl in ["4m", "299s", "25h", "1d", "six hours", "-1h", ""] {
        let resp = app.post(&path, &owner.token, &json!({"ttl": ttl})).await;
        let message = resp.expect_error(400, "invalid_argument");
        assert!(message.contains("ttl"), "{ttl}: {message}");
    }
    app.post(&path, &owner.token, &json!({"ttl": "1h", "policies": ["root"]}))
        .await
        .expect_error(400, "invalid_argument");
    let (queued,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM node_commands").fetch_one(&app.db).await.unwrap();
    assert_eq!(queued, 0, "a refused request queued a command");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_or_missing_node_is_node_unavailable() {
    let (app, owner, cluster_id, node) = setup(500).await;
    let org = &owner.own_org;
    let path = format!("/v1/orgs/{org}/clusters/{cluster_id}/admin-token");
    let started = Instant::now();
    let resp = app.post(&path, &owner.token, &json!({})).await;
    let message = resp.expect_error(503, "node_unavailable");
    assert!(message.contains("did not answer"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    // The unanswered command expired with the request: a node polling later skips nothing,
    // it simply never receives it.
    let expired =
        sqlx::query_as::<_, (i64,)>("SELECT count(*) FROM node_commands WHERE expires_at <= now()")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(expired.0, 1);
    let resp = app.get("/v1/nodes/commands", &node.credential).await;
    assert_eq!(resp.expect(200)["commands"], json!([]));

    // A node that refuses: its (customer-safe) reason, still 503.
    let (stop, _seen) = spawn_agent(app.address.clone(), node, |_| CommandResult::Failed {
        error: "the token role is missing".into(),
    });
    let resp = app.post(&path, &owner.token, &json!({})).await;
    let message = resp.expect_error(503, "node_unavailable");
    assert!(message.contains("the token role is missing"), "{message}");
    stop.cancel();

    // A cluster without any node answers without queuing a command to wait on (the setup's
    // 500 ms request timeout would otherwise show as a "did not answer" message).
    let (fresh, _) = app.create_cluster(org, &owner.token, &unique_name("c")).await;
    let resp = app
        .post(
            &format!("/v1/orgs/{org}/clusters/{}/admin-token", str_field(&fresh, "id")),
            &owner.token,
            &json!({}),
        )
        .await;
    let message = resp.expect_error(503, "node_unavailable");
    assert!(!message.contains("did not answer"), "{message}");
    let fresh_id: uuid::Uuid = str_field(&fresh, "id").parse().unwrap();
    let (queued,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM node_commands WHERE cluster_id = $1")
            .bind(fresh_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(queued, 0, "a command was queued for a cluster without nodes");
}

#[tokio::test]
async fn only_admins_of_the_cluster_org_get_tokens() {
    let (app, owner, cluster_id, _node) = setup(300).await;
    let org = &owner.own_org;
    let stranger = app.new_user().await;
    for (role, want) in [("viewer", 403), ("contributor", 403)] {
        let member = app.add_member(org, &owner.token, role).await;
        for route in ["admin-token", "revoke-admin-tokens"] {
            let path = format!("/v1/orgs/{org}/clusters/{cluster_id}/{route}");
            app.post(&path, &member.token, &json!({}))
                .await
                .expect_error(want, "permission_denied");
        }
    }
    for route in ["admin-token", "revoke-admin-tokens"] {
        // Another org's owner, through the cluster's org and through their own.
        let theirs = format!("/v1/orgs/{org}/clusters/{cluster_id}/{route}");
        app.post(&theirs, &stranger.token, &json!({})).await.expect_error(404, "not_found");
        let own = format!("/v1/orgs/{}/clusters/{cluster_id}/{route}", stranger.own_org);
        app.post(&own, &stranger.token, &json!({})).await.expect_error(404, "not_found");
    }
    let (queued,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM node_commands").fetch_one(&app.db).await.unwrap();
    assert_eq!(queued, 0, "a refused caller queued a command");
}
