//! The node channel over HTTPS: a control plane with a certificate from a private CA generated
//! in the test. The real agent binary, trusting that CA through the bootstrap document's
//! `control_plane_ca_pem`, registers, heartbeats and answers a command pulled by long poll.
//! Without the CA, registration and the channel fail with an error that names the TLS problem
//! and carries no secret; `--control-plane-ca` (a file) works as well as the document.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use coffer_agent::channel::ControlPlane;
use coffer_agent::register::{self, RegisterError, Registration};
use coffer_agent::tls::{ControlPlaneTls, TlsError};
use coffer_node_api::commands::{
    CommandBatch, CommandBody, CommandOutput, CommandResult, NodeCommand,
};
use coffer_node_api::heartbeat::{Heartbeat, HeartbeatResponse};
use coffer_node_api::{BootstrapDocument, RegisterNodeRequest};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use uuid::Uuid;

const JOIN_TOKEN: &str = "cjt_tls_test_join_token";
const CREDENTIAL: &str = "cfn_tls_test_node_credential";

/// A CA and a server certificate it signed for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

fn pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Coffer agent test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let cert = CertificateParams::new(names).unwrap().signed_by(&key, &*ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    Pki { ca_pem: ca.pem(), acceptor: TlsAcceptor::from(Arc::new(config)) }
}

/// Serves HTTPS only; a client whose handshake fails is dropped and the next one accepted.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (tcp, peer) = self.tcp.accept().await.unwrap();
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, peer);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// What the fake control plane has seen and what it will hand out.
#[derive(Default)]
struct Seen {
    registrations: usize,
    queue: Vec<NodeCommand>,
    results: HashMap<Uuid, CommandResult>,
    heartbeats: usize,
}

#[derive(Default)]
struct Cp {
    seen: Mutex<Seen>,
    queued: Notify,
}

impl Cp {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {CREDENTIAL}"))
}

