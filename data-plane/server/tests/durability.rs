//! Restart durability against the real binary: init, unseal, write, `kill -9`, restart,
//! unseal, and every acknowledged write is there.

#![allow(clippy::unwrap_used)]
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use coffer_test_support::net::free_port;
use coffer_test_support::wait;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &std::path::Path) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_coffer-server"))
        .arg("server")
        .arg(format!("-config={}", config.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

async fn wait_up(http: &reqwest::Client, base: &str) {
    let url = format!("{base}sys/seal-status");
    wait::until("the server to come up", Duration::from_secs(20), || http.get(&url).send()).await;
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = http.request(method, url).header("X-Vault-Token", token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let st = r.status().as_u16();
    let text = r.text().await.unwrap();
    (st, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("server.hcl");
    std::fs::write(
        &cfg,
        format!(
            "storage \"raft\" {{ path = \"{}\" }}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n}}\ndisable_mlock = true\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}/v1/");
    let http = reqwest::Client::new();

    let mut server = start(&cfg);
    wait_up(&http, &base).await;
    let (st, init) = call(
        &http,
        Method::PUT,
        format!("{base}sys/init"),
        "",
        Some(json!({"secret_shares": 1, "secret_threshold": 1})),
    )
    .await;
    assert_eq!(st, 200);
    let key = init["keys"][0].as_str().unwrap().to_owned();
    let root = init["root_token"].as_str().unwrap().to_owned();
    let unseal = |http: reqwest::Client, key: String, base: String| async move {
        let (st, v) =
            call(&http, Method::PUT, format!("{base}sys/unseal"), "", Some(json!({"key": key})))
                .await;
        assert_eq!((st, v["sealed"].clone()), (200, json!(false)));
    };
    unseal(http.clone(), key.clone(), base.clone()).await;
    let (st, _) = call(
        &http,
        Method::POST,
        format!("{base}sys/mounts/kv"),
        &root,
        Some(json!({"type": "kv-v2"})),
    )
    .await;
    assert_eq!(st, 204);
    for i in 0..25 {
        let (st, _) = call(
            &http,
            Method::POST,
            format!("{base}kv/data/k{i}"),
            &root,
            Some(json!({"data": {"i": i}})),
        )
        .await;
        assert_eq!(st, 200);
    }
    server.0.kill().unwrap(); // SIGKILL: no shutdown path runs.
    server.0.wait().unwrap();
    drop(server);

    let _server = start(&cfg);
    wait_up(&http, &base).await;
    let (_, ss) = call(&http, Method::GET, format!("{base}sys/seal-status"), "", None).await;
    assert_eq!((ss["initialized"].clone(), ss["sealed"].clone()), (json!(true), json!(true)));
    unseal(http.clone(), key, base.clone()).await;
    for i in 0..25 {
        let (st, v) = call(&http, Method::GET, format!("{base}kv/data/k{i}"), &root, None).await;
        assert_eq!(st, 200, "k{i} lost");
        assert_eq!(v["data"]["data"]["i"], i);
    }
}
