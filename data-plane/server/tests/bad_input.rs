//! Malformed and hostile input gets a 4xx with Vault's `{"errors": [...]}`, never a 500 —
//! including traversal attempts sent as raw bytes (HTTP clients would normalise them away).

#![allow(clippy::unwrap_used)]
mod common;

use coffer_server::Config;
use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends a raw HTTP/1.1 request and returns (status, body).
async fn raw(s: &TestServer, method: &str, target: &str, body: &str) -> (u16, String) {
    let addr = s.base.trim_start_matches("http://").trim_end_matches("/v1/").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\nX-Vault-Token: root\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    conn.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_client_errors() {
    let mut cfg = Config::dev("127.0.0.1:0", Some("root".into()));
    cfg.listeners[0].max_request_size = 4096;
    let s = TestServer::start(cfg, "root".into()).await;
    let big = format!("{{\"data\":{{\"x\":\"{}\"}}}}", "a".repeat(8192));
    // (method, target, body, expected status)
    let cases: &[(&str, &str, &str, u16)] = &[
        ("POST", "/v1/secret/data/x", "{bad", 400),
        ("POST", "/v1/secret/data/x", "[1,2]", 400),
        ("POST", "/v1/secret/data/x", "\"str\"", 400),
        ("POST", "/v1/secret/data/x", r#"{"data":"notobj"}"#, 400),
        ("POST", "/v1/secret/data/x", r#"{"data":null}"#, 400),
        ("POST", "/v1/secret/data/x", r#"{"data":{"a":1},"options":{"cas":"abc"}}"#, 400),
        ("POST", "/v1/secret/data/x", r#"{"data":{"a":1},"options":null}"#, 200),
        ("POST", "/v1/secret/data/x", &big, 413),
        ("POST", "/v1/auth/token/create", r#"{"ttl":[1]}"#, 400),
        ("POST", "/v1/auth/token/create", r#"{"ttl":"forever"}"#, 400),
        ("POST", "/v1/auth/token/create", r#"{"ttl":null,"policies":null,"meta":null}"#, 200),
        ("POST", "/v1/auth/token/create", r#"{"num_uses":-1}"#, 400),
        // Absurd TTLs saturate instead of overflowing.
        ("POST", "/v1/auth/token/create", r#"{"ttl":"99999999999999999999s"}"#, 200),
        (
            "POST",
            "/v1/auth/token/create",
            r#"{"ttl":18446744073709551615,"explicit_max_ttl":18446744073709551615}"#,
            200,
        ),
        ("POST", "/v1/sys/mounts/m1", r#"{"type":5}"#, 400),
        ("POST", "/v1/sys/mounts/m2", r#"{"type":"nope"}"#, 400),
        (
            "POST",
            "/v1/sys/policies/acl/p",
            r#"{"policy":"path \"x\" { capabilities = [\"fly\"] }"}"#,
            400,
        ),
        ("GET", "/v1/sys/health?sealedcode=abc", "", 400),
        ("GET", "/v1/secret/../sys/mounts", "", 400),
        ("GET", "/v1/secret/%2e%2e/sys/mounts", "", 400),
        ("GET", "/v1/secret//data/x", "", 400),
        ("GET", "/v1/secret/data/a%00b", "", 400),
        ("GET", "/v1/secret/data/%ff", "", 400),
        ("FOO", "/v1/secret/data/x", "", 405),
        ("GET", "/v1/nothing/mounted/here", "", 404),
        ("GET", "/v2/anything", "", 404),
        ("PUT", "/v1/sys/init", r#"{"secret_shares":1,"secret_threshold":1}"#, 400),
    ];
    for (method, target, body, expect) in cases {
        let (status, text) = raw(&s, method, target, body).await;
        assert_eq!(status, *expect, "{method} {target} {body:.60} -> {text}");
        if status >= 400 {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            assert!(v["errors"].is_array(), "{method} {target}: no errors array in {text}");
        }
    }
    // Tokens are accepted as a Bearer header too; a bad token is 403.
    let url = format!("{}sys/mounts", s.base);
    let ok = s.http.get(&url).bearer_auth("root").send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let bad = s.http.get(&url).bearer_auth("hvs.nope").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 403);
    s.stop().await;
}
