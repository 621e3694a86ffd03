//! The node channel over HTTPS: a control plane with a certificate from a private CA generated
//! in the test. The real agent binary, trusting that CA through the bootstrap document's
//! `control_plane_ca_pem`, registers, heartbeats and answers a command pulled by long poll.
//! Without the CA, registration and the channel fail with an error that names the TLS problem
//! and carries no secret; `--control-plane-ca` (a file) works as well as the document.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use coffer_agent::channel::ControlPlane;
use coffer_agent::register::{self, RegisterError, Registration};
use coffer_agent::tls::{ControlPlaneTls, TlsError};
use coffer_node_api::commands::{CommandBody, CommandOutput, CommandResult, NodeCommand};
use coffer_node_api::BootstrapDocument;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use secrecy::SecretString;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use uuid::Uuid;

use support::fake_cp::{self, AgentProcess, Cp, CREDENTIAL, JOIN_TOKEN};

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

/// The fake control plane over HTTPS; returns its `https://127.0.0.1:PORT` URL.
async fn control_plane(acceptor: TlsAcceptor) -> (String, Arc<Cp>) {
    let cp = Cp::new(0, 0);
    let app = fake_cp::router(&cp);
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
    let args = ["--listen", listen.as_str(), "--instance-id", "i-0tls"];
    let _agent = AgentProcess::start(dir.path(), &moto, &args, &[("COFFER_AGENT_LOG", "info")]);

    support::eventually("a heartbeat over HTTPS", Duration::from_secs(120), || async {
        (cp.heartbeats() > 0).then_some(())
    })
    .await;
    assert_eq!(cp.seen().registrations, 1);

    let revoke = NodeCommand {
        id: Uuid::new_v4(),
        expires_at: now() + 300,
        body: CommandBody::RevokeAdminTokens,
    };
    cp.send(revoke.clone());
    let answer = cp.result(revoke.id).await;
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
