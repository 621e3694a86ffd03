//! Server assembly and lifecycle: open storage, build the core, bind listeners (plain or TLS),
//! run the accept loops and the token-expiry sweeper, and shut down gracefully on cancellation
//! (in-flight requests finish; new connections are refused).

use crate::config::Config;
use crate::core::{Core, CoreConfig};
use crate::http as api;
use crate::tls::ReloadableTls;
use axum::Router;
use base64::Engine as _;
use coffer_barrier::Store;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often expired tokens are revoked in the background.
const SWEEP_INTERVAL: Duration = Duration::from_secs(2);
/// How long shutdown waits for in-flight connections.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Transit auto-rotation is checked every this many sweeper ticks (about a minute).
const ROTATION_EVERY_TICKS: u64 = 30;
/// How often a failed auto-unseal (KMS unreachable) is retried.
const AUTO_UNSEAL_RETRY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot open storage at {path}: {detail}")]
    Storage { path: String, detail: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("dev-mode setup failed: {0}")]
    Dev(String),
    #[error("{0}")]
    Unsupported(String),
}

/// Dev-mode credentials, printed once at startup by the binary. Debug is redacted.
pub struct DevCredentials {
    pub unseal_key_b64: String,
    pub root_token: String,
}

impl std::fmt::Debug for DevCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevCredentials(<redacted>)")
    }
}

struct Bound {
    listener: TcpListener,
    tls: Option<Arc<ReloadableTls>>,
    router: Router,
    addr: SocketAddr,
    read_header_timeout: Duration,
}

pub struct Server {
    core: Arc<Core>,
    listeners: Vec<Bound>,
    dev: Option<DevCredentials>,
}

/// Vault's storage `path` is a directory; we keep one redb file inside it. A path ending in
/// `.redb` is taken as the file itself.
fn db_file(path: &Path) -> PathBuf {
    if path.extension().map(|e| e == "redb").unwrap_or(false) && !path.is_dir() {
        path.to_owned()
    } else {
        path.join("coffer.redb")
    }
}

async fn open_store(config: &Config) -> Result<Store, ServerError> {
    let path = config.storage.path.clone();
    let shown = path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "memory".into());
    let err = |detail: String| ServerError::Storage { path: shown.clone(), detail };
    let res = tokio::task::spawn_blocking(move || match path {
        None => Store::open_in_memory().map_err(|e| e.to_string()),
        Some(p) => {
            let file = db_file(&p);
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            Store::open(&file).map_err(|e| e.to_string())
        }
    })
    .await
    .map_err(|e| err(e.to_string()))?;
    res.map_err(err)
}

impl Server {
    /// Opens storage, builds the core, binds every listener. In dev mode also initialises and
    /// unseals. Nothing is served until [`Server::run`].
    pub async fn build(config: Config) -> Result<Server, ServerError> {
        let store = open_store(&config).await?;
        let core = Arc::new(Core::new(
            store,
            CoreConfig {
                default_lease_ttl: config.default_lease_ttl,
                max_lease_ttl: config.max_lease_ttl,
                cluster_name: config.cluster_name.clone(),
                storage_type: config.storage.kind.clone(),
            },
        ));
        if let Some(seal) = &config.seal {
            let auto = crate::kms::KmsAutoSeal::from_config(seal)
                .await
                .map_err(|e| ServerError::Unsupported(format!("seal \"awskms\": {e}")))?;
            core.seal.set_auto(Arc::new(auto));
        }
        let dev = match &config.dev {
            None => None,
            Some(d) => {
                let core2 = Arc::clone(&core);
                let id = d.root_token_id.clone();
                let (key, token) = tokio::task::spawn_blocking(move || core2.dev_setup(id))
                    .await
                    .map_err(|e| ServerError::Dev(e.to_string()))?
                    .map_err(|e| ServerError::Dev(e.to_string()))?;
                Some(DevCredentials {
                    unseal_key_b64: base64::engine::general_purpose::STANDARD.encode(&*key),
                    root_token: token,
                })
            }
        };
        let mut listeners = Vec::with_capacity(config.listeners.len());
        for l in &config.listeners {
            let listener = TcpListener::bind(&l.address)
                .await
                .map_err(|source| ServerError::Bind { addr: l.address.clone(), source })?;
            let addr = listener
                .local_addr()
                .map_err(|source| ServerError::Bind { addr: l.address.clone(), source })?;
            let tls = l.tls.as_ref().map(ReloadableTls::load).transpose()?.map(Arc::new);
            let router = api::router(
                Arc::clone(&core),
                l.max_request_size,
                l.unauthenticated_metrics_access,
            );
            listeners.push(Bound {
                listener,
                tls,
                router,
                addr,
                read_header_timeout: l.read_header_timeout,
            });
        }
        Ok(Server { core, listeners, dev })
    }

