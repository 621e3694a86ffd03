//! KV v2 semantics over HTTP: versions, check-and-set, soft delete / undelete / destroy,
//! merge-patch, metadata and max_versions, subkeys, listing.

#![allow(clippy::unwrap_used)]
mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn put(s: &TestServer, key: &str, body: Value) -> (StatusCode, Value) {
    s.root("POST", &format!("secret/data/{key}"), Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_cas_delete_undelete_destroy() {
    let s = TestServer::dev().await;
    for i in 1..=3 {
        let (st, v) = put(&s, "app", json!({"data": {"n": i}})).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["data"]["version"], i);
    }
    // check-and-set: (cas, expected status)
    for (cas, expect) in [(json!(1), 400), (json!(0), 400), (json!(3), 200), (json!("4"), 200)] {
        let (st, v) = put(&s, "app", json!({"options": {"cas": cas}, "data": {"n": 9}})).await;
        assert_eq!(st.as_u16(), expect, "cas {cas}: {v}");
    }
    let (st, v) = s.root("GET", "secret/data/app?version=2", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["data"]["data"], json!({"n": 2}));

    let (st, _) = s.root("DELETE", "secret/data/app", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = s.root("GET", "secret/data/app", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_ne!(v["data"]["metadata"]["deletion_time"], "", "deleted read shows metadata");

    let (st, _) = s.root("POST", "secret/undelete/app", Some(json!({"versions": [5]}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(s.root("GET", "secret/data/app", None).await.0, StatusCode::OK);

    let (st, _) = s.root("PUT", "secret/destroy/app", Some(json!({"versions": [1, 2]}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, meta) = s.root("GET", "secret/metadata/app", None).await;
    assert_eq!(meta["data"]["versions"]["1"]["destroyed"], true);
    assert_eq!(meta["data"]["current_version"], 5);
    let (st, _) = s.root("POST", "secret/undelete/app", Some(json!({"versions": [1]}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(s.root("GET", "secret/data/app?version=1", None).await.0, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_metadata_subkeys_and_list() {
    let s = TestServer::dev().await;
    put(&s, "dir/a", json!({"data": {"user": "u", "nested": {"x": 1, "y": 2}}})).await;
    put(&s, "dir/sub/b", json!({"data": {"k": "v"}})).await;
    let (st, _) = s
        .root(
            "PATCH",
            "secret/data/dir/a",
            Some(json!({"data": {"user": null, "nested": {"y": 3}, "new": true}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, v) = s.root("GET", "secret/data/dir/a", None).await;
    assert_eq!(v["data"]["data"], json!({"nested": {"x": 1, "y": 3}, "new": true}));
    assert_eq!(v["data"]["metadata"]["version"], 2);
    assert_eq!(
        s.root("PATCH", "secret/data/missing", Some(json!({"data": {"a": 1}}))).await.0,
        StatusCode::NOT_FOUND
    );

    let (_, v) = s.root("GET", "secret/subkeys/dir/a", None).await;
    assert_eq!(v["data"]["subkeys"], json!({"nested": {"x": null, "y": null}, "new": null}));

    let (_, v) = s.root("LIST", "secret/metadata/dir", None).await;
    assert_eq!(v["data"]["keys"], json!(["a", "sub/"]));
    let (_, v) = s.root("GET", "secret/metadata/dir/?list=true", None).await;
    assert_eq!(v["data"]["keys"], json!(["a", "sub/"]));
    assert_eq!(s.root("LIST", "secret/metadata/nothing-here", None).await.0, StatusCode::NOT_FOUND);

    let (st, _) = s
        .root(
            "POST",
            "secret/metadata/dir/a",
            Some(json!({"max_versions": 1, "custom_metadata": {"o": "p"}, "cas_required": true})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, m) = s.root("GET", "secret/metadata/dir/a", None).await;
    assert_eq!(m["data"]["versions"].as_object().unwrap().len(), 1, "pruned to max_versions");
    assert_eq!(m["data"]["custom_metadata"], json!({"o": "p"}));
    assert_eq!(
        put(&s, "dir/a", json!({"data": {}})).await.0,
        StatusCode::BAD_REQUEST,
        "cas required"
    );

    let (st, _) = s.root("DELETE", "secret/metadata/dir/a", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(s.root("GET", "secret/data/dir/a", None).await.0, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mount_config_max_versions_and_cas() {
    let s = TestServer::dev().await;
    let (st, _) = s
        .root("POST", "secret/config", Some(json!({"max_versions": 2, "cas_required": false})))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, c) = s.root("GET", "secret/config", None).await;
    assert_eq!(c["data"]["max_versions"], 2);
    for i in 0..4 {
        put(&s, "k", json!({"data": {"i": i}})).await;
    }
    let (_, m) = s.root("GET", "secret/metadata/k", None).await;
    let versions: Vec<&String> = m["data"]["versions"].as_object().unwrap().keys().collect();
    assert_eq!(versions, vec!["3", "4"]);
    assert_eq!(m["data"]["oldest_version"], 3);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_v1_mount_upgrades_to_v2_keeping_data() {
    let s = TestServer::dev().await;
    s.root("POST", "sys/mounts/old", Some(json!({"type": "kv", "options": {"version": "1"}})))
        .await;
    for (k, v) in [("a", "1"), ("dir/b", "2")] {
        s.root("PUT", &format!("old/{k}"), Some(json!({"v": v}))).await;
    }
    let (st, _) =
        s.root("POST", "sys/mounts/old/tune", Some(json!({"options": {"version": "2"}}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for (k, v) in [("a", "1"), ("dir/b", "2")] {
        let (st, got) = s.root("GET", &format!("old/data/{k}"), None).await;
        assert_eq!(st, StatusCode::OK, "{k}: {got}");
        assert_eq!(got["data"]["data"]["v"], v);
        assert_eq!(got["data"]["metadata"]["version"], 1);
    }
    let (_, list) = s.root("LIST", "old/metadata/", None).await;
    assert_eq!(list["data"]["keys"], json!(["a", "dir/"]));
    let (st, _) =
        s.root("POST", "sys/mounts/old/tune", Some(json!({"options": {"version": "1"}}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "no downgrade");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remount_moves_a_mount_with_its_data() {
    let s = TestServer::dev().await;
    s.root("POST", "secret/data/k", Some(json!({"data": {"v": "1"}}))).await;
    let (st, v) =
        s.root("POST", "sys/remount", Some(json!({"from": "secret", "to": "moved"}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(s.root("GET", "secret/data/k", None).await.0, StatusCode::NOT_FOUND);
    let (_, got) = s.root("GET", "moved/data/k", None).await;
    assert_eq!(got["data"]["data"]["v"], "1");
    // (from, to, expected status)
    for (from, to, expect) in
        [("sys", "x", 400), ("moved", "sys/x", 400), ("nope", "y", 400), ("moved", "auth/z", 400)]
    {
        let (st, v) = s.root("POST", "sys/remount", Some(json!({"from": from, "to": to}))).await;
        assert_eq!(st.as_u16(), expect, "{from} -> {to}: {v}");
    }
    let (_, ui) = s.root("GET", "sys/internal/ui/mounts/moved/data/k", None).await;
    assert_eq!(ui["data"]["path"], "moved/");
    s.stop().await;
}
