//! Real processes for the agent's tests: moto (KMS) and the `coffer-server` binary.
//!
//! moto, free ports and polling come from `coffer-test-support` (one moto per test process:
//! `COFFER_TEST_MOTO_URL`, or one started from the venv that dies with the process). The server:
//! `COFFER_SERVER_BIN`, else `coffer-server` next to this test binary's target directory (build
//! it with `cargo build -p coffer-server`).
#![allow(dead_code)]

pub mod fake_cp;
pub mod vault_http;

use std::path::PathBuf;

use coffer_agent::{AgentConfig, BootstrapSource, StaticAwsCredentials};
use coffer_kms_seal::KmsSealConfig;
use coffer_node_api::{BootstrapDocument, JoinToken, BOOTSTRAP_VERSION};
use secrecy::SecretString;

pub use coffer_test_support::net::free_addr;
/// Polls a probe (`Some` when done) until a deadline; see `coffer_test_support::wait`.
#[allow(unused_imports)] // as `dead_code` above: not every test binary polls
pub use coffer_test_support::wait::until as eventually;

/// The process's moto endpoint.
pub struct Moto {
    pub url: String,
}

pub async fn moto() -> Moto {
    Moto { url: coffer_test_support::moto::url().await }
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
        control_plane_ca_pem: None,
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
        control_plane_ca: None,
        kms_endpoint: Some(moto.url.clone()),
        aws_credentials: Some(credentials()),
        audit_ship: coffer_agent::audit_ship::ShipSettings::default(),
    }
}
