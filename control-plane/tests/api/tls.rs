//! `http.tls`: the API served over HTTPS (rustls) with a certificate from a CA generated in
//! the test. A client trusting that CA is served; one trusting only the usual roots, or
//! speaking plain HTTP to the TLS port, is not; bad files stop start-up with an error naming
//! them; graceful shutdown still returns.

use std::path::PathBuf;
use std::time::Duration;

use coffer_control_plane::config::{Settings, TlsSettings};
use coffer_control_plane::startup::Application;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use secrecy::SecretString;
use uuid::Uuid;

use crate::helpers::spawn_app_with;

/// PEM files for a server certificate valid for 127.0.0.1 and localhost, and its CA.
struct TestPki {
    dir: PathBuf,
    ca_pem: String,
    tls: TlsSettings,
}

impl TestPki {
    fn new() -> TestPki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "Coffer test CA");
        let ca_key = KeyPair::generate().expect("CA key");
        let ca = CertifiedIssuer::self_signed(ca, ca_key).expect("CA certificate");
        let key = KeyPair::generate().expect("server key");
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let params = CertificateParams::new(names).expect("server params");
        let cert = params.signed_by(&key, &*ca).expect("server certificate");
        let dir = std::env::temp_dir().join(format!("coffer-tls-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let tls = TlsSettings { cert_file: dir.join("cert.pem"), key_file: dir.join("key.pem") };
        std::fs::write(&tls.cert_file, cert.pem()).expect("write cert");
        std::fs::write(&tls.key_file, key.serialize_pem()).expect("write key");
        TestPki { dir, ca_pem: ca.pem(), tls }
    }

    fn client(&self, trust_ca: bool) -> reqwest::Client {
        let mut builder = reqwest::Client::builder().use_rustls_tls();
        if trust_ca {
            let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA PEM");
            builder = builder.add_root_certificate(ca);
        }
        builder.build().expect("client")
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The error and every cause, so assertions see the TLS reason reqwest wraps.
fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn https_is_served_to_clients_trusting_the_ca_only() {
    let pki = TestPki::new();
    let tls = pki.tls.clone();
    let app = spawn_app_with(|s| s.http.tls = Some(tls)).await;
    let https = app.address.replace("http://", "https://");

    let resp = pki.client(true).get(format!("{https}/v1/health")).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    let e = pki.client(false).get(format!("{https}/v1/health")).send().await.unwrap_err();
    assert!(chain(&e).contains("certificate"), "{}", chain(&e));

    let plain = pki.client(true).get(format!("{}/v1/health", app.address)).send().await;
    assert!(plain.is_err(), "plain HTTP to the TLS port must fail: {plain:?}");

    // A handshake that never finishes must not block others or the shutdown.
    let _silent =
        tokio::net::TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap();
    let resp = pki.client(true).get(format!("{https}/v1/health")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let stopped = tokio::time::timeout(Duration::from_secs(30), app.stop()).await;
    assert!(matches!(stopped, Ok(Ok(()))), "graceful shutdown: {stopped:?}");
}

#[tokio::test]
async fn bad_certificate_or_key_files_stop_start_up() {
    let pki = TestPki::new();
    let other = TestPki::new();
    let start = |tls: TlsSettings| async move {
        // TLS is checked before the database is touched, so none is needed here.
        let mut settings =
            Settings::local(SecretString::from("postgres://no-database.invalid/none"));
        settings.http.tls = Some(tls);
        match Application::build(settings).await {
            Ok(_) => panic!("start-up must fail"),
            Err(e) => format!("{e:#}"),
        }
    };
    let missing = pki.dir.join("absent.pem");
    let e = start(TlsSettings { cert_file: missing.clone(), ..pki.tls.clone() }).await;
    assert!(e.contains("http.tls") && e.contains(&missing.display().to_string()), "{e}");

    let garbage = pki.dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let e = start(TlsSettings { cert_file: garbage.clone(), ..pki.tls.clone() }).await;
    assert!(e.contains("holds no PEM certificate"), "{e}");
    let e = start(TlsSettings { key_file: garbage, ..pki.tls.clone() }).await;
    assert!(e.contains("holds no PEM private key"), "{e}");

    // Another certificate's key: refused now rather than at the first handshake.
    let e = start(TlsSettings { key_file: other.tls.key_file.clone(), ..pki.tls.clone() }).await;
    assert!(e.contains("cannot be used"), "{e}");
    assert!(!e.contains("PRIVATE KEY"), "no key material in errors: {e}");
}
