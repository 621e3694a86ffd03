//! sys/generate-root (Vault's OTP flow): start an attempt, submit unseal key shares with the
//! nonce, decode `encoded_token` with the OTP, and use the new root token. Also the refusals:
//! double start, wrong nonce, duplicate share, bad OTP, shares of another cluster, cancel,
//! sealed server.

#![allow(clippy::unwrap_used)]
mod common;

use base64::Engine as _;
use coffer_server::Config;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ATTEMPT: &str = "sys/generate-root/attempt";
const UPDATE: &str = "sys/generate-root/update";

/// An initialised, unsealed server with `n` shares and threshold `t`; returns the hex keys.
async fn server(n: u8, t: u8) -> (TestServer, Vec<String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TestServer::start(
        Config::with_storage("127.0.0.1:0", dir.path().to_owned()),
        String::new(),
    )
    .await;
    let (st, init) = s
        .call("PUT", "sys/init", None, Some(json!({"secret_shares": n, "secret_threshold": t})))
        .await;
    assert_eq!(st, StatusCode::OK, "{init}");
    let keys: Vec<String> = serde_json::from_value(init["keys"].clone()).unwrap();
    s.root = init["root_token"].as_str().unwrap().to_owned();
    for k in keys.iter().take(usize::from(t)) {
        let (st, _) = s.call("PUT", "sys/unseal", None, Some(json!({ "key": k }))).await;
        assert_eq!(st, StatusCode::OK);
    }
    (s, keys, dir)
}

/// Vault's decoding (`vault operator generate-root -decode`): unpadded base64, then XOR.
fn decode(encoded: &str, otp: &str) -> String {
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded).unwrap();
    assert_eq!(raw.len(), otp.len());
    String::from_utf8(raw.iter().zip(otp.bytes()).map(|(a, b)| a ^ b).collect()).unwrap()
}

