//! Heartbeats: they set the node's health, state and address, the leader's address becomes
//! the cluster's, and a node that stops beating turns unhealthy after the configured intervals.

use std::time::Duration;

use serde_json::Value;

use coffer_test_support::wait::until;

use super::support::{heartbeat_body, register_node};
use crate::helpers::{spawn_app_with, str_field, unique_name};

#[tokio::test]
async fn heartbeats_drive_node_health_and_the_cluster_address() {
    let app = spawn_app_with(|s| s.nodes.heartbeat_interval_secs = 1).await;
    let owner = app.new_user().await;
    let org = owner.own_org.clone();
    let (cluster, _) = app.create_cluster(&org, &owner.token, &unique_name("c")).await;
    let cluster_id = str_field(&cluster, "id");
    let leader = register_node(&app, &cluster_id, 0).await;
    let follower = register_node(&app, &cluster_id, 1).await;
    let viewer = app.add_member(&org, &owner.token, "viewer").await;
    let nodes_path = format!("/v1/orgs/{org}/clusters/{cluster_id}/nodes");
    let cluster_path = format!("/v1/orgs/{org}/clusters/{cluster_id}");

    // Registered, never heard from: listed, unhealthy, no address.
    let nodes = app.get(&nodes_path, &viewer.token).await.expect(200)["nodes"].clone();
    assert_eq!(nodes.as_array().map(Vec::len), Some(2), "{nodes}");
    assert_eq!(nodes[0]["healthy"], false);
    assert_eq!(nodes[0]["api_address"], Value::Null);
    assert_eq!(nodes[0]["last_heartbeat_at"], Value::Null);

    let resp = app
        .post(
            "/v1/nodes/heartbeat",
            &leader.credential,
            &heartbeat_body("http://127.0.3.7:8200", true),
        )
        .await;
    assert_eq!(resp.expect(200)["next_in_secs"], 1);
    // A trailing slash names the same base URL.
    app.post(
        "/v1/nodes/heartbeat",
        &follower.credential,
        &heartbeat_body("http://127.0.3.8:8200/", false),
    )
    .await
    .expect(200);

    let nodes = app.get(&nodes_path, &viewer.token).await.expect(200)["nodes"].clone();
    let check = |n: &Value, index: u64, address: &str, leader: bool| {
        assert_eq!(n["index"], index, "{n}");
        assert_eq!(n["healthy"], true, "{n}");
        assert_eq!(n["api_address"], address, "{n}");
        assert_eq!(n["leader"], leader, "{n}");
        assert_eq!(n["sealed"], false, "{n}");
        assert_eq!(n["server_version"], "0.1.0", "{n}");
        assert!(n["last_heartbeat_at"].is_string(), "{n}");
        assert!(n["instance_id"].as_str().is_some_and(|i| i.starts_with("i-")), "{n}");
    };
    check(&nodes[0], 0, "http://127.0.3.7:8200", true);
    check(&nodes[1], 1, "http://127.0.3.8:8200", false);
    let address = app.get(&cluster_path, &owner.token).await.expect(200)["address"].clone();
    assert_eq!(address, "http://127.0.3.7:8200", "the leader's address is the cluster's");
    let listed = app.get(&format!("/v1/orgs/{org}/clusters"), &owner.token).await;
    assert!(listed.text.contains("http://127.0.3.7:8200"), "{}", listed.text);

    // Bad reports are refused and change nothing.
    for bad in ["ftp://x", "http://u:p@host", "http://h/path", "http://h//", ""] {
        app.post("/v1/nodes/heartbeat", &leader.credential, &heartbeat_body(bad, true))
            .await
            .expect_error(400, "invalid_argument");
    }
    let address = app.get(&cluster_path, &owner.token).await.expect(200)["address"].clone();
    assert_eq!(address, "http://127.0.3.7:8200");

    // Silence: unhealthy after MISSED_BEATS_UNHEALTHY (3) intervals of 1 s, while the follower
    // keeps beating and stays healthy.
    let path = nodes_path.clone();
    until("the silent leader to turn unhealthy", Duration::from_secs(15), || {
        let (app, path, token, follower) = (&app, &path, &viewer.token, &follower);
        async move {
            app.post(
                "/v1/nodes/heartbeat",
                &follower.credential,
                &heartbeat_body("http://127.0.3.8:8200", false),
            )
            .await
            .expect(200);
            let nodes = app.get(path, token).await.expect(200)["nodes"].clone();
            assert_eq!(nodes[1]["healthy"], true, "the beating follower: {nodes}");
            nodes[0]["healthy"] == false
        }
    })
    .await;
}
