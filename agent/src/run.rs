//! The agent's lifecycle on a node: start the server, provision it, register, then serve the
//! control-plane channel (heartbeats and commands) while supervising the server, until told to
//! stop.
//!
//! [`Node`] exposes the steps separately so tests (and later slices: joining nodes, upgrades)
//! can drive them one at a time against real processes; [`run`] is what the binary does and
//! [`run_until`] the same with a caller-owned cancellation token.

use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use coffer_kms_seal::{KmsSeal, KmsSealConfig, KmsSealError};
use coffer_node_api::BootstrapDocument;

use crate::admin_tokens::AdminTokens;
use crate::audit_ship::{self, AuditShipper};
use crate::bootstrap::{self, BootstrapError};
use crate::channel::{self, ControlPlane, Handlers, HeartbeatCtx, Journal, JournalError};
use crate::config::AgentConfig;
use crate::files::{self, FileError};
use crate::msp::MspApplier;
use crate::provision::{Outcome, ProvisionError, Provisioner, StatePaths};
use crate::register::{self, RegisterError, Registration};
use crate::server::{self, ServerCommand, ServerError, ServerLayout, Supervisor};
use crate::snapshots::SnapshotCtx;
use crate::tls::{ControlPlaneTls, TlsError};
use crate::vault::VaultClient;

