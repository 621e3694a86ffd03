//! Which certificates the agent trusts for the control plane, and how TLS failures are told.
//!
//! The control plane may sit behind a private CA, so besides the system roots the agent trusts
//! the PEM bundle the bootstrap document carries (`control_plane_ca_pem`) and the file named by
//! `--control-plane-ca`. Both are public material. Plain `http://` still works, for the local
//! stack and tests, but is announced with a warning at start-up: nothing protects the node
//! credential on that channel.

use std::path::Path;
use std::time::Duration;

use coffer_node_api::BootstrapDocument;

/// How long connecting (TCP and TLS handshake) to the control plane may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the control-plane CA file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the control-plane CA from {origin} holds no usable PEM certificate")]
    NoCertificate { origin: String },
}

/// System roots plus any extra CA certificates for the control plane.
#[derive(Clone, Default)]
pub struct ControlPlaneTls {
    extra_roots: Vec<reqwest::Certificate>,
}

impl ControlPlaneTls {
    /// The document's bundle and the `--control-plane-ca` file (either may be absent). Warns
    /// once when the document's control-plane URL is plain HTTP.
    pub fn load(doc: &BootstrapDocument, ca_file: Option<&Path>) -> Result<Self, TlsError> {
        if doc.control_plane_url.starts_with("http://") {
            tracing::warn!(
                url = %doc.control_plane_url,
                "the control-plane URL is plain HTTP: the node credential travels unencrypted"
            );
        }
        let mut extra_roots = Vec::new();
        if let Some(pem) = &doc.control_plane_ca_pem {
            extra_roots.extend(parse(pem.as_bytes(), "the bootstrap document")?);
        }
        if let Some(path) = ca_file {
            let shown = path.display().to_string();
            let pem = std::fs::read(path)
                .map_err(|source| TlsError::Read { path: shown.clone(), source })?;
            extra_roots.extend(parse(&pem, &shown)?);
        }
        Ok(ControlPlaneTls { extra_roots })
    }

    /// A client for the control plane (rustls). No overall timeout: callers set one per
    /// request, because the command poll is held open on purpose.
    pub fn client(&self) -> Result<reqwest::Client, reqwest::Error> {
        let mut builder =
            reqwest::Client::builder().use_rustls_tls().connect_timeout(CONNECT_TIMEOUT);
        for cert in &self.extra_roots {
            builder = builder.add_root_certificate(cert.clone());
        }
        builder.build()
    }
}

fn parse(pem: &[u8], origin: &str) -> Result<Vec<reqwest::Certificate>, TlsError> {
    let no_cert = || TlsError::NoCertificate { origin: origin.to_owned() };
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|_| no_cert())?;
    if certs.is_empty() {
        return Err(no_cert());
    }
    Ok(certs)
}

/// The whole cause chain of a transport error, e.g. "error sending request for url (...):
/// client error (Connect): invalid peer certificate: UnknownIssuer", with a hint when the
/// cause is the control plane's certificate. reqwest's own message stops at the first line.
/// Carries no secret: requests put credentials in headers and bodies, never in the URL.
pub fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    if text.contains("certificate") {
        text.push_str(
            " (TLS: the control plane's certificate was rejected; check its name and expiry, \
             and that its CA is trusted: control_plane_ca_pem in the bootstrap document or \
             --control-plane-ca)",
        );
    }
    text
}
