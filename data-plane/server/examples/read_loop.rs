//! A bounded, in-process request loop for profiling the KV v2 read path without sockets:
//! builds a core on a durable redb file, seeds keys, creates a policy-limited token (as the
//! benchmark in `infra/bench` does), then drives `http::router` directly N times.
//!
//! Why: perf has no hardware counters on the CI VM and wall-clock numbers wobble with the
//! shared box's load, while `valgrind --tool=callgrind` instruction counts of this loop are
//! repeatable, so each optimisation can be judged by instructions per request.
//!
//! ```sh
//! cargo build --release -p coffer-server --example read_loop
//! valgrind --tool=callgrind $CARGO_TARGET_DIR/release/examples/read_loop kv 2000
//! $CARGO_TARGET_DIR/release/examples/read_loop kv 200000   # prints µs/request
//! ```
//! Modes: `kv` (GET secret/data/bench/key-N), `floor` (the benchmark floor route), `transit`
//! (POST transit/encrypt/bench).
#![forbid(unsafe_code)]
// Printing the measurement is this tool's whole output.
#![allow(clippy::print_stdout)]

use anyhow::{bail, Context, Result};
use axum::body::Body;
use coffer_barrier::Store;
use coffer_server::core::request::{Operation, Request};
use coffer_server::core::{Core, CoreConfig};
use serde_json::json;
use std::time::Instant;
use tower::ServiceExt;

const KEYS: usize = 1000;

fn call(
    core: &Core,
    op: Operation,
    path: &str,
    token: &str,
    data: serde_json::Value,
) -> Result<()> {
    let data = match data {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    core.handle(Request::new(op, path).with_data(data).with_token(token))
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    Ok(())
}

fn setup(dir: &std::path::Path) -> Result<(std::sync::Arc<Core>, String)> {
    let store = Store::open(&dir.join("coffer.redb")).context("open store")?;
    let core = Core::new(
        store,
        CoreConfig {
            default_lease_ttl: 768 * 3600,
            max_lease_ttl: 768 * 3600,
            cluster_name: None,
            storage_type: "file".into(),
        },
    );
    let (_key, root) = core.dev_setup(None).map_err(|e| anyhow::anyhow!("dev setup: {e}"))?;
    call(&core, Operation::Update, "sys/mounts/transit", &root, json!({"type": "transit"}))?;
    call(&core, Operation::Update, "transit/keys/bench", &root, json!({}))?;
    let policy = r#"path "secret/data/bench/*" { capabilities = ["create", "read", "update"] }
path "transit/encrypt/bench" { capabilities = ["update"] }"#;
    call(&core, Operation::Update, "sys/policies/acl/bench", &root, json!({"policy": policy}))?;
    for i in 1..=KEYS {
        let value = "v".repeat(64);
        call(
            &core,
            Operation::Update,
            &format!("secret/data/bench/key-{i}"),
            &root,
            json!({"data": {"value": value}}),
        )?;
    }
    let resp = core
        .handle(
            Request::new(Operation::Update, "auth/token/create")
                .with_data(
                    json!({"policies": ["bench"], "no_default_policy": true})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                )
                .with_token(root.clone()),
        )
        .map_err(|e| anyhow::anyhow!("token create: {e}"))?;
    let token = resp.auth.context("token create returned no auth")?.client_token;
    Ok((std::sync::Arc::new(core), token))
}

fn request(mode: &str, i: usize, token: &str) -> Result<http::Request<Body>> {
    let b = http::Request::builder().header("x-vault-token", token);
    Ok(match mode {
        "kv" => b
            .method("GET")
            .uri(format!("/v1/secret/data/bench/key-{}", i % KEYS + 1))
            .body(Body::empty())?,
        "floor" => b.method("GET").uri("/v1/sys/coffer/floor").body(Body::empty())?,
        "transit" => b
            .method("POST")
            .uri("/v1/transit/encrypt/bench")
            .body(Body::from(r#"{"plaintext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#))?,
        other => bail!("unknown mode {other:?} (kv, floor, transit)"),
    })
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "kv".into());
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let (core, token) = setup(dir.path())?;
    let router = coffer_server::http::router(core, 32 << 20, false);
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async move {
        // Warm caches (token, ACL, transit key) before the measured loop.
        for i in 0..10 {
            router.clone().oneshot(request(&mode, i, &token)?).await?;
        }
        let started = Instant::now();
        let mut bytes = 0usize;
        for i in 0..n {
            let resp = router.clone().oneshot(request(&mode, i, &token)?).await?;
            if !resp.status().is_success() {
                bail!("request {i} failed: {}", resp.status());
            }
            bytes += axum::body::to_bytes(resp.into_body(), 1 << 20).await?.len();
        }
        let el = started.elapsed();
        println!(
            "{mode}: {n} requests, {:.2} µs/request, {} bytes/response",
            el.as_secs_f64() * 1e6 / n as f64,
            bytes / n.max(1)
        );
        Ok(())
    })
}
