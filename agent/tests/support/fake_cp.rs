//! A small control plane serving the node endpoints with the contract's JSON, for the channel
//! tests (over plain HTTP or, with a listener of the caller's, HTTPS), and the agent binary as a
//! child process.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use coffer_node_api::commands::{CommandBatch, CommandResult, NodeCommand};
use coffer_node_api::heartbeat::{Heartbeat, HeartbeatResponse};
use coffer_node_api::RegisterNodeRequest;
use serde_json::{json, Value};
use tokio::sync::Notify;
use uuid::Uuid;

pub const JOIN_TOKEN: &str = "cjt_channel_test_join_token";
pub const CREDENTIAL: &str = "cfn_channel_test_node_credential";

/// What the fake control plane has seen and what it will hand out.
#[derive(Default)]
pub struct Seen {
    pub registrations: usize,
    /// Registrations still to answer with 503 (the agent must retry without restarting).
    pub failing_registrations: usize,
    pub unauthorized: usize,
    /// Polls still to answer with 503 (the agent must back off and retry).
    pub failing_polls: usize,
    pub polls: usize,
    pub queue: Vec<NodeCommand>,
    pub results: HashMap<Uuid, CommandResult>,
    pub heartbeats: Vec<Heartbeat>,
}

pub struct Cp {
    seen: Mutex<Seen>,
    queued: Notify,
}

impl Cp {
    /// A control plane that first answers `failing_registrations` registrations and
    /// `failing_polls` polls with 503.
    pub fn new(failing_registrations: usize, failing_polls: usize) -> Arc<Cp> {
        let seen = Seen { failing_registrations, failing_polls, ..Seen::default() };
        Arc::new(Cp { seen: Mutex::new(seen), queued: Notify::new() })
    }

    pub fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    pub fn send(&self, cmd: NodeCommand) {
        self.seen().queue.push(cmd);
        self.queued.notify_one();
    }

    pub async fn result(&self, id: Uuid) -> CommandResult {
        super::eventually("a command result", Duration::from_secs(60), || async {
            self.seen().results.get(&id).cloned()
        })
        .await
    }

    pub fn heartbeats(&self) -> usize {
        self.seen().heartbeats.len()
    }
}

/// The node endpoints, to serve on any listener.
pub fn router(cp: &Arc<Cp>) -> Router {
    Router::new()
        .route("/v1/nodes/register", post(register))
        .route("/v1/nodes/commands", get(poll))
        .route("/v1/nodes/commands/{id}/result", post(result))
        .route("/v1/nodes/heartbeat", post(heartbeat))
        .with_state(Arc::clone(cp))
}

/// Serves `router(cp)` over plain HTTP; returns its `http://127.0.0.1:PORT` URL.
pub async fn serve_http(cp: &Arc<Cp>) -> String {
    let app = router(cp);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn authorized(cp: &Cp, headers: &HeaderMap) -> bool {
    let ok = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {CREDENTIAL}"));
    if !ok {
        cp.seen().unauthorized += 1;
    }
    ok
}

async fn register(
    State(cp): State<Arc<Cp>>,
    Json(req): Json<RegisterNodeRequest>,
) -> (StatusCode, Json<Value>) {
    let mut seen = cp.seen();
    if seen.failing_registrations > 0 {
        seen.failing_registrations -= 1;
        let err = json!({"error": {"code": "unavailable", "message": "try again"}});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(err));
    }
    seen.registrations += 1;
    if req.join_token.expose() != JOIN_TOKEN || seen.registrations > 1 {
        let err =
            json!({"error": {"code": "unauthenticated", "message": "invalid or used join token"}});
        return (StatusCode::UNAUTHORIZED, Json(err));
    }
    let ok = json!({"cluster_id": req.cluster_id, "node_index": req.node_index, "node_credential": CREDENTIAL});
    (StatusCode::OK, Json(ok))
}

async fn poll(
    State(cp): State<Arc<Cp>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, u64>>,
) -> Result<Json<CommandBatch>, StatusCode> {
    if !authorized(&cp, &headers) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    {
        let mut seen = cp.seen();
        seen.polls += 1;
        if seen.failing_polls > 0 {
            seen.failing_polls -= 1;
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    let wait = Duration::from_secs(q.get("wait_secs").copied().unwrap_or(0).min(30));
    let deadline = Instant::now() + wait;
    loop {
        let commands = std::mem::take(&mut cp.seen().queue);
        if !commands.is_empty() || Instant::now() >= deadline {
            return Ok(Json(CommandBatch { commands }));
        }
        let _ = tokio::time::timeout_at(deadline.into(), cp.queued.notified()).await;
    }
}

async fn result(
    State(cp): State<Arc<Cp>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<Uuid>,
    Json(r): Json<CommandResult>,
) -> StatusCode {
    if !authorized(&cp, &headers) {
        return StatusCode::UNAUTHORIZED;
    }
    cp.seen().results.insert(id, r);
    StatusCode::NO_CONTENT
}

async fn heartbeat(
    State(cp): State<Arc<Cp>>,
    headers: HeaderMap,
    Json(hb): Json<Heartbeat>,
) -> Result<Json<HeartbeatResponse>, StatusCode> {
    if !authorized(&cp, &headers) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    cp.seen().heartbeats.push(hb);
    Ok(Json(HeartbeatResponse { next_in_secs: 1 }))
}

/// The agent binary for the node in `dir` (user data in `dir/user-data.json`, data in
/// `dir/node`), its output appended to `dir/agent.log`; stopped with SIGTERM on drop.
pub struct AgentProcess {
    child: Child,
}

impl AgentProcess {
    /// Runs `coffer-agent run` with the node's paths, `args` after them and `envs` on top of
    /// moto's endpoint and credentials.
    pub fn start(
        dir: &Path,
        moto: &super::Moto,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> AgentProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("agent.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_coffer-agent"))
            .args(["run", "--user-data"])
            .arg(dir.join("user-data.json"))
            .arg("--server-bin")
            .arg(super::server_bin())
            .arg("--data-dir")
            .arg(dir.join("node"))
            .args(args)
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        AgentProcess { child }
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = super::eventually("the agent to exit", Duration::from_secs(40), || {
            let s = self.child.try_wait().unwrap();
            async move { s }
        })
        .await;
        assert!(status.success(), "agent exit status {status}");
    }
}

impl Drop for AgentProcess {
    // Drop cannot await: blocking this test's thread while the agent stops is the intent.
    #[allow(clippy::disallowed_methods)]
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return; // already exited and reaped: its pid may belong to someone else now
        }
        // SIGTERM first: the agent stops its coffer-server on the way out, which a SIGKILL
        // would leave running as an orphan after the test.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
