//! Token store over HTTP: creation rules, lookups, accessors, child revocation, use limits and
//! TTL expiry.

#![allow(clippy::unwrap_used)]
mod common;

use common::{eventually, TestServer};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

async fn create(s: &TestServer, token: &str, body: serde_json::Value) -> (String, String) {
    let (st, v) = s.call("POST", "auth/token/create", Some(token), Some(body)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let a = &v["auth"];
    (a["client_token"].as_str().unwrap().to_owned(), a["accessor"].as_str().unwrap().to_owned())
}

async fn alive(s: &TestServer, token: &str) -> bool {
    s.call("GET", "auth/token/lookup-self", Some(token), None).await.0 == StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_lookup_and_accessor() {
    let s = TestServer::dev().await;
    let (st, v) = s
        .root(
            "POST",
            "auth/token/create",
            Some(json!({"policies": ["b", "a"], "ttl": "1h", "meta": {"k": "v"}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let auth = &v["auth"];
    assert_eq!(auth["policies"], json!(["a", "b", "default"]));
    assert_eq!(auth["lease_duration"], 3600);
    let token = auth["client_token"].as_str().unwrap();
    assert!(token.starts_with("hvs."));
    let accessor = auth["accessor"].as_str().unwrap();

    let (_, me) = s.call("GET", "auth/token/lookup-self", Some(token), None).await;
    assert_eq!(me["data"]["id"], token);
    assert_eq!(me["data"]["meta"], json!({"k": "v"}));
    let (_, by_acc) =
        s.root("POST", "auth/token/lookup-accessor", Some(json!({"accessor": accessor}))).await;
    assert_eq!(by_acc["data"]["id"], "", "accessor lookup must not reveal the token");
    assert_eq!(by_acc["data"]["accessor"], accessor);

    let (st, _) =
        s.root("POST", "auth/token/revoke-accessor", Some(json!({"accessor": accessor}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(!alive(&s, token).await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_are_revoked_with_parent_but_orphans_survive() {
    let s = TestServer::dev().await;
    let (st, _) = s
        .root(
            "PUT",
            "sys/policies/acl/creator",
            Some(json!({"policy": "path \"auth/token/create*\" { capabilities = [\"update\"] }"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (parent, _) = create(&s, "root", json!({"policies": ["creator"], "ttl": "1h"})).await;
    let (child, _) = create(&s, &parent, json!({"ttl": "1h"})).await;
    let (grandchild, _) = create(&s, &child, json!({"ttl": "1h"})).await;
    let (orphan, _) = {
        let (st, v) =
            s.call("POST", "auth/token/create-orphan", Some(&parent), Some(json!({}))).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["auth"]["orphan"], true);
        (v["auth"]["client_token"].as_str().unwrap().to_owned(), ())
    };
    // A child cannot gain policies its parent lacks.
    let (st, v) = s
        .call("POST", "auth/token/create", Some(&parent), Some(json!({"policies": ["other"]})))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");

    let (st, _) = s.root("POST", "auth/token/revoke", Some(json!({"token": parent}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for (t, expect) in [(&parent, false), (&child, false), (&grandchild, false), (&orphan, true)] {
        assert_eq!(alive(&s, t).await, expect);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_expiry_and_use_limits() {
    let s = TestServer::dev().await;
    let (short, _) =
        create(&s, "root", json!({"policies": ["default"], "ttl": "1s", "renewable": false})).await;
    eventually("token expiry", Duration::from_secs(10), || async { !alive(&s, &short).await })
        .await;

    let (limited, _) = create(&s, "root", json!({"policies": ["default"], "num_uses": 2})).await;
    assert!(alive(&s, &limited).await);
    assert!(alive(&s, &limited).await);
    assert!(!alive(&s, &limited).await, "third use must be refused");

    let (renewable, _) = create(
        &s,
        "root",
        json!({"policies": ["default"], "ttl": "10m", "explicit_max_ttl": "20m"}),
    )
    .await;
    let (st, v) = s
        .root("POST", "auth/token/renew", Some(json!({"token": renewable, "increment": "10h"})))
        .await;
    assert_eq!(st, StatusCode::OK);
    let granted = v["auth"]["lease_duration"].as_u64().unwrap();
    assert!(granted > 0 && granted <= 1200, "renewal capped by explicit_max_ttl, got {granted}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_ids_are_not_stored_in_plaintext() {
    let s = TestServer::dev().await;
    let (token, accessor) = create(&s, "root", json!({"policies": ["default"]})).await;
    // Walk the whole token store through the barrier: neither keys nor values hold the id.
    let barrier = &s.core.barrier;
    let mut stack = vec!["sys/token/".to_owned()];
    let mut seen = 0;
    while let Some(prefix) = stack.pop() {
        for k in barrier.list(&prefix).unwrap() {
            let full = format!("{prefix}{k}");
            assert!(!full.contains(&token) && !full.contains(&accessor), "key {full} leaks");
            if k.ends_with('/') {
                stack.push(full);
            } else if let Some(v) = barrier.get(&full).unwrap() {
                seen += 1;
                assert!(
                    !String::from_utf8_lossy(&v).contains(&token),
                    "value at {full} holds the id"
                );
            }
        }
    }
    assert!(seen >= 3, "expected entries for both tokens, saw {seen}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_roles_bound_policies_and_shape() {
    let s = TestServer::dev().await;
    let (st, _) = s
        .root(
            "POST",
            "auth/token/roles/app",
            Some(json!({"allowed_policies": ["a", "b"], "disallowed_policies": "c", "orphan": true, "token_period": "1h"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, r) = s.root("GET", "auth/token/roles/app", None).await;
    assert_eq!(r["data"]["allowed_policies"], json!(["a", "b"]));
    // (requested policies, expected status)
    for (pols, expect) in
        [(json!(["a"]), 200), (json!(["a", "b"]), 200), (json!(["x"]), 400), (json!(["c"]), 400)]
    {
        let (st, v) =
            s.root("POST", "auth/token/create/app", Some(json!({"policies": pols}))).await;
        assert_eq!(st.as_u16(), expect, "{pols}: {v}");
        if expect == 200 {
            assert_eq!(v["auth"]["orphan"], true);
            assert_eq!(v["auth"]["lease_duration"], 3600, "periodic token");
            let t = v["auth"]["client_token"].as_str().unwrap();
            let (_, l) = s.root("POST", "auth/token/lookup", Some(json!({"token": t}))).await;
            assert_eq!(
                (l["data"]["role"].as_str(), l["data"]["path"].as_str()),
                (Some("app"), Some("auth/token/create/app"))
            );
        }
    }
    let (_, list) = s.root("LIST", "auth/token/roles", None).await;
    assert_eq!(list["data"]["keys"], json!(["app"]));
    assert_eq!(s.root("DELETE", "auth/token/roles/app", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.root("GET", "auth/token/roles/app", None).await.0, StatusCode::NOT_FOUND);
    s.stop().await;
}