async fn put(s: &TestServer, path: &str, body: Value) -> (StatusCode, Value) {
    s.call("PUT", path, None, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_flow_mints_a_working_root_token() {
    let (s, keys, _dir) = server(3, 2).await;
    let (st, status) = s.call("GET", ATTEMPT, None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(status["started"], json!(false));
    assert_eq!(status["required"], json!(2));
    assert_eq!(status["otp_length"], json!(28));

    let (st, started) = put(&s, ATTEMPT, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{started}");
    assert_eq!(started["started"], json!(true));
    assert_eq!(started["progress"], json!(0));
    let otp = started["otp"].as_str().unwrap().to_owned();
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    assert_eq!(otp.len(), 28);
    assert!(!nonce.is_empty());
    // The OTP is shown once only; status never repeats it.
    let (_, again) = s.call("GET", ATTEMPT, None, None).await;
    assert_eq!((again["nonce"].as_str(), again.get("otp")), (Some(nonce.as_str()), None));

    // Only one attempt at a time.
    assert_eq!(put(&s, ATTEMPT, json!({})).await.0, StatusCode::BAD_REQUEST);
    // Nonce must match.
    let (st, _) = put(&s, UPDATE, json!({"key": keys[0], "nonce": "wrong"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let (st, p1) = put(&s, UPDATE, json!({"key": keys[0], "nonce": nonce})).await;
    assert_eq!(st, StatusCode::OK, "{p1}");
    assert_eq!((p1["progress"].clone(), p1["complete"].clone()), (json!(1), json!(false)));
    assert_eq!(p1["encoded_token"], json!(""));
    // The same share does not count twice.
    let (st, _) = put(&s, UPDATE, json!({"key": keys[0], "nonce": nonce})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Shares are accepted in base64 as well as hex.
    let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&keys[2]).unwrap());
    let (st, done) = put(&s, UPDATE, json!({"key": b64, "nonce": nonce})).await;
    assert_eq!(st, StatusCode::OK, "{done}");
    assert_eq!(done["complete"], json!(true));
    let encoded = done["encoded_token"].as_str().unwrap();
    assert_eq!(done["encoded_root_token"].as_str(), Some(encoded));
    let token = decode(encoded, &otp);
    assert!(token.starts_with("hvs."), "decoded token looks like a token");
    assert_ne!(token, s.root, "a new token, not the initial root token");

    let (st, me) = s.call("GET", "auth/token/lookup-self", Some(&token), None).await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_eq!(me["data"]["policies"], json!(["root"]));
    assert_eq!(me["data"]["ttl"], json!(0));
    let (st, _) = s.call("GET", "sys/mounts", Some(&token), None).await;
    assert_eq!(st, StatusCode::OK);

    // The attempt is over.
    let (_, after) = s.call("GET", ATTEMPT, None, None).await;
    assert_eq!((after["started"].clone(), after["progress"].clone()), (json!(false), json!(0)));
    let (st, _) = put(&s, UPDATE, json!({"key": keys[1], "nonce": nonce})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_supplied_otp_and_start_validation() {
    let (s, keys, _dir) = server(1, 1).await;
    // (body, expected status) for starting an attempt.
    let cases = [
        (json!({"otp": "too-short"}), StatusCode::BAD_REQUEST),
        (json!({"pgp_key": "bWVvdw=="}), StatusCode::BAD_REQUEST),
        (json!({"otp": 28}), StatusCode::BAD_REQUEST),
    ];
    for (body, want) in cases {
        let (st, v) = put(&s, ATTEMPT, body.clone()).await;
        assert_eq!(st, want, "{body} -> {v}");
    }
    let otp = "ABCDEFGHIJKLMNOPQRSTUVWXYZ01";
    let (st, started) = put(&s, ATTEMPT, json!({"otp": otp, "pgp_key": null})).await;
    assert_eq!(st, StatusCode::OK, "{started}");
    assert!(started.get("otp").is_none(), "a supplied OTP is not echoed");
    let nonce = started["nonce"].as_str().unwrap();
    // Threshold 1: the single share completes it.
    let (st, done) = put(&s, UPDATE, json!({"key": keys[0], "nonce": nonce})).await;
    assert_eq!(st, StatusCode::OK, "{done}");
    let token = decode(done["encoded_token"].as_str().unwrap(), otp);
    let (st, _) = s.call("GET", "auth/token/lookup-self", Some(&token), None).await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_foreign_shares() {
    let (s, keys, _dir) = server(3, 2).await;
    let (_, other_keys, _other_dir) = server(3, 2).await;

    let (_, started) = put(&s, ATTEMPT, json!({})).await;
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    put(&s, UPDATE, json!({"key": keys[0], "nonce": nonce})).await;
    let (st, body) = s.call("DELETE", ATTEMPT, None, None).await;
    assert_eq!((st, body), (StatusCode::NO_CONTENT, Value::Null));
    let (_, status) = s.call("GET", ATTEMPT, None, None).await;
    assert_eq!(status["started"], json!(false));
    let (st, _) = put(&s, UPDATE, json!({"key": keys[1], "nonce": nonce})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "cancelled attempts take no more shares");

    // A quorum of another cluster's shares: refused, attempt ended, nothing minted, and the
    // server keeps working with its own keys.
    let (_, started) = put(&s, ATTEMPT, json!({})).await;
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    put(&s, UPDATE, json!({"key": other_keys[0], "nonce": nonce})).await;
    let (st, v) = put(&s, UPDATE, json!({"key": other_keys[1], "nonce": nonce})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.get("encoded_token").is_none());
    let (_, status) = s.call("GET", ATTEMPT, None, None).await;
    assert_eq!(status["started"], json!(false));
    let (st, _) = s.root("GET", "sys/mounts", None).await;
    assert_eq!(st, StatusCode::OK, "the barrier is still open with the right key");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealing_ends_the_attempt_and_sealed_servers_refuse() {
    let (s, keys, _dir) = server(3, 2).await;
    let (_, started) = put(&s, ATTEMPT, json!({})).await;
    assert_eq!(started["started"], json!(true));
    let (st, _) = s.root("PUT", "sys/seal", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(s.call("GET", ATTEMPT, None, None).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(put(&s, ATTEMPT, json!({})).await.0, StatusCode::SERVICE_UNAVAILABLE);
    for k in keys.iter().take(2) {
        put(&s, "sys/unseal", json!({ "key": k })).await;
    }
    let (st, status) = s.call("GET", ATTEMPT, None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(status["started"], json!(false), "an attempt does not survive a seal");
    s.stop().await;
}

/// A stand-in auto-seal: "wraps" the root key by XOR with a fixed pad (tests only).
struct PadSeal;

impl coffer_server::core::seal::AutoSeal for PadSeal {
    fn kind(&self) -> &'static str {
        "awskms"
    }
    fn wrap(&self, root: &coffer_barrier::RootKey) -> Result<Vec<u8>, String> {
        Ok(root.expose().iter().map(|b| b ^ 0x5a).collect())
    }
    fn unwrap(&self, blob: &[u8]) -> Result<coffer_barrier::RootKey, String> {
        let raw: Vec<u8> = blob.iter().map(|b| b ^ 0x5a).collect();
        coffer_barrier::RootKey::from_bytes(&raw).map_err(|e| e.to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_sealed_servers_take_recovery_shares() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TestServer::start(
        Config::with_storage("127.0.0.1:0", dir.path().to_owned()),
        String::new(),
    )
    .await;
    s.core.seal.set_auto(std::sync::Arc::new(PadSeal));
    let (st, init) = s
        .call("PUT", "sys/init", None, Some(json!({"recovery_shares": 3, "recovery_threshold": 2})))
        .await;
    assert_eq!(st, StatusCode::OK, "{init}");
    let recovery: Vec<String> = serde_json::from_value(init["recovery_keys"].clone()).unwrap();
    s.root = init["root_token"].as_str().unwrap().to_owned();

    let (_, status) = s.call("GET", ATTEMPT, None, None).await;
    assert_eq!(status["required"], json!(2), "the recovery threshold");

    // Shares that are not this server's recovery key are refused.
    let (_, started) = put(&s, ATTEMPT, json!({})).await;
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    for k in [hex::encode([1u8; 33]), hex::encode([2u8; 33])] {
        put(&s, UPDATE, json!({"key": k, "nonce": nonce})).await;
    }
    let (_, status) = s.call("GET", ATTEMPT, None, None).await;
    assert_eq!(status["started"], json!(false), "a failed quorum ends the attempt");

    let (_, started) = put(&s, ATTEMPT, json!({})).await;
    let (otp, nonce) = (started["otp"].as_str().unwrap(), started["nonce"].as_str().unwrap());
    put(&s, UPDATE, json!({"key": recovery[2], "nonce": nonce})).await;
    let (st, done) = put(&s, UPDATE, json!({"key": recovery[0], "nonce": nonce})).await;
    assert_eq!(st, StatusCode::OK, "{done}");
    let token = decode(done["encoded_token"].as_str().unwrap(), otp);
    let (st, me) = s.call("GET", "auth/token/lookup-self", Some(&token), None).await;
    assert_eq!((st, me["data"]["policies"].clone()), (StatusCode::OK, json!(["root"])));
    s.stop().await;
}

/// Unlike Vault, root generation is audited: Coffer's operator can mint a root token with the
/// KMS-held recovery shares, and the customer's audit log must show every time it happens. The
/// shares, the OTP and the encoded token appear only as HMACs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_generation_is_audited_with_secrets_hashed() {
    let (s, keys, dir) = server(1, 1).await;
    let log = dir.path().join("audit.log");
    let (st, _) = s
        .call(
            "PUT",
            "sys/audit/file",
            Some(&s.root),
            Some(json!({"type": "file", "options": {"file_path": log}})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, started) = put(&s, ATTEMPT, json!({})).await;
    let (otp, nonce) = (started["otp"].as_str().unwrap(), started["nonce"].as_str().unwrap());
    let (st, done) = put(&s, UPDATE, json!({"key": keys[0], "nonce": nonce})).await;
    assert_eq!((st, done["complete"].clone()), (StatusCode::OK, json!(true)));
    let encoded = done["encoded_token"].as_str().unwrap();
    let token = decode(encoded, otp);

    let raw = std::fs::read_to_string(&log).unwrap();
    for secret in [keys[0].as_str(), otp, encoded, token.as_str()] {
        assert!(!raw.contains(secret), "a generate-root secret reached the audit log");
    }
    let paths: Vec<(String, String)> = raw
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["request"]["path"].to_string()))
        .collect();
    for path in [ATTEMPT, UPDATE] {
        for kind in ["request", "response"] {
            let want = (kind.to_owned(), format!("\"{path}\""));
            assert!(paths.contains(&want), "no {kind} entry for {path}: {paths:?}");
        }
    }
    s.stop().await;
}
