//! Optional TLS on the API listener (`http.tls`), for deployments where nodes and clients reach
//! this process directly instead of through a terminating proxy.
//!
//! The certificate chain and key are read once, at start-up, so a bad file stops the process
//! before it accepts traffic. Handshakes run in tasks of their own: a slow or silent client
//! must not hold up the accept loop, and only finished handshakes reach axum.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsSettings;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; beyond it the accept loop waits (bounded memory).
const MAX_HANDSHAKES: usize = 256;
/// Finished handshakes waiting for axum to take them.
const READY_BACKLOG: usize = 64;

/// Why `http.tls` cannot be used. Names the file, never its contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("http.tls: cannot read {what} file {path}: {source}")]
    Read { what: &'static str, path: String, source: io::Error },
    #[error("http.tls: {path} holds no PEM {what}")]
    Missing { what: &'static str, path: String },
    #[error("http.tls: the certificate and key cannot be used: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Builds the acceptor from the PEM files in `settings` (ring provider, TLS 1.2 and 1.3).
pub fn acceptor(settings: &TlsSettings) -> Result<TlsAcceptor, TlsError> {
    let certs = read_certs(&settings.cert_file)?;
    let key = read_key(&settings.key_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    // The server is built with HTTP/1.1 only; advertising h2 would break clients that pick it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn open(path: &Path, what: &'static str) -> Result<io::BufReader<std::fs::File>, TlsError> {
    let read = |source| TlsError::Read { what, path: path.display().to_string(), source };
    Ok(io::BufReader::new(std::fs::File::open(path).map_err(read)?))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    const WHAT: &str = "certificate";
    let mut reader = open(path, WHAT)?;
    let certs =
        rustls_pemfile::certs(&mut reader).collect::<Result<Vec<_>, _>>().map_err(|source| {
            TlsError::Read { what: WHAT, path: path.display().to_string(), source }
        })?;
    if certs.is_empty() {
        return Err(TlsError::Missing { what: WHAT, path: path.display().to_string() });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    const WHAT: &str = "private key";
    let mut reader = open(path, WHAT)?;
    rustls_pemfile::private_key(&mut reader)
        .map_err(|source| TlsError::Read { what: WHAT, path: path.display().to_string(), source })?
        .ok_or_else(|| TlsError::Missing { what: WHAT, path: path.display().to_string() })
}

/// A TCP listener that hands axum only connections whose TLS handshake finished.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    accept_task: JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `tcp`. Must be called inside the Tokio runtime.
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> io::Result<TlsListener> {
        let local_addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(READY_BACKLOG);
        let accept_task = tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(TlsListener { ready, local_addr, accept_task })
    }
}

impl Drop for TlsListener {
    /// Graceful shutdown drops the listener: stop accepting at once, as with plain TCP.
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // Only if the accept loop ended, which it does not while the listener lives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
        let (stream, peer) = match tcp.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Typically EMFILE; accepting again at once would spin.
                tracing::warn!(error = %e, "accepting a TCP connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
            drop(slot);
            match handshake {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}
