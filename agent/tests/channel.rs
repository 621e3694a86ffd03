//! The agent binary end to end against real moto (KMS) and a real `coffer-server`, with a small
//! control plane in the test that serves the node endpoints with the contract's JSON:
//! registration once (retried through a 503; credential kept 0600 and reused after a restart), heartbeats with the
//! advertised address, commands by long poll with retries through control-plane errors,
//! at-most-once (duplicates and expired commands answered `Failed`, not applied), admin tokens
//! and an MSP bundle through the channel, a clean SIGTERM shutdown, and no secret in the logs.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use coffer_agent::provision::policies;
use coffer_node_api::commands::{
    CommandBatch, CommandBody, CommandOutput, CommandResult, NodeCommand,
};
use coffer_node_api::heartbeat::{Heartbeat, HeartbeatResponse};
use coffer_node_api::msp::{public_key_b64, MspBundle, SignedBundle};
use coffer_node_api::seal::ReplyKey;
use coffer_node_api::{BootstrapDocument, RegisterNodeRequest};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use tokio::sync::Notify;
use uuid::Uuid;

use support::vault_http::call;

const JOIN_TOKEN: &str = "cjt_channel_test_join_token";
const CREDENTIAL: &str = "cfn_channel_test_node_credential";
const ADVERTISE: &str = "http://node-0.c-test.coffer.example:8200";

/// What the fake control plane has seen and what it will hand out.
#[derive(Default)]
struct Seen {
    registrations: usize,
    /// Registrations still to answer with 503 (the agent must retry without restarting).
    failing_registrations: usize,
    unauthorized: usize,
    /// Polls still to answer with 503 (the agent must back off and retry).
    failing_polls: usize,
    polls: usize,
    queue: Vec<NodeCommand>,
    results: HashMap<Uuid, CommandResult>,
    heartbeats: Vec<Heartbeat>,
}

struct Cp {
    seen: Mutex<Seen>,
    queued: Notify,
}

impl Cp {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    fn send(&self, cmd: NodeCommand) {
        self.seen().queue.push(cmd);
        self.queued.notify_one();
    }

    async fn result(&self, id: Uuid) -> CommandResult {
        support::eventually("a command result", Duration::from_secs(60), || async {
            self.seen().results.get(&id).cloned()
        })
        .await
    }

    fn heartbeats(&self) -> usize {
        self.seen().heartbeats.len()
    }
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

async fn control_plane() -> (String, Arc<Cp>) {
    let cp = Arc::new(Cp {
        seen: Mutex::new(Seen { failing_polls: 2, failing_registrations: 1, ..Seen::default() }),
        queued: Notify::new(),
    });
    let app = Router::new()
        .route("/v1/nodes/register", post(register))
        .route("/v1/nodes/commands", get(poll))
        .route("/v1/nodes/commands/{id}/result", post(result))
        .route("/v1/nodes/heartbeat", post(heartbeat))
        .with_state(Arc::clone(&cp));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, cp)
}

/// The agent binary for the node in `dir`, its output appended to `dir/agent.log`.
struct Agent {
    child: Child,
}

impl Agent {
    fn start(dir: &Path, moto: &support::Moto, listen: &str) -> Agent {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("agent.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_coffer-agent"))
            .args(["run", "--user-data"])
            .arg(dir.join("user-data.json"))
            .arg("--server-bin")
            .arg(support::server_bin())
            .arg("--data-dir")
            .arg(dir.join("node"))
            .args(["--listen", listen, "--advertise-addr", ADVERTISE])
            .args(["--instance-id", "i-0channel"])
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("COFFER_AGENT_LOG", "info,coffer_agent=debug")
            .env(coffer_agent::audit_ship::INTERVAL_ENV, "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Agent { child }
    }

    /// SIGTERM, then waits for a clean exit.
    async fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = support::eventually("the agent to exit", Duration::from_secs(40), || {
            let s = self.child.try_wait().unwrap();
            async move { s }
        })
        .await;
        assert!(status.success(), "agent exit status {status}");
    }
}

