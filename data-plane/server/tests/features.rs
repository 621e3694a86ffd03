//! Feature round trips over HTTP: response wrapping, snapshot save/restore, transit, userpass and
//! approle logins, token leases, metrics.

#![allow(clippy::unwrap_used)]
mod common;

use base64::Engine as _;
use coffer_server::Config;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_wrapping_is_single_use() {
    let s = TestServer::dev().await;
    let resp = s
        .http
        .post(format!("{}sys/wrapping/wrap", s.base))
        .header("X-Vault-Token", "root")
        .header("X-Vault-Wrap-TTL", "2m")
        .json(&json!({"secret": "v"}))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["data"], Value::Null);
    assert_eq!(v["wrap_info"]["ttl"], 120);
    let wt = v["wrap_info"]["token"].as_str().unwrap().to_owned();
    let (st, looked) =
        s.call("POST", "sys/wrapping/lookup", None, Some(json!({"token": wt}))).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(looked["data"]["creation_path"], "sys/wrapping/wrap");
    let (st, out) = s.call("POST", "sys/wrapping/unwrap", Some(&wt), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(out["data"], json!({"secret": "v"}));
    let (st, _) = s.root("POST", "sys/wrapping/unwrap", Some(json!({"token": wt}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "second unwrap must fail");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_restore_rolls_back_and_rejects_garbage() {
    let s = TestServer::dev().await;
    s.root("POST", "secret/data/a", Some(json!({"data": {"v": "old"}}))).await;
    let snap = s
        .http
        .get(format!("{}sys/storage/raft/snapshot", s.base))
        .header("X-Vault-Token", "root")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    s.root("POST", "secret/data/a", Some(json!({"data": {"v": "new"}}))).await;
    let post = |body: Vec<u8>| {
        s.http
            .post(format!("{}sys/storage/raft/snapshot", s.base))
            .header("X-Vault-Token", "root")
            .body(body)
            .send()
    };
    let mut corrupt = snap.to_vec();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 1;
    for bad in [corrupt, b"junk".to_vec(), Vec::new()] {
        assert_eq!(post(bad).await.unwrap().status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(s.root("GET", "secret/data/a", None).await.1["data"]["data"]["v"], "new");
    assert_eq!(post(snap.to_vec()).await.unwrap().status(), StatusCode::NO_CONTENT);
    let (st, v) = s.root("GET", "secret/data/a", None).await;
    assert_eq!(st, StatusCode::OK, "still unsealed after restore");
    assert_eq!(v["data"]["data"]["v"], "old");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_round_trips_and_batches() {
    let s = TestServer::dev().await;
    s.root("POST", "sys/mounts/transit", Some(json!({"type": "transit"}))).await;
    for ty in ["aes256-gcm96", "chacha20-poly1305"] {
        let (st, _) =
            s.root("POST", &format!("transit/keys/{ty}"), Some(json!({"type": ty}))).await;
        assert_eq!(st, StatusCode::OK);
        let (_, ct) = s
            .root("POST", &format!("transit/encrypt/{ty}"), Some(json!({"plaintext": b64("hi")})))
            .await;
        let c = ct["data"]["ciphertext"].as_str().unwrap();
        assert!(c.starts_with("vault:v1:"));
        let (_, pt) =
            s.root("POST", &format!("transit/decrypt/{ty}"), Some(json!({"ciphertext": c}))).await;
        assert_eq!(pt["data"]["plaintext"], b64("hi"));
    }
    let (st, v) = s
        .root(
            "POST",
            "transit/decrypt/aes256-gcm96",
            Some(json!({"batch_input": [{"ciphertext": "vault:v1:AAAA"}]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a failed batch item is a partial failure");
    assert!(v["data"]["batch_results"][0]["error"].is_string());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userpass_and_approle_logins_issue_leased_tokens() {
    let s = TestServer::dev().await;
    s.root("POST", "sys/auth/up", Some(json!({"type": "userpass"}))).await;
    s.root(
        "POST",
        "auth/up/users/ann",
        Some(json!({"password": "pw", "token_policies": ["dev"], "token_ttl": "10m"})),
    )
    .await;
    let (st, v) =
        s.call("POST", "auth/up/login/ann", None, Some(json!({"password": "nope"}))).await;
    assert_eq!(
        (st, v["errors"][0].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid username or password"))
    );
    let (st, login) =
        s.call("POST", "auth/up/login/ann", None, Some(json!({"password": "pw"}))).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(login["auth"]["policies"], json!(["default", "dev"]));
    assert_eq!(login["auth"]["lease_duration"], 600);

    let (_, leases) = s.root("LIST", "sys/leases/lookup/auth/up/login/ann", None).await;
    let key = leases["data"]["keys"][0].as_str().unwrap().to_owned();
    let (st, _) = s
        .root(
            "PUT",
            "sys/leases/revoke",
            Some(json!({"lease_id": format!("auth/up/login/ann/{key}")})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let token = login["auth"]["client_token"].as_str().unwrap();
    assert_eq!(
        s.call("GET", "auth/token/lookup-self", Some(token), None).await.0,
        StatusCode::FORBIDDEN
    );

    s.root("POST", "sys/auth/ar", Some(json!({"type": "approle"}))).await;
    s.root(
        "POST",
        "auth/ar/role/ci",
        Some(json!({"token_policies": "deploy", "secret_id_num_uses": 1})),
    )
    .await;
    let (_, rid) = s.root("GET", "auth/ar/role/ci/role-id", None).await;
    let (_, sid) = s
        .root("POST", "auth/ar/role/ci/secret-id", Some(json!({"metadata": "{\"host\":\"h1\"}"})))
        .await;
    let body = json!({"role_id": rid["data"]["role_id"], "secret_id": sid["data"]["secret_id"]});
    let (st, login) = s.call("POST", "auth/ar/login", None, Some(body.clone())).await;
    assert_eq!(st, StatusCode::OK, "{login}");
    assert_eq!(login["auth"]["metadata"], json!({"role_name": "ci", "host": "h1"}));
    assert_eq!(
        s.call("POST", "auth/ar/login", None, Some(body)).await.0,
        StatusCode::BAD_REQUEST,
        "secret_id used up"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_in_prometheus_text() {
    let s = TestServer::start(Config::dev("127.0.0.1:0", Some("root".into())), "root".into()).await;
    s.root("GET", "auth/token/lookup-self", None).await;
    let text = s
        .http
        .get(format!("{}sys/metrics?format=prometheus", s.base))
        .header("X-Vault-Token", "root")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count: f64 = text
        .lines()
        .find(|l| l.starts_with("vault_core_handle_request_count "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(count >= 2.0, "{text}");
    assert!(text.contains("# TYPE vault_core_unsealed gauge"));
    assert_eq!(
        s.call("GET", "sys/metrics?format=bogus", Some("root"), None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(s.call("GET", "sys/metrics", None, None).await.0, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_bound_cidrs_are_enforced() {
    let s = TestServer::dev().await;
    s.root("POST", "sys/auth/up", Some(json!({"type": "userpass"}))).await;
    // (bound networks, login status from 127.0.0.1)
    for (cidrs, expect) in
        [(json!(["10.0.0.0/8"]), StatusCode::FORBIDDEN), (json!(["127.0.0.0/8"]), StatusCode::OK)]
    {
        s.root(
            "POST",
            "auth/up/users/u",
            Some(json!({"password": "pw", "token_bound_cidrs": cidrs})),
        )
        .await;
        let (st, v) =
            s.call("POST", "auth/up/login/u", None, Some(json!({"password": "pw"}))).await;
        assert_eq!(st, expect, "{cidrs}: {v}");
    }
    let (st, _) = s
        .root(
            "POST",
            "auth/up/users/bad",
            Some(json!({"password": "pw", "token_bound_cidrs": ["10.0.0.0/99"]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_auto_rotation_rotates_due_keys() {
    let s = TestServer::dev().await;
    s.root("POST", "sys/mounts/transit", Some(json!({"type": "transit"}))).await;
    s.root("POST", "transit/keys/due", Some(json!({"auto_rotate_period": "1h"}))).await;
    s.root("POST", "transit/keys/manual", Some(json!({}))).await;
    let mounts = s.core.mounts.snapshot();
    let rotate = |now| {
        coffer_server::engines::transit::rotation::rotate_due(
            &s.core.barrier,
            &s.core.transit,
            &mounts,
            now,
        )
    };
    let now = coffer_server::util::now_unix();
    assert_eq!(rotate(now).unwrap(), 0, "nothing is due yet");
    assert_eq!(rotate(now + 3601).unwrap(), 1, "only the key with a period rotates");
    let (_, k) = s.root("GET", "transit/keys/due", None).await;
    assert_eq!(k["data"]["latest_version"], 2);
    let (_, k) = s.root("GET", "transit/keys/manual", None).await;
    assert_eq!(k["data"]["latest_version"], 1);
    s.stop().await;
}
