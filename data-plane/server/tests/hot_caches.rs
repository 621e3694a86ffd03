//! The read path's caches (barrier plaintext, token entries, compiled ACLs, mount table) never
//! answer with stale state: each test warms them with repeated reads by a non-root token, then
//! changes the state through the API and expects the very next request to see the change.

#![allow(clippy::unwrap_used)]
mod common;

use coffer_server::Config;
use common::{eventually, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const READ_POLICY: &str = r#"path "secret/data/app/*" { capabilities = ["read"] }"#;

async fn policy(s: &TestServer, name: &str, text: &str) {
    let path = format!("sys/policies/acl/{name}");
    let (st, v) = s.root("PUT", &path, Some(json!({ "policy": text }))).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
}

async fn token(s: &TestServer, body: Value) -> String {
    let (st, t) = s.root("POST", "auth/token/create", Some(body)).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    t["auth"]["client_token"].as_str().unwrap().to_owned()
}

/// A KV v2 secret plus a token that may read it, with every cache warmed.
async fn warmed() -> (TestServer, String) {
    let s = TestServer::dev().await;
    policy(&s, "reader", READ_POLICY).await;
    let (st, v) = s.root("POST", "secret/data/app/db", Some(json!({"data": {"v": "1"}}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let t = token(&s, json!({"policies": ["reader"]})).await;
    for _ in 0..3 {
        assert_eq!(read(&s, &t).await, (StatusCode::OK, json!("1")));
    }
    (s, t)
}

async fn read(s: &TestServer, t: &str) -> (StatusCode, Value) {
    let (st, v) = s.call("GET", "secret/data/app/db", Some(t), None).await;
    (st, v["data"]["data"]["v"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_token_is_refused_at_once() {
    let (s, t) = warmed().await;
    let (st, _) = s.root("POST", "auth/token/revoke", Some(json!({ "token": t }))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(read(&s, &t).await.0, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narrowed_or_deleted_policy_applies_to_the_next_read() {
    let (s, t) = warmed().await;
    policy(&s, "reader", r#"path "secret/data/other/*" { capabilities = ["read"] }"#).await;
    assert_eq!(read(&s, &t).await.0, StatusCode::FORBIDDEN);
    policy(&s, "reader", READ_POLICY).await;
    assert_eq!(read(&s, &t).await.0, StatusCode::OK);
    assert_eq!(s.root("DELETE", "sys/policies/acl/reader", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(read(&s, &t).await.0, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_deletes_are_seen_by_the_next_read() {
    let (s, t) = warmed().await;
    s.root("POST", "secret/data/app/db", Some(json!({"data": {"v": "2"}}))).await;
    assert_eq!(read(&s, &t).await, (StatusCode::OK, json!("2")));
    s.root("PATCH", "secret/data/app/db", Some(json!({"data": {"v": "3"}}))).await;
    assert_eq!(read(&s, &t).await, (StatusCode::OK, json!("3")));
    assert_eq!(s.root("DELETE", "secret/data/app/db", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(read(&s, &t).await.0, StatusCode::NOT_FOUND);
    s.root("POST", "secret/undelete/app/db", Some(json!({"versions": [3]}))).await;
    assert_eq!(read(&s, &t).await, (StatusCode::OK, json!("3")));
    s.root("POST", "secret/destroy/app/db", Some(json!({"versions": [3]}))).await;
    assert_eq!(read(&s, &t).await.0, StatusCode::NOT_FOUND);
    s.root("POST", "secret/data/app/db", Some(json!({"data": {"v": "4"}}))).await;
    assert_eq!(read(&s, &t).await, (StatusCode::OK, json!("4")));
    assert_eq!(s.root("DELETE", "secret/metadata/app/db", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(read(&s, &t).await.0, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmount_and_remount_are_seen_by_the_next_read() {
    let (s, t) = warmed().await;
    let (st, v) =
        s.root("POST", "sys/remount", Some(json!({"from": "secret", "to": "moved"}))).await;
    assert!(st.is_success(), "{st} {v}");
    assert_ne!(read(&s, &t).await.0, StatusCode::OK);
    let (st, v) = s.root("GET", "moved/data/app/db", None).await;
    assert_eq!((st, v["data"]["data"]["v"].clone()), (StatusCode::OK, json!("1")));
    assert_eq!(s.root("DELETE", "sys/mounts/moved", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.root("GET", "moved/data/app/db", None).await.0, StatusCode::NOT_FOUND);
    // A fresh mount at the old path starts empty: no cached data from the old mount leaks in.
    let kv2 = json!({"type": "kv", "options": {"version": "2"}});
    assert_eq!(s.root("POST", "sys/mounts/secret", Some(kv2)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(read(&s, &t).await.0, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_limited_tokens_count_every_cached_read() {
    let s = TestServer::dev().await;
    policy(&s, "reader", READ_POLICY).await;
    s.root("POST", "secret/data/app/db", Some(json!({"data": {"v": "1"}}))).await;
    let t = token(&s, json!({"policies": ["reader"], "num_uses": 3})).await;
    for i in 0..3 {
        assert_eq!(read(&s, &t).await.0, StatusCode::OK, "use {i}");
    }
    assert_eq!(read(&s, &t).await.0, StatusCode::FORBIDDEN, "a fourth use must be refused");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_refused_although_cached() {
    let s = TestServer::dev().await;
    policy(&s, "reader", READ_POLICY).await;
    s.root("POST", "secret/data/app/db", Some(json!({"data": {"v": "1"}}))).await;
    let t = token(&s, json!({"policies": ["reader"], "ttl": "2s", "renewable": false})).await;
    assert_eq!(read(&s, &t).await.0, StatusCode::OK);
    // The entry stays in the token cache; expiry is checked on every request.
    let refused = || async { read(&s, &t).await.0 == StatusCode::FORBIDDEN };
    eventually("cached token expiry", std::time::Duration::from_secs(10), refused).await;
    s.stop().await;
}

/// Sealing drops every cache: reads answer 503 at once, and after unsealing they are served
/// from storage again (and still see writes made before the seal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_server_answers_503_at_once_and_reads_again_after_unseal() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::with_storage("127.0.0.1:0", dir.path().to_owned());
    let mut s = TestServer::start(cfg, String::new()).await;
    let init = json!({"secret_shares": 1, "secret_threshold": 1});
    let (_, init) = s.call("PUT", "sys/init", None, Some(init)).await;
    let key = init["keys"][0].as_str().unwrap().to_owned();
    s.root = init["root_token"].as_str().unwrap().to_owned();
    s.call("PUT", "sys/unseal", None, Some(json!({ "key": key }))).await;
    let kv2 = json!({"type": "kv", "options": {"version": "2"}});
    assert_eq!(s.root("POST", "sys/mounts/secret", Some(kv2)).await.0, StatusCode::NO_CONTENT);
    policy(&s, "reader", READ_POLICY).await;
    s.root("POST", "secret/data/app/db", Some(json!({"data": {"v": "1"}}))).await;
    let t = token(&s, json!({"policies": ["reader"]})).await;
    for _ in 0..3 {
        assert_eq!(read(&s, &t).await, (StatusCode::OK, json!("1")));
    }
    assert_eq!(s.root("PUT", "sys/seal", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(read(&s, &t).await.0, StatusCode::SERVICE_UNAVAILABLE);
    s.call("PUT", "sys/unseal", None, Some(json!({ "key": key }))).await;
    assert_eq!(read(&s, &t).await, (StatusCode::OK, json!("1")));
    s.stop().await;
}