impl Drop for Agent {
    // Drop cannot await: blocking this test's thread while the agent stops is the intent.
    #[allow(clippy::disallowed_methods)]
    fn drop(&mut self) {
        // SIGTERM first: the agent stops its coffer-server on the way out, which a SIGKILL
        // would leave running as an orphan after the test.
        if !matches!(self.child.try_wait(), Ok(None)) {
            return; // already exited and reaped: its pid may belong to someone else now
        }
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(body: CommandBody) -> NodeCommand {
    NodeCommand { id: Uuid::new_v4(), expires_at: now() + 300, body }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn failed(r: &CommandResult) -> &str {
    match r {
        CommandResult::Failed { error } => error,
        other => panic!("want Failed, got {other:?}"),
    }
}

fn succeeded(r: CommandResult) -> CommandOutput {
    match r {
        CommandResult::Succeeded { output } => output,
        other => panic!("want Succeeded, got {other:?}"),
    }
}

fn recorded_accessors(dir: &Path) -> usize {
    let path = coffer_agent::admin_tokens::accessors_path(&dir.join("node"));
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "[]".into());
    serde_json::from_str::<Vec<Value>>(&text).unwrap().len()
}

/// A document with fresh bucket names (created in moto) and the bundle key.
async fn document(
    moto: &support::Moto,
    key: &str,
    cp_url: &str,
    signing: &SigningKey,
) -> BootstrapDocument {
    let mut doc = support::document(key, cp_url, Some(JOIN_TOKEN));
    doc.msp_public_key = Some(public_key_b64(signing));
    doc.snapshot_bucket = format!("snapshots-{}", doc.cluster_id);
    doc.audit_bucket = format!("audit-{}", doc.cluster_id);
    let s3 =
        coffer_agent::s3::client(&doc.region, Some(&moto.url), Some(&support::credentials())).await;
    for bucket in [&doc.snapshot_bucket, &doc.audit_bucket] {
        s3.create_bucket().bucket(bucket).send().await.expect("CreateBucket");
    }
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_serves_the_channel_at_most_once_and_stops_cleanly() {
    let moto = support::moto().await;
    let key = support::create_key(&moto).await;
    let (cp_url, cp) = control_plane().await;
    let dir = tempfile::tempdir().unwrap();
    let signing = SigningKey::from_bytes(&rand::random());
    let doc = document(&moto, &key, &cp_url, &signing).await;
    std::fs::write(dir.path().join("user-data.json"), doc.to_user_data().unwrap()).unwrap();
    let listen = support::free_addr().to_string();
    let agent = Agent::start(dir.path(), &moto, &listen);

    // Registered once; heartbeats report the advertised address and a serving leader.
    let hb = support::eventually(
        "a heartbeat from an unsealed leader",
        Duration::from_secs(120),
        || async { cp.seen().heartbeats.iter().find(|h| h.leader && !h.sealed).cloned() },
    )
    .await;
    assert_eq!(hb.api_address, ADVERTISE);
    assert!(hb.initialized && !hb.server_version.is_empty(), "{hb:?}");
    assert_eq!(hb.agent_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(hb.msp_bundle_version, 0);
    let cred = coffer_agent::register::credential_path(&dir.path().join("node"));
    assert_eq!(std::fs::read_to_string(&cred).unwrap(), CREDENTIAL);
    assert_eq!(std::fs::metadata(&cred).unwrap().permissions().mode() & 0o777, 0o600);

    // An admin token through the channel, despite the first polls failing with 503.
    let reply = ReplyKey::generate();
    let issue =
        command(CommandBody::IssueAdminToken { ttl_secs: 3600, reply_key: reply.public_b64() });
    cp.send(issue.clone());
    let CommandOutput::AdminToken { sealed, .. } = succeeded(cp.result(issue.id).await) else {
        panic!("want AdminToken")
    };
    assert!(cp.seen().polls >= 3, "the failing polls were retried");
    let token = String::from_utf8(reply.open(&sealed).unwrap().to_vec()).unwrap();
    let (st, _) = call(&listen, "GET", "auth/token/lookup-self", Some(&token), None).await;
    assert_eq!(st, reqwest::StatusCode::OK);
    let (st, _) = call(&listen, "GET", "sys/audit", Some(&token), None).await;
    assert_eq!(st, reqwest::StatusCode::FORBIDDEN);
    assert_eq!(recorded_accessors(dir.path()), 1);

    // At most once: the same id again, and an expired command, are refused and not applied.
    cp.seen().results.remove(&issue.id);
    cp.send(issue.clone());
    assert!(failed(&cp.result(issue.id).await).contains("already started"));
    let mut expired =
        command(CommandBody::IssueAdminToken { ttl_secs: 3600, reply_key: reply.public_b64() });
    expired.expires_at = now() - 1;
    cp.send(expired.clone());
    assert!(failed(&cp.result(expired.id).await).contains("expired"));
    assert_eq!(recorded_accessors(dir.path()), 1, "neither was applied");

    // An MSP bundle; the next heartbeats carry its version.
    let bundle = MspBundle {
        version: 1,
        issued_at: now(),
        policies: BTreeMap::from([(
            policies::OPERATOR.to_owned(),
            format!(
                "{}path \"sys/marker\" {{ capabilities = [\"read\"] }}\n",
                policies::OPERATOR_HCL
            ),
        )]),
    };
    let apply = command(CommandBody::ApplyMspBundle {
        bundle: SignedBundle::sign(&bundle, &signing).unwrap(),
    });
    cp.send(apply.clone());
    assert_eq!(
        succeeded(cp.result(apply.id).await),
        CommandOutput::MspBundleApplied { version: 1 }
    );
    support::eventually("a heartbeat with the bundle version", Duration::from_secs(30), || async {
        cp.seen().heartbeats.iter().rev().any(|h| h.msp_bundle_version == 1).then_some(())
    })
    .await;

    // Snapshot commands reach the snapshot handlers: another bucket is refused, the cluster's
    // own bucket gets the snapshot, which restores and can be deleted again.
    let key_name = format!("snapshots/{}/s1.snap", doc.cluster_id);
    let snapshot_id = Uuid::new_v4();
    let foreign = command(CommandBody::TakeSnapshot {
        snapshot_id,
        bucket: "someone-elses-bucket".into(),
        key: key_name.clone(),
    });
    cp.send(foreign.clone());
    assert!(failed(&cp.result(foreign.id).await).contains("not this cluster's snapshot bucket"));
    let take = command(CommandBody::TakeSnapshot {
        snapshot_id,
        bucket: doc.snapshot_bucket.clone(),
        key: key_name.clone(),
    });
    cp.send(take.clone());
    let CommandOutput::Snapshot { size_bytes, sha256 } = succeeded(cp.result(take.id).await) else {
        panic!("want Snapshot")
    };
    assert!(size_bytes > 0 && sha256.len() == 64, "{size_bytes} {sha256}");
    let restore = command(CommandBody::RestoreSnapshot {
        snapshot_id,
        bucket: doc.snapshot_bucket.clone(),
        key: key_name.clone(),
        sha256: sha256.clone(),
    });
    cp.send(restore.clone());
    assert_eq!(succeeded(cp.result(restore.id).await), CommandOutput::SnapshotRestored);
    let delete = command(CommandBody::DeleteSnapshot {
        snapshot_id,
        bucket: doc.snapshot_bucket.clone(),
        key: key_name,
    });
    cp.send(delete.clone());
    assert_eq!(succeeded(cp.result(delete.id).await), CommandOutput::SnapshotDeleted);

    // Audit lines are shipped and the heartbeats say how far.
    let shipped =
        support::eventually("audit progress in heartbeats", Duration::from_secs(30), || async {
            cp.seen().heartbeats.last().and_then(|h| h.audit_shipped_through)
        })
        .await;
    assert!((now() - 600..=now()).contains(&shipped), "{shipped}");

    // Revoke: the token stops working.
    let revoke = command(CommandBody::RevokeAdminTokens);
    cp.send(revoke.clone());
    assert_eq!(
        succeeded(cp.result(revoke.id).await),
        CommandOutput::AdminTokensRevoked { count: 1 }
    );
    let (st, _) = call(&listen, "GET", "auth/token/lookup-self", Some(&token), None).await;
    assert_eq!(st, reqwest::StatusCode::FORBIDDEN);

    // SIGTERM: the agent exits cleanly and takes the server down with it.
    agent.stop().await;
    let server_gone =
        support::eventually("the server to stop", Duration::from_secs(20), || async {
            tokio::net::TcpStream::connect(&listen).await.is_err().then_some(())
        });
    server_gone.await;

    // Restart: no second registration, heartbeats resume, the journal still refuses old ids.
    let beats = cp.heartbeats();
    let agent = Agent::start(dir.path(), &moto, &listen);
    support::eventually("heartbeats after the restart", Duration::from_secs(120), || async {
        (cp.heartbeats() > beats + 1).then_some(())
    })
    .await;
    // The shipper's progress survives the restart (it is kept in its checkpoint).
    let shipped =
        support::eventually("audit progress in heartbeats", Duration::from_secs(30), || async {
            cp.seen().heartbeats.last().and_then(|h| h.audit_shipped_through)
        })
        .await;
    assert!((now() - 600..=now()).contains(&shipped), "{shipped}");
    cp.seen().results.remove(&issue.id);
    cp.send(issue.clone());
    assert!(failed(&cp.result(issue.id).await).contains("already started"));
    assert_eq!(recorded_accessors(dir.path()), 0);
    assert_eq!(cp.seen().registrations, 1, "the credential was reused");
    assert_eq!(cp.seen().unauthorized, 0);
    agent.stop().await;

    // Nothing secret reached the agent's output.
    let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap();
    assert!(log.contains("serving the control-plane channel"), "{log}");
    let agent_token = std::fs::read_to_string(dir.path().join("node/agent-token")).unwrap();
    for (what, secret) in [
        ("admin token", token.as_str()),
        ("node credential", CREDENTIAL),
        ("join token", JOIN_TOKEN),
        ("agent token", agent_token.trim()),
    ] {
        assert!(!log.contains(secret), "the {what} appears in the agent log");
    }
    // Every server token (admin, agent, the MSP bundle's temporary root) starts with `hvs.`.
    assert!(!log.contains("hvs."), "a Vault token appears in the agent log");
}
