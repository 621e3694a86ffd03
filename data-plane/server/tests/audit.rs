//! Audit devices end to end: enable/list/disable and their validation, the JSON-lines format
//! with HMAC'd secrets (and `log_raw` / `hmac_accessor`), `sys/audit-hash`, file modes,
//! persistence across seal/unseal, and failing closed when no device can write.

#![allow(clippy::unwrap_used)]
mod common;

use coffer_server::Config;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const SECRET: &str = "s3cr3t-value-never-logged";

fn entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
        .collect()
}

async fn enable(s: &TestServer, name: &str, options: Value) -> (StatusCode, Value) {
    s.root("PUT", &format!("sys/audit/{name}"), Some(json!({"type": "file", "options": options})))
        .await
}

async fn hash(s: &TestServer, device: &str, input: &str) -> String {
    let (st, v) =
        s.root("PUT", &format!("sys/audit-hash/{device}"), Some(json!({"input": input}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["data"]["hash"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_list_disable_and_validation() {
    let s = TestServer::dev().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    let file = log.to_str().unwrap();

    let (st, v) = s.root("GET", "sys/audit", None).await;
    assert_eq!((st, v["data"].clone()), (StatusCode::OK, json!({})));

    // (name, body, expected status)
    let cases = [
        ("nopath", json!({"type": "file", "options": {}}), StatusCode::BAD_REQUEST),
        ("notype", json!({"options": {"file_path": file}}), StatusCode::BAD_REQUEST),
        (
            "badtype",
            json!({"type": "syslogx", "options": {"file_path": file}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "dir",
            json!({"type": "file", "options": {"file_path": dir.path()}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "mode",
            json!({"type": "file", "options": {"file_path": file, "mode": "rw"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "fmt",
            json!({"type": "file", "options": {"file_path": file, "format": "xml"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "raw",
            json!({"type": "file", "options": {"file_path": file, "log_raw": "maybe"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "missing-dir",
            json!({"type": "file", "options": {"file_path": "/nonexistent/x/a.log"}}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (name, body, want) in cases {
        let (st, v) = s.root("PUT", &format!("sys/audit/{name}"), Some(body)).await;
        assert_eq!(st, want, "{name}: {v}");
    }
    assert_eq!(s.root("GET", "sys/audit", None).await.1["data"], json!({}), "nothing was enabled");

    let body = json!({"type": "file", "description": "compliance", "local": null,
                      "options": {"file_path": file, "log_raw": false}});
    let (st, _) = s.root("POST", "sys/audit/main", Some(body)).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = enable(&s, "main", json!({"file_path": file})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a path is used once");

    let (_, v) = s.root("GET", "sys/audit", None).await;
    let dev = &v["data"]["main/"];
    assert_eq!(dev["type"], "file");
    assert_eq!(dev["description"], "compliance");
    assert_eq!(dev["options"]["file_path"], file);
    assert_eq!(v["main/"], v["data"]["main/"], "legacy top-level copy");

    // Audit administration is sudo-only.
    let (_, t) = s.root("POST", "auth/token/create", Some(json!({"policies": ["default"]}))).await;
    let user = t["auth"]["client_token"].as_str().unwrap();
    for (m, p) in [("GET", "sys/audit"), ("DELETE", "sys/audit/main")] {
        assert_eq!(s.call(m, p, Some(user), None).await.0, StatusCode::FORBIDDEN, "{m} {p}");
    }
    let (st, _) =
        s.call("PUT", "sys/audit-hash/main", Some(user), Some(json!({"input": "x"}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    assert_eq!(s.root("DELETE", "sys/audit/main", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.root("GET", "sys/audit", None).await.1["data"], json!({}));
    assert_eq!(s.root("DELETE", "sys/audit/main", None).await.0, StatusCode::NO_CONTENT);
    let (st, _) = s.root("PUT", "sys/audit-hash/main", Some(json!({"input": "x"}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "unknown device");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_hash_secrets_and_pair_up() {
    let s = TestServer::dev().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    assert_eq!(enable(&s, "file", json!({"file_path": log})).await.0, StatusCode::NO_CONTENT);
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "default mode");

    let (st, _) =
        s.root("PUT", "secret/data/app", Some(json!({"data": {"password": SECRET}}))).await;
    assert_eq!(st, StatusCode::OK);
    let (st, read) = s.root("GET", "secret/data/app", None).await;
    assert_eq!((st, read["data"]["data"]["password"].as_str()), (StatusCode::OK, Some(SECRET)));
    let (st, _) = s.call("GET", "secret/data/app", Some("hvs.bogus"), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let raw = std::fs::read_to_string(&log).unwrap();
    assert!(!raw.contains(SECRET), "secret value in the log");
    assert!(!raw.contains("\"client_token\":\"root\""), "root token in the log");
    assert!(!raw.contains("hvs.bogus"), "presented token in the log");

    let all = entries(&log);
    let secret_hash = hash(&s, "file", SECRET).await;
    let root_hash = hash(&s, "file", "root").await;
    assert!(secret_hash.starts_with("hmac-sha256:") && secret_hash.len() == 12 + 64);

    let find = |kind: &str, op: &str| -> Value {
        all.iter()
            .find(|e| {
                e["type"] == kind
                    && e["request"]["path"] == "secret/data/app"
                    && e["request"]["operation"] == op
                    && e["error"] == ""
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} {op} entry in {all:?}"))
    };
    let write_req = find("request", "update");
    assert_eq!(write_req["request"]["data"]["data"]["password"], secret_hash.as_str());
    assert_eq!(write_req["request"]["client_token"], root_hash.as_str());
    assert_eq!(write_req["auth"]["client_token"], root_hash.as_str());
    assert_eq!(write_req["auth"]["policies"], json!(["root"]));
    assert!(write_req["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(write_req["request"]["remote_address"], "127.0.0.1");
    assert_eq!(write_req["request"]["mount_point"], "secret/");
    assert_eq!(write_req["request"]["mount_type"], "kv");
    assert!(write_req["request"]["remote_port"].as_u64().unwrap() > 0);

    let read_resp = find("response", "read");
    assert_eq!(read_resp["response"]["data"]["data"]["password"], secret_hash.as_str());
    assert_eq!(read_resp["response"]["mount_type"], "kv");
    // Numbers stay numbers (only strings are hashed).
    assert_eq!(read_resp["response"]["data"]["metadata"]["version"], json!(1));
    let read_req = find("request", "read");
    assert_eq!(read_req["request"]["id"], read_resp["request"]["id"], "request/response pair");
    let pos = |e: &Value| all.iter().position(|x| x == e).unwrap();
    assert!(pos(&read_req) < pos(&read_resp));

    // A denied request is audited with its error.
    let bogus = hash(&s, "file", "hvs.bogus").await;
    let denied = all
        .iter()
        .find(|e| e["type"] == "response" && e["request"]["client_token"] == bogus.as_str())
        .expect("denied request audited");
    assert_eq!(denied["error"], "permission denied");
    assert_eq!(denied["auth"], Value::Null);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issued_and_wrapping_tokens_are_hashed() {
    let s = TestServer::dev().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    enable(&s, "file", json!({"file_path": log})).await;

    let (_, created) =
        s.root("POST", "auth/token/create", Some(json!({"policies": ["default"]}))).await;
    let issued = created["auth"]["client_token"].as_str().unwrap().to_owned();
    let accessor = created["auth"]["accessor"].as_str().unwrap().to_owned();

    let resp = s
        .http
        .post(format!("{}sys/wrapping/wrap", s.base))
        .header("X-Vault-Token", "root")
        .header("X-Vault-Wrap-TTL", "60s")
        .json(&json!({"k": SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let wrapped: Value = resp.json().await.unwrap();
    let wrap_token = wrapped["wrap_info"]["token"].as_str().unwrap().to_owned();

    let raw = std::fs::read_to_string(&log).unwrap();
    for plain in [issued.as_str(), accessor.as_str(), wrap_token.as_str(), SECRET] {
        assert!(!raw.contains(plain), "{plain} in the log");
    }
    let all = entries(&log);
    let created_entry = all
        .iter()
        .find(|e| e["type"] == "response" && e["request"]["path"] == "auth/token/create")
        .unwrap();
    assert_eq!(created_entry["request"]["mount_point"], "auth/token/");
    assert_eq!(created_entry["request"]["mount_type"], "token");
    assert_eq!(
        created_entry["response"]["auth"]["client_token"],
        hash(&s, "file", &issued).await.as_str()
    );
    assert_eq!(
        created_entry["response"]["auth"]["accessor"],
        hash(&s, "file", &accessor).await.as_str()
    );
    let wrap_entry = all
        .iter()
        .find(|e| e["type"] == "response" && e["request"]["path"] == "sys/wrapping/wrap")
        .unwrap();
    assert_eq!(
        wrap_entry["response"]["wrap_info"]["token"],
        hash(&s, "file", &wrap_token).await.as_str()
    );
    assert_eq!(wrap_entry["request"]["wrap_ttl"], json!(60));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_raw_hmac_accessor_prefix_and_mode_options() {
    let s = TestServer::dev().await;
    let dir = tempfile::tempdir().unwrap();
    let raw_log = dir.path().join("raw.log");
    let opts = json!({"file_path": raw_log, "log_raw": true, "mode": "0640", "prefix": "AUDIT "});
    assert_eq!(enable(&s, "raw", opts).await.0, StatusCode::NO_CONTENT);
    let acc_log = dir.path().join("acc.log");
    let opts = json!({"file_path": acc_log, "hmac_accessor": "false"});
    assert_eq!(enable(&s, "acc", opts).await.0, StatusCode::NO_CONTENT);
    assert_eq!(std::fs::metadata(&raw_log).unwrap().permissions().mode() & 0o777, 0o640);

    s.root("PUT", "secret/data/x", Some(json!({"data": {"v": SECRET}}))).await;
    let (_, me) = s.root("GET", "auth/token/lookup-self", None).await;
    let accessor = me["data"]["accessor"].as_str().unwrap();

    let raw = std::fs::read_to_string(&raw_log).unwrap();
    assert!(raw.contains(SECRET), "log_raw keeps values");
    assert!(raw.lines().all(|l| l.starts_with("AUDIT {")), "prefix on every line");
    // audit-hash hashes even for a log_raw device.
    assert!(hash(&s, "raw", "x").await.starts_with("hmac-sha256:"));

    let acc = std::fs::read_to_string(&acc_log).unwrap();
    assert!(!acc.contains(SECRET));
    assert!(acc.contains(accessor), "hmac_accessor=false keeps accessors");
    assert!(!acc.contains("\"client_token\":\"root\""), "tokens are still hashed");
    s.stop().await;
}

/// A durable server, initialised with one key share and unsealed; returns the key.
async fn durable(data: std::path::PathBuf) -> (TestServer, String) {
    let mut s = TestServer::start(Config::with_storage("127.0.0.1:0", data), String::new()).await;
    let body = json!({"secret_shares": 1, "secret_threshold": 1});
    let (_, init) = s.call("PUT", "sys/init", None, Some(body)).await;
    let key = init["keys"][0].as_str().unwrap().to_owned();
    s.root = init["root_token"].as_str().unwrap().to_owned();
    s.call("PUT", "sys/unseal", None, Some(json!({ "key": key }))).await;
    (s, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_devices_are_refused_up_front() {
    let s = TestServer::dev().await;
    // /dev/full opens fine but every write fails (ENOSPC): the first write catches it.
    let (st, v) = enable(&s, "full", json!({"file_path": "/dev/full"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(s.root("GET", "sys/audit", None).await.1["data"], json!({}));
    assert_eq!(s.root("GET", "secret/config", None).await.0, StatusCode::OK);

    // A writable device's log starts with the entry of its own enabling.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    assert_eq!(enable(&s, "a", json!({"file_path": log})).await.0, StatusCode::NO_CONTENT);
    let first = &entries(&log)[0];
    assert_eq!(
        (first["type"].as_str(), first["request"]["path"].as_str()),
        (Some("response"), Some("sys/audit/a"))
    );
    assert_eq!(
        first["request"]["data"]["options"]["file_path"],
        hash(&s, "a", log.to_str().unwrap()).await.as_str()
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_closed_only_when_every_device_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (s, key) = durable(dir.path().join("data")).await;
    let (st, _) = s.root("PUT", "cubbyhole/x", Some(json!({"v": "before"}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);

    // Two devices; the second one's directory disappears while sealed, so after unseal it
    // cannot be reopened and fails every write.
    let good = dir.path().join("good.log");
    let doomed_dir = dir.path().join("doomed");
    std::fs::create_dir(&doomed_dir).unwrap();
    assert_eq!(enable(&s, "good", json!({"file_path": good})).await.0, StatusCode::NO_CONTENT);
    let doomed = json!({"file_path": doomed_dir.join("x.log")});
    assert_eq!(enable(&s, "doomed", doomed).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.root("PUT", "sys/seal", None).await.0, StatusCode::NO_CONTENT);
    std::fs::remove_dir_all(&doomed_dir).unwrap();
    s.call("PUT", "sys/unseal", None, Some(json!({ "key": key }))).await;

    // One device still writes: requests are served.
    let (st, v) = s.root("GET", "cubbyhole/x", None).await;
    assert_eq!((st, v["data"]["v"].as_str()), (StatusCode::OK, Some("before")));

    // Only the broken device left: every request is refused with a generic 500, and the
    // refused write does not happen.
    assert_eq!(s.root("DELETE", "sys/audit/good", None).await.0, StatusCode::NO_CONTENT);
    let (st, v) = s.root("PUT", "cubbyhole/x", Some(json!({"v": "unaudited"}))).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(v, json!({"errors": ["internal error"]}));
    assert_eq!(s.root("GET", "cubbyhole/x", None).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    // Unaudited endpoints (health) still answer.
    assert_eq!(s.call("GET", "sys/health", None, None).await.0, StatusCode::OK);

    // An operator with storage access removes the device; the refused write never happened.
    s.core.audit.disable(&s.core.barrier, "doomed").unwrap();
    let (st, v) = s.root("GET", "cubbyhole/x", None).await;
    assert_eq!((st, v["data"]["v"].as_str()), (StatusCode::OK, Some("before")));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_survive_seal_and_unseal() {
    let dir = tempfile::tempdir().unwrap();
    let (s, key) = durable(dir.path().join("data")).await;

    let log = dir.path().join("audit.log");
    assert_eq!(enable(&s, "persist", json!({"file_path": log})).await.0, StatusCode::NO_CONTENT);
    let before = hash(&s, "persist", "same").await;
    assert_eq!(s.root("PUT", "sys/seal", None).await.0, StatusCode::NO_CONTENT);
    let lines_sealed = entries(&log).len();
    // Sealed requests are not audited (the devices are closed with the barrier).
    assert_eq!(s.root("GET", "sys/audit", None).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(entries(&log).len(), lines_sealed);

    s.call("PUT", "sys/unseal", None, Some(json!({ "key": key }))).await;
    let (_, v) = s.root("GET", "sys/audit", None).await;
    assert!(v["data"]["persist/"].is_object(), "{v}");
    assert_eq!(hash(&s, "persist", "same").await, before, "same salt after unseal");
    assert!(entries(&log).len() > lines_sealed, "the file is written again after unseal");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_follows_log_rotation() {
    let s = TestServer::dev().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let rotated = dir.path().join("audit.log.1");
    enable(&s, "file", json!({"file_path": log})).await;
    s.root("PUT", "secret/data/before", Some(json!({"data": {"a": "b"}}))).await;

    std::fs::rename(&log, &rotated).unwrap();
    // What SIGHUP triggers (`audit::reopen_on_sighup`).
    s.core.audit.reopen();
    s.root("PUT", "secret/data/after", Some(json!({"data": {"a": "b"}}))).await;

    let paths = |p: &Path| -> Vec<String> {
        entries(p).iter().map(|e| e["request"]["path"].as_str().unwrap().to_owned()).collect()
    };
    let old = paths(&rotated);
    let new = paths(&log);
    assert!(old.contains(&"secret/data/before".to_owned()), "{old:?}");
    assert!(!old.contains(&"secret/data/after".to_owned()), "{old:?}");
    assert_eq!(new, vec!["secret/data/after", "secret/data/after"], "request + response");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_write_whole_lines() {
    let s = TestServer::dev().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    enable(&s, "file", json!({"file_path": log})).await;
    let before = entries(&log).len();
    let (writers, each) = (8, 25);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (http, base) = (s.http.clone(), s.base.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..each {
                let resp = http
                    .put(format!("{base}secret/data/w{w}"))
                    .header("X-Vault-Token", "root")
                    .json(&json!({"data": {"i": i, "pad": "x".repeat(512)}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Every line parses (no interleaving) and every request has both entries.
    let all = entries(&log);
    assert_eq!(all.len() - before, writers * each * 2);
    s.stop().await;
}
