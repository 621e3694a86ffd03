//! TLS for listeners: rustls with the ring provider, certificate chain and key from PEM files
//! (as Vault's `tls_cert_file` / `tls_key_file`), HTTP/1.1 via ALPN.

use crate::config::TlsFiles;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{0} contains no certificate")]
    NoCert(String),
    #[error("{0} contains no private key")]
    NoKey(String),
    #[error("invalid TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|source| TlsError::Read { path: p.display().to_string(), source })
    };
    let cert_pem = read(&files.cert_file)?;
    let key_pem = read(&files.key_file)?;
    let certs: Vec<_> =
        rustls_pemfile::certs(&mut cert_pem.as_slice()).collect::<Result<_, _>>().map_err(
            |source| TlsError::Read { path: files.cert_file.display().to_string(), source },
        )?;
    if certs.is_empty() {
        return Err(TlsError::NoCert(files.cert_file.display().to_string()));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|source| TlsError::Read { path: files.key_file.display().to_string(), source })?
        .ok_or_else(|| TlsError::NoKey(files.key_file.display().to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

/// A listener's TLS acceptor that can be swapped at runtime (SIGHUP reload): connections take a
/// cheap clone of the current acceptor; a reload that fails keeps the old certificate.
pub struct ReloadableTls {
    files: TlsFiles,
    current: std::sync::RwLock<TlsAcceptor>,
}

impl ReloadableTls {
    pub fn load(files: &TlsFiles) -> Result<ReloadableTls, TlsError> {
        Ok(ReloadableTls {
            files: files.clone(),
            current: std::sync::RwLock::new(acceptor(files)?),
        })
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Re-reads the certificate and key files.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = acceptor(&self.files)?;
        match self.current.write() {
            Ok(mut g) => *g = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        Ok(())
    }
}