/// How long a starting server may take to answer HTTP at all.
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("KMS client: {0}")]
    Kms(#[from] KmsSealError),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("provisioning: {0}")]
    Provision(#[from] ProvisionError),
    #[error("registration: {0}")]
    Register(#[from] RegisterError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot wait for a shutdown signal: {0}")]
    Signal(#[source] std::io::Error),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("the {0} is missing from the data directory")]
    Missing(&'static str),
}

/// A node whose server is running under the agent's supervision.
pub struct Node {
    pub doc: BootstrapDocument,
    pub layout: ServerLayout,
    pub vault: VaultClient,
    pub seal: KmsSeal,
    /// S3 (snapshots, audit shipping), with the same endpoint and credentials as KMS.
    pub s3: aws_sdk_s3::Client,
    /// The local server's base URL (`http://{listen}`).
    pub server_addr: String,
    /// The certificates trusted for the control plane.
    pub control_plane_tls: ControlPlaneTls,
    pub supervisor: Supervisor,
}

impl Node {
    /// Reads the bootstrap document, writes the server config, starts the server and waits
    /// until it answers `sys/health` (in any state).
    pub async fn start(cfg: &AgentConfig) -> Result<Node, RunError> {
        let doc = bootstrap::load(cfg.bootstrap.path())?;
        // Before the server starts: a bad CA file is a configuration error, found at once.
        let control_plane_tls = ControlPlaneTls::load(&doc, cfg.control_plane_ca.as_deref())?;
        let layout = ServerLayout::new(&cfg.data_dir);
        server::prepare_dirs(&layout.data_dir, &layout.audit_file())?;
        let text = server::render(&doc, &layout, cfg.listen, cfg.kms_endpoint.as_deref())?;
        crate::files::write_private(&layout.config_file(), text.as_bytes())
            .map_err(ServerError::from)?;

        let mut seal_cfg = KmsSealConfig::new(doc.region.clone(), doc.kms_key_arn.clone());
        seal_cfg.endpoint.clone_from(&cfg.kms_endpoint);
        let mut env = vec![("AWS_REGION".to_owned(), doc.region.clone())];
        if let Some(c) = &cfg.aws_credentials {
            seal_cfg.access_key = Some(c.access_key_id.clone());
            seal_cfg.secret_key = Some(c.secret_access_key.clone());
            env.push(("AWS_ACCESS_KEY_ID".to_owned(), c.access_key_id.clone()));
            env.push((
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                c.secret_access_key.expose_secret().to_owned(),
            ));
        }
        let seal = KmsSeal::new(seal_cfg).await?;

        let supervisor = Supervisor::start(ServerCommand {
            bin: cfg.server_bin.clone(),
            config: layout.config_file(),
            log: layout.server_log(),
            env,
        })?;
        let server_addr = format!("http://{}", cfg.listen);
        let vault = VaultClient::new(&server_addr)?;
        if let Err(e) = server::wait_ready(&vault, START_TIMEOUT, |_| true).await {
            supervisor.shutdown().await;
            return Err(e.into());
        }
        let s3 = crate::s3::client(
            &doc.region,
            cfg.kms_endpoint.as_deref(),
            cfg.aws_credentials.as_ref(),
        )
        .await;
        Ok(Node { doc, layout, vault, seal, s3, server_addr, control_plane_tls, supervisor })
    }

    /// Provisions the server (idempotent).
    pub async fn provision(&self) -> Result<Outcome, RunError> {
        let p = Provisioner { vault: &self.vault, seal: &self.seal, layout: &self.layout };
        Ok(p.run().await?)
    }

    /// Registers with the control plane unless already registered.
    pub async fn register(&self, instance_id: &str) -> Result<Registration, RunError> {
        let data_dir = &self.layout.data_dir;
        Ok(register::register(&self.doc, &self.control_plane_tls, instance_id, data_dir).await?)
    }

    /// The agent's own token (written at provisioning).
    pub fn agent_token(&self) -> Result<SecretString, RunError> {
        read_secret(&StatePaths::new(&self.layout).agent_token, "agent token")
    }

    /// The node's control-plane credential (written at registration).
    pub fn node_credential(&self) -> Result<SecretString, RunError> {
        read_secret(&register::credential_path(&self.layout.data_dir), "node credential")
    }

    /// Builds the command handlers for this node.
    pub fn handlers(&self) -> Result<Handlers, RunError> {
        Ok(Handlers {
            admin_tokens: AdminTokens::new(
                self.vault.clone(),
                self.agent_token()?,
                &self.layout.data_dir,
            ),
            msp: MspApplier::new(
                self.vault.clone(),
                self.seal.clone(),
                self.layout.clone(),
                self.doc.msp_public_key.clone(),
            )?,
            snapshots: SnapshotCtx::new(
                &self.server_addr,
                self.agent_token()?,
                self.s3.clone(),
                &self.doc,
                &self.layout,
            )?,
            server_state: tokio::sync::RwLock::new(()),
        })
    }

    /// Serves the control-plane channel (heartbeats, commands) and ships the audit log until
    /// `cancel`.
    pub async fn serve(
        &self,
        cfg: &AgentConfig,
        cancel: CancellationToken,
    ) -> Result<(), RunError> {
        let advertise_addr = cfg.advertise_addr.as_str();
        let cp = ControlPlane::new(
            &self.doc.control_plane_url,
            &self.control_plane_tls,
            self.node_credential()?,
        )?;
        let handlers = Arc::new(self.handlers()?);
        let journal =
            Journal::open(&channel::journal_path(&self.layout.data_dir), channel::unix_now())?;
        let shipper = AuditShipper::new(self.s3.clone(), &self.doc, &self.layout)
            .with_settings(cfg.audit_ship);
        let heartbeat = HeartbeatCtx {
            vault: self.vault.clone(),
            agent_token: self.agent_token()?,
            api_address: advertise_addr.to_owned(),
            handlers: Arc::clone(&handlers),
            audit_shipped_through: shipper.progress(),
        };
        tracing::info!(api_address = advertise_addr, "serving the control-plane channel");
        tokio::join!(
            channel::run(cp, handlers, heartbeat, journal, cancel.clone()),
            audit_ship::run(shipper, cancel),
        );
        Ok(())
    }

    pub async fn shutdown(self) {
        self.supervisor.shutdown().await;
    }
}

fn read_secret(path: &std::path::Path, what: &'static str) -> Result<SecretString, RunError> {
    let bytes = files::read_optional(path)?.ok_or(RunError::Missing(what))?;
    let bytes = zeroize::Zeroizing::new(bytes);
    let text = std::str::from_utf8(&bytes).map_err(|_| RunError::Missing(what))?;
    Ok(SecretString::from(text.trim()))
}

/// Registers, retrying while the control plane is unreachable or failing (5xx): restarting
/// the whole agent for that would also restart the server. A refusal (4xx) is final.
async fn register_with_retries(node: &Node, instance_id: &str) -> Result<Registration, RunError> {
    let mut backoff =
        channel::backoff::Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    loop {
        match node.register(instance_id).await {
            Err(RunError::Register(e @ RegisterError::Transport { .. })) => {
                tracing::warn!(error = %e, "registration failed; retrying");
            }
            Err(RunError::Register(e @ RegisterError::Refused { status: 500.., .. })) => {
                tracing::warn!(error = %e, "registration failed; retrying");
            }
            other => return other,
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// The binary's whole job: bootstrap the node, then serve the control-plane channel and keep
/// the server running until SIGTERM or Ctrl-C.
pub async fn run(cfg: AgentConfig) -> Result<(), RunError> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(RunError::Signal)?;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let signals = tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = trigger.cancelled() => return,
        }
        tracing::info!("shutdown signal received");
        trigger.cancel();
    });
    let result = run_until(cfg, cancel.clone()).await;
    cancel.cancel();
    let _ = signals.await;
    result
}

/// [`run`] with a caller-owned stop signal: returns after `cancel` once the channel loops
/// have stopped and the server has been shut down.
pub async fn run_until(cfg: AgentConfig, cancel: CancellationToken) -> Result<(), RunError> {
    let node = Node::start(&cfg).await?;
    let result = async {
        let setup = async {
            let outcome = node.provision().await?;
            tracing::info!(?outcome, "provisioning finished");
            let registration = register_with_retries(&node, &cfg.instance_id).await?;
            tracing::info!(?registration, "registration finished");
            Ok::<_, RunError>(())
        };
        // Provisioning and registration are crash-safe, so stopping mid-way is like kill -9.
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            r = setup => r?,
        }
        node.serve(&cfg, cancel.clone()).await
    }
    .await;
    node.shutdown().await;
    tracing::info!("agent stopped");
    result
}
