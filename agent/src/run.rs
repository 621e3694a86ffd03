//! The agent's lifecycle on a node: start the server, provision it, register, then supervise
//! until told to stop.
//!
//! [`Node`] exposes the steps separately so tests (and later slices: joining nodes, upgrades)
//! can drive them one at a time against real processes; [`run`] is what the binary does.

use secrecy::ExposeSecret;
use std::time::Duration;

use coffer_kms_seal::{KmsSeal, KmsSealConfig, KmsSealError};
use coffer_node_api::BootstrapDocument;

use crate::bootstrap::{self, BootstrapError};
use crate::config::AgentConfig;
use crate::provision::{Outcome, ProvisionError, Provisioner};
use crate::register::{self, RegisterError, Registration};
use crate::server::{self, ServerCommand, ServerError, ServerLayout, Supervisor};
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
    #[error("cannot wait for a shutdown signal: {0}")]
    Signal(#[source] std::io::Error),
}

/// A node whose server is running under the agent's supervision.
pub struct Node {
    pub doc: BootstrapDocument,
    pub layout: ServerLayout,
    pub vault: VaultClient,
    pub seal: KmsSeal,
    pub supervisor: Supervisor,
}

impl Node {
    /// Reads the bootstrap document, writes the server config, starts the server and waits
    /// until it answers `sys/health` (in any state).
    pub async fn start(cfg: &AgentConfig) -> Result<Node, RunError> {
        let doc = bootstrap::load(cfg.bootstrap.path())?;
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
        let vault = VaultClient::new(&format!("http://{}", cfg.listen))?;
        if let Err(e) = server::wait_ready(&vault, START_TIMEOUT, |_| true).await {
            supervisor.shutdown().await;
            return Err(e.into());
        }
        Ok(Node { doc, layout, vault, seal, supervisor })
    }

    /// Provisions the server (idempotent).
    pub async fn provision(&self) -> Result<Outcome, RunError> {
        let p = Provisioner { vault: &self.vault, seal: &self.seal, layout: &self.layout };
        Ok(p.run().await?)
    }

    /// Registers with the control plane unless already registered.
    pub async fn register(&self, instance_id: &str) -> Result<Registration, RunError> {
        Ok(register::register(&self.doc, instance_id, &self.layout.data_dir).await?)
    }

    pub async fn shutdown(self) {
        self.supervisor.shutdown().await;
    }
}

/// The binary's whole job: bootstrap the node, then keep its server running until SIGTERM or
/// Ctrl-C.
pub async fn run(cfg: AgentConfig) -> Result<(), RunError> {
    let node = Node::start(&cfg).await?;
    let result = async {
        let outcome = node.provision().await?;
        tracing::info!(?outcome, "provisioning finished");
        let registration = node.register(&cfg.instance_id).await?;
        tracing::info!(?registration, "registration finished");
        wait_for_signal().await
    }
    .await;
    node.shutdown().await;
    result
}

async fn wait_for_signal() -> Result<(), RunError> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(RunError::Signal)?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map_err(RunError::Signal),
        _ = term.recv() => Ok(()),
    }
}