    /// The first listener's bound address (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listeners.first().map(|l| l.addr)
    }

    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().map(|l| l.addr).collect()
    }

    /// Whether the first listener speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.listeners.first().map(|l| l.tls.is_some()).unwrap_or(false)
    }

    pub fn core(&self) -> Arc<Core> {
        Arc::clone(&self.core)
    }

    pub fn dev_credentials(&self) -> Option<&DevCredentials> {
        self.dev.as_ref()
    }

    /// Serves until `cancel` fires, then drains in-flight connections.
    pub async fn run(self, cancel: CancellationToken) {
        let tracker = TaskTracker::new();
        let reloadable: Vec<Arc<ReloadableTls>> =
            self.listeners.iter().filter_map(|b| b.tls.clone()).collect();
        if !reloadable.is_empty() {
            tracker.spawn(reload_tls_on_sighup(reloadable, cancel.clone()));
        }
        for b in self.listeners {
            tracker.spawn(accept_loop(b, cancel.clone(), tracker.clone()));
        }
        tracker.spawn(sweeper(Arc::clone(&self.core), cancel.clone()));
        tracker.spawn(crate::audit::reopen_on_sighup(Arc::clone(&self.core), cancel.clone()));
        if self.core.seal.auto().is_some() {
            tracker.spawn(auto_unseal(Arc::clone(&self.core), cancel.clone()));
        }
        cancel.cancelled().await;
        tracker.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait()).await.is_err() {
            tracing::warn!("shutdown: connections still open after the drain timeout");
        }
        self.core.seal();
    }
}

async fn accept_loop(b: Bound, cancel: CancellationToken, tracker: TaskTracker) {
    tracing::info!(address = %b.addr, tls = b.tls.is_some(), "listening");
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            r = b.listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // Usually fd exhaustion: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = b.router.clone();
        let cancel = cancel.clone();
        let tls = b.tls.as_ref().map(|t| t.acceptor());
        let header_timeout = b.read_header_timeout;
        tracker.spawn(async move {
            match tls {
                None => serve_conn(stream, router, peer, header_timeout, cancel).await,
                Some(acc) => {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acc.accept(stream)).await {
                        Ok(Ok(s)) => serve_conn(s, router, peer, header_timeout, cancel).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

async fn serve_conn<S>(
    io: S,
    router: Router,
    peer: SocketAddr,
    header_timeout: Duration,
    cancel: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use tower::ServiceExt as _;
    let with_peer =
        router.map_request(move |mut req: axum::extract::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(api::PeerAddr(peer));
            req
        });
    let svc = TowerToHyperService::new(with_peer);
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Slow-loris guard: a client must finish sending headers within this time.
    builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// SIGHUP re-reads listener certificates (cert-manager/ACME rotation without downtime, as
/// Vault does); new connections get the new certificate.
async fn reload_tls_on_sighup(listeners: Vec<Arc<ReloadableTls>>, cancel: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; TLS certificates will not reload");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                got = hup.recv() => if got.is_none() { return },
            }
            for l in &listeners {
                match l.reload() {
                    Ok(()) => tracing::info!("SIGHUP: TLS certificate reloaded"),
                    Err(e) => {
                        tracing::error!(error = %e, "SIGHUP: TLS reload failed; keeping the old certificate")
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = listeners;
        cancel.cancelled().await;
    }
}

/// Auto-unseal at startup, retrying while the seal (KMS) is unreachable. Ends once unsealed;
/// a later manual seal is undone only by `sys/unseal` or a restart, as in Vault.
async fn auto_unseal(core: Arc<Core>, cancel: CancellationToken) {
    loop {
        let c = Arc::clone(&core);
        let attempt = tokio::task::spawn_blocking(move || {
            if !c.is_initialized()? {
                return Ok(false);
            }
            c.auto_unseal().map(|_| true)
        })
        .await;
        match attempt {
            Ok(Ok(true)) => return,
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "auto-unseal attempt failed; retrying"),
            Err(e) => tracing::warn!(error = %e, "auto-unseal task failed; retrying"),
        }
        if !core.is_sealed() {
            return;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(AUTO_UNSEAL_RETRY) => {}
        }
    }
}

async fn sweeper(core: Arc<Core>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    let mut ticks: u64 = 0;
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        if core.is_sealed() {
            continue;
        }
        ticks += 1;
        if ticks.is_multiple_of(ROTATION_EVERY_TICKS) {
            let c = Arc::clone(&core);
            let rotated = tokio::task::spawn_blocking(move || {
                let mounts = c.mounts.snapshot();
                let now = crate::util::now_unix();
                crate::engines::transit::rotation::rotate_due(&c.barrier, &c.transit, &mounts, now)
            })
            .await;
            if let Ok(Err(e)) = rotated {
                if !matches!(e, crate::core::error::CoreError::Sealed) {
                    tracing::warn!(error = %e, "transit auto-rotation failed");
                }
            }
        }
        let c = Arc::clone(&core);
        match tokio::task::spawn_blocking(move || c.tokens.sweep(&c.barrier)).await {
            Ok(Ok(n)) if n > 0 => tracing::debug!(revoked = n, "expired tokens revoked"),
            Ok(Err(e)) if !matches!(e, crate::core::error::CoreError::Sealed) => {
                tracing::warn!(error = %e, "token sweep failed")
            }
            _ => {}
        }
    }
}
