//! Response wrapping end to end: X-Vault-Wrap-TTL on any request, unwrap (body token or the
//! wrapping token itself), single use under concurrency, lookup, rewrap, expiry, and policy
//! min/max wrapping TTL bounds.

#![allow(clippy::unwrap_used)]
mod common;

use common::{eventually, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// Sends a request with an X-Vault-Wrap-TTL header.
async fn wrapped(
    s: &TestServer,
    method: &str,
    path: &str,
    token: &str,
    ttl: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = s
        .http
        .request(m, format!("{}{}", s.base, path))
        .header("X-Vault-Token", token)
        .header("X-Vault-Wrap-TTL", ttl);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    let st = resp.status();
    let text = resp.text().await.unwrap();
    (st, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

async fn unwrap(s: &TestServer, token: &str) -> (StatusCode, Value) {
    s.root("PUT", "sys/wrapping/unwrap", Some(json!({ "token": token }))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrap_a_token_creation_and_unwrap_once() {
    let s = TestServer::dev().await;
    let body = json!({"policies": ["default"], "ttl": "10m"});
    let (st, v) = wrapped(&s, "POST", "auth/token/create", "root", "60s", Some(body)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!((v["auth"].clone(), v["data"].clone()), (Value::Null, Value::Null));
    let info = &v["wrap_info"];
    assert_eq!(info["ttl"], json!(60));
    assert_eq!(info["creation_path"], "auth/token/create");
    assert!(info["creation_time"].as_str().unwrap().contains('T'));
    assert!(!info["accessor"].as_str().unwrap().is_empty());
    assert!(!info["wrapped_accessor"].as_str().unwrap().is_empty());
    let wt = info["token"].as_str().unwrap().to_owned();

    // The wrapping token is no ordinary token: it cannot read anything.
    assert_eq!(s.call("GET", "secret/data/x", Some(&wt), None).await.0, StatusCode::FORBIDDEN);

    let (st, inner) = unwrap(&s, &wt).await;
    assert_eq!(st, StatusCode::OK, "{inner}");
    let token = inner["auth"]["client_token"].as_str().unwrap();
    assert_eq!(inner["auth"]["accessor"], info["wrapped_accessor"]);
    let (st, me) = s.call("GET", "auth/token/lookup-self", Some(token), None).await;
    assert_eq!((st, me["data"]["policies"].clone()), (StatusCode::OK, json!(["default"])));

    let (st, again) = unwrap(&s, &wt).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(again["errors"][0].as_str().unwrap().contains("wrapping token is not valid"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_reads_wrap_and_the_wrapping_token_unwraps_itself() {
    let s = TestServer::dev().await;
    s.root("PUT", "secret/data/app", Some(json!({"data": {"api_key": "abc123"}}))).await;
    let (st, v) = wrapped(&s, "GET", "secret/data/app", "root", "30", None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!v.to_string().contains("abc123"));
    assert_eq!(v["wrap_info"]["creation_path"], "secret/data/app");
    let wt = v["wrap_info"]["token"].as_str().unwrap();

    // Lookup needs no token and does not consume.
    let (st, look) = s.call("PUT", "sys/wrapping/lookup", None, Some(json!({"token": wt}))).await;
    assert_eq!(st, StatusCode::OK, "{look}");
    assert_eq!(look["data"]["creation_ttl"], json!(30));
    assert_eq!(look["data"]["creation_path"], "secret/data/app");

    // Unwrap presenting the wrapping token as X-Vault-Token, no body.
    let (st, inner) = s.call("PUT", "sys/wrapping/unwrap", Some(wt), None).await;
    assert_eq!(st, StatusCode::OK, "{inner}");
    assert_eq!(inner["data"]["data"]["api_key"], "abc123");
    let (st, _) = s.call("PUT", "sys/wrapping/lookup", None, Some(json!({"token": wt}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "gone after unwrap");

    // Responses with nothing to wrap (204) are not wrapped; a bad header is a 400.
    let body = Some(json!({"data": {"a": "b"}}));
    let (st, _) = wrapped(&s, "DELETE", "secret/data/app", "root", "30s", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = wrapped(&s, "PUT", "secret/data/y", "root", "soon", body).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrap_rewrap_and_concurrent_unwrap() {
    let s = TestServer::dev().await;
    let payload = json!({"db": "pass", "n": 3});
    let (st, v) =
        wrapped(&s, "POST", "sys/wrapping/wrap", "root", "300", Some(payload.clone())).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["wrap_info"]["creation_path"], "sys/wrapping/wrap");
    let old = v["wrap_info"]["token"].as_str().unwrap().to_owned();

    let (st, re) = s.root("POST", "sys/wrapping/rewrap", Some(json!({"token": old}))).await;
    assert_eq!(st, StatusCode::OK, "{re}");
    let new = re["wrap_info"]["token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(re["wrap_info"]["ttl"], json!(300));
    assert_eq!(unwrap(&s, &old).await.0, StatusCode::BAD_REQUEST, "rewrap retires the old token");

    // Many concurrent unwraps of one token: exactly one wins.
    let attempts = (0..8).map(|_| unwrap(&s, &new));
    let results = futures_join(attempts).await;
    let ok: Vec<&Value> =
        results.iter().filter(|(st, _)| *st == StatusCode::OK).map(|(_, v)| v).collect();
    assert_eq!(ok.len(), 1, "{results:?}");
    assert_eq!(ok[0]["data"], payload);
    assert!(results.iter().all(|(st, _)| *st == StatusCode::OK || *st == StatusCode::BAD_REQUEST));
    s.stop().await;
}

/// Polls all futures concurrently on the current task (no extra crates needed).
async fn futures_join<F: std::future::Future<Output = (StatusCode, Value)>>(
    futs: impl Iterator<Item = F>,
) -> Vec<(StatusCode, Value)> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<(StatusCode, Value)>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrapping_tokens_expire() {
    let s = TestServer::dev().await;
    let (_, v) =
        wrapped(&s, "POST", "sys/wrapping/wrap", "root", "1s", Some(json!({"k": "v"}))).await;
    let wt = v["wrap_info"]["token"].as_str().unwrap().to_owned();
    eventually("wrapping token expiry", Duration::from_secs(10), || async {
        let (st, _) = s.call("PUT", "sys/wrapping/lookup", None, Some(json!({"token": wt}))).await;
        st == StatusCode::BAD_REQUEST
    })
    .await;
    assert_eq!(unwrap(&s, &wt).await.0, StatusCode::BAD_REQUEST);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_wrapping_ttl_bounds() {
    let s = TestServer::dev().await;
    s.root("PUT", "secret/data/bounded", Some(json!({"data": {"v": "1"}}))).await;
    let policy = r#"path "secret/data/bounded" {
        capabilities = ["read"]
        min_wrapping_ttl = "1m"
        max_wrapping_ttl = "10m"
    }"#;
    let (st, _) = s.root("PUT", "sys/policies/acl/bounded", Some(json!({"policy": policy}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, t) = s.root("POST", "auth/token/create", Some(json!({"policies": ["bounded"]}))).await;
    let user = t["auth"]["client_token"].as_str().unwrap();

    // (wrap TTL header or none, expected status)
    let cases = [
        (None, StatusCode::FORBIDDEN),
        (Some("30s"), StatusCode::FORBIDDEN),
        (Some("11m"), StatusCode::FORBIDDEN),
        (Some("5m"), StatusCode::OK),
    ];
    for (ttl, want) in cases {
        let (st, v) = match ttl {
            None => s.call("GET", "secret/data/bounded", Some(user), None).await,
            Some(ttl) => wrapped(&s, "GET", "secret/data/bounded", user, ttl, None).await,
        };
        assert_eq!(st, want, "wrap ttl {ttl:?}: {v}");
        if st == StatusCode::OK {
            assert_eq!(v["wrap_info"]["ttl"], json!(300));
        }
    }
    s.stop().await;
}
