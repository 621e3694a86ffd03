//! Real processes for the agent's tests: moto (KMS) and the `coffer-server` binary.
//!
//! moto: `COFFER_TEST_MOTO_URL` when set, else a `moto_server` started here on a free port from
//! `$COFFER_VENV`, the repository's `.dev/venv`, `/tmp/coffer/venv` or `PATH`. The server:
//! `COFFER_SERVER_BIN`, else `coffer-server` next to this test binary's target directory (build
//! it with `cargo build -p coffer-server`).
#![allow(dead_code)]

pub mod vault_http;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coffer_agent::{AgentConfig, BootstrapSource, StaticAwsCredentials};
use coffer_kms_seal::KmsSealConfig;
use coffer_node_api::{BootstrapDocument, JoinToken, BOOTSTRAP_VERSION};
use secrecy::SecretString;

pub struct Moto {
    pub url: String,
    child: Option<Child>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn moto_binary() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(venv) = std::env::var("COFFER_VENV") {
        candidates.push(PathBuf::from(venv).join("bin/moto_server"));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.dev/venv/bin/moto_server"));
    candidates.push(PathBuf::from("/tmp/coffer/venv/bin/moto_server"));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("moto_server")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

pub fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr")
}

pub async fn moto() -> Moto {
    if let Ok(url) = std::env::var("COFFER_TEST_MOTO_URL") {
        return Moto { url, child: None };
    }
    let binary = moto_binary()
        .expect("no moto: set COFFER_TEST_MOTO_URL or install moto_server (./dev test does both)");
    for _attempt in 0..3 {
        let port = free_addr().port();
        let mut child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Moto { url: format!("http://127.0.0.1:{port}"), child: Some(child) };
            }
            if child.try_wait().expect("moto_server status").is_some() {
                break; // lost the port race: try another port
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("moto_server at {} did not start", binary.display());
}

pub fn server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("COFFER_SERVER_BIN") {
        return PathBuf::from(p);
    }
    // target/debug/deps/<test> -> target/debug/coffer-server
    let exe = std::env::current_exe().expect("current exe");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|debug| debug.join("coffer-server"))
        .expect("target dir");
    assert!(
        bin.is_file(),
        "{} missing: run `cargo build -p coffer-server` or set COFFER_SERVER_BIN",
        bin.display()
    );
    bin
}

pub fn credentials() -> StaticAwsCredentials {
    StaticAwsCredentials {
        access_key_id: "test".into(),
        secret_access_key: SecretString::from("test"),
    }
}

/// Creates a fresh symmetric key in moto and returns its ARN.
pub async fn create_key(moto: &Moto) -> String {
    let mut cfg = KmsSealConfig::new("us-east-1", "unused");
    cfg.endpoint = Some(moto.url.clone());
    cfg.access_key = Some("test".into());
    cfg.secret_key = Some(SecretString::from("test"));
    let admin = cfg.client().await.expect("kms client");
    let out = admin.create_key().description("coffer-agent test").send().await.expect("CreateKey");
    out.key_metadata.and_then(|m| m.arn).expect("CreateKey arn")
}

pub fn document(
    kms_key_arn: &str,
    control_plane_url: &str,
    join_token: Option<&str>,
) -> BootstrapDocument {
    BootstrapDocument {
        version: BOOTSTRAP_VERSION,
        cluster_id: uuid::Uuid::new_v4(),
        org_id: uuid::Uuid::new_v4(),
        node_index: 0,
        region: "us-east-1".into(),
        kms_key_arn: kms_key_arn.into(),
        snapshot_bucket: "snapshots".into(),
        audit_bucket: "audit".into(),
        control_plane_url: control_plane_url.into(),
        msp_public_key: None,
        join_token: join_token.map(|t| JoinToken::new(t.into())),
    }
}

/// An agent configuration for a node in `dir`, its bootstrap document written there.
pub fn config(dir: &std::path::Path, moto: &Moto, doc: &BootstrapDocument) -> AgentConfig {
    let boot = dir.join("user-data.json");
    std::fs::write(&boot, doc.to_user_data().expect("user data")).expect("write user data");
    let listen = free_addr();
    AgentConfig {
        bootstrap: BootstrapSource::UserData(boot),
        server_bin: server_bin(),
        data_dir: dir.join("node"),
        listen,
        advertise_addr: format!("http://{listen}"),
        instance_id: "i-0123456789abcdef0".into(),
        kms_endpoint: Some(moto.url.clone()),
        aws_credentials: Some(credentials()),
        audit_ship: coffer_agent::audit_ship::ShipSettings::default(),
    }
}

/// Polls `probe` until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
