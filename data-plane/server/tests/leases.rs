//! sys/leases against the leases this server issues (expiring tokens from auth methods and
//! token creation): list, lookup, revoke (and the sys/revoke alias), revoke-prefix, renew
//! refusal, sudo requirements, and leases disappearing with their tokens.

#![allow(clippy::unwrap_used)]
mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn login(s: &TestServer, mount: &str, user: &str) -> Value {
    let (st, v) = s
        .call("PUT", &format!("auth/{mount}/login/{user}"), None, Some(json!({"password": "pw"})))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["auth"].clone()
}

async fn valid(s: &TestServer, token: &str) -> bool {
    s.call("GET", "auth/token/lookup-self", Some(token), None).await.0 == StatusCode::OK
}

async fn keys(s: &TestServer, prefix: &str) -> (StatusCode, Vec<String>) {
    let (st, v) = s.root("LIST", &format!("sys/leases/lookup/{prefix}"), None).await;
    (st, serde_json::from_value(v["data"]["keys"].clone()).unwrap_or_default())
}

async fn setup() -> TestServer {
    let s = TestServer::dev().await;
    let (st, _) = s.root("POST", "sys/auth/up", Some(json!({"type": "userpass"}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for user in ["alice", "bob"] {
        let body = json!({"password": "pw", "token_policies": ["default"], "token_ttl": "20m"});
        let (st, _) = s.root("POST", &format!("auth/up/users/{user}"), Some(body)).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_lookup_and_revoke_login_leases() {
    let s = setup().await;
    let a1 = login(&s, "up", "alice").await;
    let a2 = login(&s, "up", "alice").await;
    let b = login(&s, "up", "bob").await;

    let (st, alice) = keys(&s, "auth/up/login/alice/").await;
    assert_eq!((st, alice.len()), (StatusCode::OK, 2));
    let (_, users) = keys(&s, "auth/up/login").await;
    assert_eq!(users, vec!["alice/", "bob/"], "folders, with or without the trailing slash");
    let (_, top) = keys(&s, "auth/").await;
    assert!(top.contains(&"up/".to_owned()), "{top:?}");

    for k in &alice {
        let id = format!("auth/up/login/alice/{k}");
        let (st, v) = s.root("PUT", "sys/leases/lookup", Some(json!({"lease_id": id}))).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let d = &v["data"];
        assert_eq!(d["id"], id.as_str());
        assert_eq!(d["renewable"], json!(true));
        let ttl = d["ttl"].as_u64().unwrap();
        assert!(ttl > 0 && ttl <= 1200, "ttl {ttl}");
        assert!(d["issue_time"].is_string() && d["expire_time"].is_string());
    }

    // Revoke one lease: exactly its token dies.
    let id = format!("auth/up/login/alice/{}", alice[0]);
    let (st, _) = s.root("PUT", "sys/leases/revoke", Some(json!({"lease_id": id}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let alive: Vec<bool> = vec![
        valid(&s, a1["client_token"].as_str().unwrap()).await,
        valid(&s, a2["client_token"].as_str().unwrap()).await,
    ];
    assert_eq!(alive.iter().filter(|x| **x).count(), 1, "{alive:?}");
    let (st, v) = s.root("PUT", "sys/leases/lookup", Some(json!({"lease_id": id}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    // Revoking an unknown lease is idempotent.
    let (st, _) = s.root("PUT", "sys/leases/revoke", Some(json!({"lease_id": id}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);

    // The legacy alias with the id in the path.
    let (_, rest) = keys(&s, "auth/up/login/alice/").await;
    let (st, _) = s.root("PUT", &format!("sys/revoke/auth/up/login/alice/{}", rest[0]), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(!valid(&s, a1["client_token"].as_str().unwrap()).await);
    assert!(!valid(&s, a2["client_token"].as_str().unwrap()).await);
    assert_eq!(keys(&s, "auth/up/login/alice/").await.0, StatusCode::NOT_FOUND);
    assert!(valid(&s, b["client_token"].as_str().unwrap()).await, "bob untouched");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_prefix_and_token_revocation_remove_leases() {
    let s = setup().await;
    let alice: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(login(&s, "up", "alice").await["client_token"].as_str().unwrap().to_owned());
        }
        v
    };
    let bob = login(&s, "up", "bob").await["client_token"].as_str().unwrap().to_owned();
    let (st, _) = s.root("PUT", "sys/leases/revoke-prefix/auth/up/login/alice", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for t in &alice {
        assert!(!valid(&s, t).await);
    }
    assert!(valid(&s, &bob).await, "a prefix is a directory: alice does not cover bob");

    // Revoking the token through auth/token removes its lease too.
    let (st, _) = s.root("PUT", "auth/token/revoke", Some(json!({"token": bob}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(keys(&s, "auth/up/login/").await.0, StatusCode::NOT_FOUND);

    // Tokens from auth/token/create with a TTL have leases; root tokens (no TTL) do not.
    let (_, c) = s.root("POST", "auth/token/create", Some(json!({"ttl": "1h"}))).await;
    let (st, created) = keys(&s, "auth/token/create/").await;
    assert_eq!((st, created.len()), (StatusCode::OK, 1));
    let (st, _) = s.root("PUT", "sys/leases/revoke-prefix/auth/token/create/", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(!valid(&s, c["auth"]["client_token"].as_str().unwrap()).await);
    assert!(valid(&s, "root").await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_refusal_unknown_leases_and_sudo() {
    let s = setup().await;
    let auth = login(&s, "up", "alice").await;
    let (_, k) = keys(&s, "auth/up/login/alice/").await;
    let id = format!("auth/up/login/alice/{}", k[0]);

    // Token leases renew through auth/token/renew*, never sys/leases/renew.
    let (st, v) =
        s.root("PUT", "sys/leases/renew", Some(json!({"lease_id": id, "increment": 60}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(!v["errors"][0].as_str().unwrap().is_empty());
    let token = auth["client_token"].as_str().unwrap();
    let (st, r) =
        s.call("PUT", "auth/token/renew-self", Some(token), Some(json!({"increment": 60}))).await;
    assert_eq!((st, r["auth"]["lease_duration"].clone()), (StatusCode::OK, json!(60)));
    let (_, look) = s.root("PUT", "sys/leases/lookup", Some(json!({"lease_id": id}))).await;
    assert!(look["data"]["ttl"].as_u64().unwrap() <= 60);

    // (lease id, expected status) for lookups of leases that do not exist.
    for bad in ["auth/token/create/does-not-exist", "nope", "auth/up/login/alice/../x", ""] {
        let (st, v) = s.root("PUT", "sys/leases/lookup", Some(json!({"lease_id": bad}))).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad:?}: {v}");
    }
    let (st, _) = s.root("PUT", "sys/leases/renew", Some(json!({"lease_id": "x/y"}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Listing and prefix revocation are sudo-only; lookups of a known id are not.
    let (_, t) = s.root("POST", "auth/token/create", Some(json!({"policies": ["default"]}))).await;
    let user = t["auth"]["client_token"].as_str().unwrap();
    let (st, _) = s.call("LIST", "sys/leases/lookup/auth/", Some(user), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s.call("PUT", "sys/leases/revoke-prefix/auth/up", Some(user), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(valid(&s, token).await);
    s.stop().await;
}
