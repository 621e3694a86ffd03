//! Seal lifecycle on a durable (redb) server: init with Shamir shares, threshold unseal,
//! sealed behaviour (503 for everything but the unauthenticated sys endpoints), health codes,
//! rotation keeping data readable.

#![allow(clippy::unwrap_used)]
mod common;

use coffer_server::Config;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn status(s: &TestServer, path: &str) -> u16 {
    s.call("GET", path, None, None).await.0.as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_unseal_seal_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TestServer::start(
        Config::with_storage("127.0.0.1:0", dir.path().to_owned()),
        String::new(),
    )
    .await;
    assert_eq!(status(&s, "sys/health").await, 501);
    assert_eq!(status(&s, "sys/health?uninitcode=299").await, 299);
    assert_eq!(s.call("GET", "sys/init", None, None).await.1, json!({"initialized": false}));

    // Invalid parameters are client errors: (shares, threshold)
    for (n, t) in [(0, 0), (3, 1), (2, 3), (256, 2)] {
        let (st, v) = s
            .call("PUT", "sys/init", None, Some(json!({"secret_shares": n, "secret_threshold": t})))
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "({n},{t}) -> {v}");
    }
    let (st, init) = s
        .call(
            "PUT",
            "sys/init",
            None,
            Some(json!({"secret_shares": 5, "secret_threshold": 3, "pgp_keys": null})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{init}");
    let keys: Vec<String> = serde_json::from_value(init["keys"].clone()).unwrap();
    let b64: Vec<String> = serde_json::from_value(init["keys_base64"].clone()).unwrap();
    assert_eq!(keys.len(), 5);
    s.root = init["root_token"].as_str().unwrap().to_owned();
    assert_eq!(status(&s, "sys/health").await, 503);
    assert_eq!(s.root("GET", "sys/mounts", None).await.0, StatusCode::SERVICE_UNAVAILABLE);

    let unseal = |k: String| json!({"key": k});
    let (_, st1) = s.call("PUT", "sys/unseal", None, Some(unseal(keys[0].clone()))).await;
    assert_eq!(
        (st1["sealed"].clone(), st1["progress"].clone(), st1["t"].clone()),
        (json!(true), json!(1), json!(3))
    );
    // The same share twice does not count twice.
    assert_eq!(
        s.call("PUT", "sys/unseal", None, Some(unseal(keys[0].clone()))).await.0,
        StatusCode::BAD_REQUEST
    );
    s.call("PUT", "sys/unseal", None, Some(unseal(b64[3].clone()))).await;
    let (_, st3) = s.call("PUT", "sys/unseal", None, Some(unseal(keys[4].clone()))).await;
    assert_eq!(st3["sealed"], false, "{st3}");
    assert_eq!(status(&s, "sys/health").await, 200);

    let (st, _) = s
        .root("POST", "sys/mounts/kv", Some(json!({"type": "kv", "options": {"version": "1"}})))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    s.root("PUT", "kv/a", Some(json!({"v": "1"}))).await;
    assert_eq!(s.root("PUT", "sys/rotate", None).await.0, StatusCode::NO_CONTENT);
    let (_, ks) = s.root("GET", "sys/key-status", None).await;
    assert_eq!(ks["data"]["term"], 2);
    s.root("PUT", "kv/b", Some(json!({"v": "2"}))).await;

    // A non-root token cannot seal.
    let (_, t) = s.root("POST", "auth/token/create", Some(json!({"policies": ["default"]}))).await;
    let weak = t["auth"]["client_token"].as_str().unwrap().to_owned();
    assert_eq!(s.call("PUT", "sys/seal", Some(&weak), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.root("PUT", "sys/seal", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.root("GET", "kv/a", None).await.0, StatusCode::SERVICE_UNAVAILABLE);
    let (_, ss) = s.call("GET", "sys/seal-status", None, None).await;
    assert_eq!((ss["sealed"].clone(), ss["initialized"].clone()), (json!(true), json!(true)));

    // A wrong key set fails and resets progress.
    for k in &keys[..2] {
        s.call("PUT", "sys/unseal", None, Some(unseal(k.clone()))).await;
    }
    let bogus = "00".repeat(33);
    assert_eq!(
        s.call("PUT", "sys/unseal", None, Some(unseal(bogus))).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(s.call("GET", "sys/seal-status", None, None).await.1["progress"], 0);

    for k in &keys[2..] {
        s.call("PUT", "sys/unseal", None, Some(unseal(k.clone()))).await;
    }
    for (key, want) in [("a", "1"), ("b", "2")] {
        let (st, v) = s.root("GET", &format!("kv/{key}"), None).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["data"]["v"], Value::from(want));
    }
    s.stop().await;
}