async fn register_node(
    State(cp): State<Arc<Cp>>,
    Json(req): Json<RegisterNodeRequest>,
) -> (StatusCode, Json<Value>) {
    let mut seen = cp.seen();
    seen.registrations += 1;
    if req.join_token.expose() != JOIN_TOKEN || seen.registrations > 1 {
        let err = json!({"error": {"code": "unauthenticated", "message": "invalid join token"}});
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
    if !authorized(&headers) {
        return Err(StatusCode::UNAUTHORIZED);
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
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED;
    }
    cp.seen().results.insert(id, r);
    StatusCode::NO_CONTENT
}

async fn heartbeat(
    State(cp): State<Arc<Cp>>,
    headers: HeaderMap,
    Json(_hb): Json<Heartbeat>,
) -> Result<Json<HeartbeatResponse>, StatusCode> {
    if !authorized(&headers) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    cp.seen().heartbeats += 1;
    Ok(Json(HeartbeatResponse { next_in_secs: 1 }))
}

/// The fake control plane over HTTPS; returns its `https://127.0.0.1:PORT` URL.
async fn control_plane(acceptor: TlsAcceptor) -> (String, Arc<Cp>) {
    let cp = Arc::new(Cp::default());
    let app = Router::new()
        .route("/v1/nodes/register", post(register_node))
        .route("/v1/nodes/commands", get(poll))
        .route("/v1/nodes/commands/{id}/result", post(result))
        .route("/v1/nodes/heartbeat", post(heartbeat))
        .with_state(Arc::clone(&cp));
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", tcp.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(TlsListener { tcp, acceptor }, app).await.unwrap() });
    (url, cp)
}

fn document(key: &str, cp_url: &str, ca_pem: Option<&str>) -> BootstrapDocument {
    let mut doc = support::document(key, cp_url, Some(JOIN_TOKEN));
    doc.control_plane_ca_pem = ca_pem.map(str::to_owned);
    doc
}

/// The agent binary for the node in `dir`, its output appended to `dir/agent.log`.
struct Agent(Child);

impl Agent {
    fn start(dir: &Path, moto: &support::Moto, listen: &str) -> Agent {
        let log = std::fs::File::create(dir.join("agent.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_coffer-agent"))
            .args(["run", "--user-data"])
            .arg(dir.join("user-data.json"))
            .arg("--server-bin")
            .arg(support::server_bin())
            .arg("--data-dir")
            .arg(dir.join("node"))
            .args(["--listen", listen, "--instance-id", "i-0tls"])
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("COFFER_AGENT_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Agent(child)
    }
}

impl Drop for Agent {
    // Drop cannot await: blocking this test's thread while the agent stops is the intent.
    #[allow(clippy::disallowed_methods)]
    fn drop(&mut self) {
        // SIGTERM first: the agent stops its coffer-server on the way out, which a SIGKILL
        // would leave running as an orphan after the test.
        if !matches!(self.0.try_wait(), Ok(None)) {
            return; // already exited and reaped: its pid may belong to someone else now
        }
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if !matches!(self.0.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_registers_and_long_polls_over_https_trusting_the_documents_ca() {
    let moto = support::moto().await;
    let key = support::create_key(&moto).await;
    let pki = pki();
    let (cp_url, cp) = control_plane(pki.acceptor.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut doc = document(&key, &cp_url, Some(&pki.ca_pem));
    // The agent also ships audit logs; give it buckets of its own in moto.
    doc.snapshot_bucket = format!("snapshots-{}", doc.cluster_id);
    doc.audit_bucket = format!("audit-{}", doc.cluster_id);
    let s3 =
        coffer_agent::s3::client(&doc.region, Some(&moto.url), Some(&support::credentials())).await;
    for bucket in [&doc.snapshot_bucket, &doc.audit_bucket] {
        s3.create_bucket().bucket(bucket).send().await.expect("CreateBucket");
    }
    std::fs::write(dir.path().join("user-data.json"), doc.to_user_data().unwrap()).unwrap();
    let listen = support::free_addr().to_string();
    let _agent = Agent::start(dir.path(), &moto, &listen);

    support::eventually("a heartbeat over HTTPS", Duration::from_secs(120), || async {
        (cp.seen().heartbeats > 0).then_some(())
    })
    .await;
    assert_eq!(cp.seen().registrations, 1);

    let revoke = NodeCommand {
        id: Uuid::new_v4(),
        expires_at: now() + 300,
        body: CommandBody::RevokeAdminTokens,
    };
    cp.seen().queue.push(revoke.clone());
    cp.queued.notify_one();
    let answer = support::eventually("the command result", Duration::from_secs(60), || async {
        cp.seen().results.get(&revoke.id).cloned()
    })
    .await;
    assert_eq!(
        answer,
        CommandResult::Succeeded { output: CommandOutput::AdminTokensRevoked { count: 0 } }
    );
    let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap();
    assert!(!log.contains("plain HTTP"), "no plain-HTTP warning for https: {log}");
    assert!(!log.contains(CREDENTIAL) && !log.contains(JOIN_TOKEN), "secret in the log");
}

#[tokio::test]
async fn without_the_ca_tls_fails_clearly_and_a_ca_file_works_too() {
    let pki = pki();
    let (cp_url, cp) = control_plane(pki.acceptor.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = document("arn:aws:kms:us-east-1:000000000000:key/unused", &cp_url, None);

    // System roots only: the handshake fails, and the error says why.
    let system_only = ControlPlaneTls::load(&doc, None).unwrap();
    let e = register::register(&doc, &system_only, "i-0tls", dir.path()).await.unwrap_err();
    assert!(matches!(e, RegisterError::Transport { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("UnknownIssuer") && text.contains("TLS"), "{text}");
    assert!(!text.contains(JOIN_TOKEN), "no secret in the error: {text}");
    assert!(!register::credential_path(dir.path()).exists());
    assert_eq!(cp.seen().registrations, 0, "nothing reached the control plane");

    let channel = ControlPlane::new(&cp_url, &system_only, SecretString::from(CREDENTIAL)).unwrap();
    let e = channel.poll(0).await.unwrap_err().to_string();
    assert!(e.contains("UnknownIssuer") && !e.contains(CREDENTIAL), "{e}");

    // The same CA given as a file (`--control-plane-ca`) is enough.
    let ca_file = dir.path().join("cp-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let with_file = ControlPlaneTls::load(&doc, Some(&ca_file)).unwrap();
    let got = register::register(&doc, &with_file, "i-0tls", dir.path()).await.unwrap();
    assert_eq!(got, Registration::Registered);

    // A file with no certificate is refused up front.
    std::fs::write(&ca_file, "not a certificate").unwrap();
    let e = ControlPlaneTls::load(&doc, Some(&ca_file)).err().unwrap();
    assert!(matches!(e, TlsError::NoCertificate { .. }), "{e}");
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
