//! First-boot provisioning of the node's `coffer-server`, idempotent across crashes.
//!
//! Steps: initialise with recovery shares (auto-unseal makes unseal keys unnecessary), persist
//! the shares and the initial root token KMS-encrypted *before* doing anything else with them,
//! enable the file audit device, write the three policies and the `coffer-admin` token role,
//! mint the agent's own token, revoke the root token, mark the node provisioned (with the
//! provisioning revision) and drop the encrypted root token. Every step checks or tolerates its
//! own earlier completion, so a crash anywhere resumes where it stopped and a second run on a
//! provisioned node does nothing.
//!
//! A node provisioned by an older revision is upgraded in place: a temporary root token is
//! generated from the recovery shares ([`root::RootSession`]), the agent policy and the token
//! role are (re)written, and the token is revoked again.
//!
//! The root token is encrypted with the recovery-key purpose: it carries the same authority as
//! the recovery shares (a root token) and only lives until the revoke step.

pub mod policies;
pub mod root;

use std::path::PathBuf;
use std::time::Duration;

use coffer_kms_seal::{KmsSeal, KmsSealError, Purpose};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use zeroize::Zeroizing;

use crate::files::{self, FileError};
use crate::server::{self, ServerError, ServerLayout};
use crate::vault::{TokenRequest, VaultClient, VaultError};

/// Recovery shares and how many of them authorise generate-root.
pub const RECOVERY_SHARES: u8 = 5;
pub const RECOVERY_THRESHOLD: u8 = 3;
/// The audit device's mount path.
pub const AUDIT_PATH: &str = "coffer-file";
/// The token role admin tokens are minted from (`auth/token/create/coffer-admin`).
pub const ADMIN_ROLE: &str = "coffer-admin";
/// The longest an admin token may live.
pub const ADMIN_TOKEN_MAX_TTL_SECS: u64 = 24 * 3600;
/// What the done marker records; bump it when provisioning gains a step that existing nodes
/// must catch up on (revision 2: the admin token role and the agent's wider policy).
pub const REVISION: u32 = 2;
/// How long to wait for the server to report itself unsealed after init or a restart.
const UNSEAL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("vault API: {0}")]
    Vault(#[from] VaultError),
    #[error("KMS: {0}")]
    Kms(#[from] KmsSealError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(
        "the server is initialised but this node holds no root token to finish provisioning; \
         generate one from the recovery shares"
    )]
    NoRootToken,
    #[error("a stored secret is not valid UTF-8")]
    Corrupt,
    #[error("root generation needs {need} recovery shares; {have} available")]
    NotEnoughShares { have: usize, need: usize },
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Provisioning ran (fully, or resumed after a crash) and completed.
    Provisioned,
    /// The node was already provisioned; nothing was changed.
    AlreadyProvisioned,
    /// The node was provisioned by an older revision and has been brought up to date.
    Upgraded,
}

/// The agent's persisted provisioning state, under the data directory.
#[derive(Debug, Clone)]
pub struct StatePaths {
    /// KMS-encrypted JSON array of the hex recovery shares (kept for the cluster's lifetime).
    pub recovery_shares: PathBuf,
    /// KMS-encrypted initial root token (only between init and revoke).
    pub root_token: PathBuf,
    /// The agent's own token (policy `coffer-agent`), 0600.
    pub agent_token: PathBuf,
    /// Present once provisioning completed.
    pub done_marker: PathBuf,
}

impl StatePaths {
    pub fn new(layout: &ServerLayout) -> StatePaths {
        let d = &layout.data_dir;
        StatePaths {
            recovery_shares: d.join("recovery-shares.kms"),
            root_token: d.join("root-token.kms"),
            agent_token: d.join("agent-token"),
            done_marker: d.join("provisioned"),
        }
    }
}

pub struct Provisioner<'a> {
    pub vault: &'a VaultClient,
    pub seal: &'a KmsSeal,
    pub layout: &'a ServerLayout,
}

impl Provisioner<'_> {
    pub async fn run(&self) -> Result<Outcome, ProvisionError> {
        let paths = StatePaths::new(self.layout);
        if let Some(marker) = files::read_optional(&paths.done_marker)? {
            // A crash between the marker and this removal leaves a (revoked) token ciphertext.
            files::remove(&paths.root_token)?;
            if marker_revision(&marker) >= REVISION {
                return Ok(Outcome::AlreadyProvisioned);
            }
            self.upgrade(&paths).await?;
            return Ok(Outcome::Upgraded);
        }
        let health = server::wait_ready(self.vault, UNSEAL_TIMEOUT, |_| true).await?;
        let root = if health.initialized {
            self.stored_root_token(&paths).await?
        } else {
            self.initialise().await?
        };
        server::wait_ready(self.vault, UNSEAL_TIMEOUT, |h| h.initialized && !h.sealed).await?;

        self.ensure_audit(&root).await?;
        for (name, hcl) in policies::ALL {
            self.vault.write_policy(&root, name, hcl).await?;
        }
        self.vault.write_token_role(&root, ADMIN_ROLE, &admin_role()).await?;
        if files::read_optional(&paths.agent_token)?.is_none() {
            let token = self
                .vault
                .create_token(
                    &root,
                    &TokenRequest {
                        policies: &[policies::AGENT],
                        no_parent: true,
                        display_name: "coffer-agent",
                        period: Some("768h"),
                    },
                )
                .await?;
            files::write_private(&paths.agent_token, token.expose_secret().as_bytes())?;
        }
        match self.vault.revoke_self(&root).await {
            Ok(()) => {}
            // Revoked by an earlier run that crashed before writing the marker.
            Err(e) if e.status() == Some(reqwest::StatusCode::FORBIDDEN) => {}
            Err(e) => return Err(e.into()),
        }
        files::write_private(&paths.done_marker, format!("{REVISION}\n").as_bytes())?;
        files::remove(&paths.root_token)?;
        tracing::info!("node provisioned; initial root token revoked");
        Ok(Outcome::Provisioned)
    }

    /// Step one alone: initialises the server and persists the recovery shares and the root
    /// token KMS-encrypted, returning the root token. [`Provisioner::run`] calls it on an
    /// uninitialised server and resumes from the stored token otherwise; calling it directly
    /// reproduces a crash right after init.
    pub async fn initialise(&self) -> Result<SecretString, ProvisionError> {
        let paths = StatePaths::new(self.layout);
        let init = self.vault.init_recovery(RECOVERY_SHARES, RECOVERY_THRESHOLD).await?;
        let shares = Zeroizing::new(
            serde_json::to_vec(&init.recovery_keys).map_err(|_| ProvisionError::Corrupt)?,
        );
        let wrapped = self.seal.wrap_bytes(Purpose::RecoveryKey, &shares).await?;
        files::write_private(&paths.recovery_shares, &wrapped)?;
        let wrapped = self
            .seal
            .wrap_bytes(Purpose::RecoveryKey, init.root_token.expose_secret().as_bytes())
            .await?;
        files::write_private(&paths.root_token, &wrapped)?;
        tracing::info!(
            shares = init.recovery_keys.len(),
            "server initialised; recovery shares stored KMS-encrypted"
        );
        Ok(init.root_token.clone())
    }

    /// Brings a node provisioned by an older revision up to date with a temporary root token.
    async fn upgrade(&self, paths: &StatePaths) -> Result<(), ProvisionError> {
        server::wait_ready(self.vault, UNSEAL_TIMEOUT, |h| h.initialized && !h.sealed).await?;
        let session = root::RootSession::open(self.vault, self.seal, self.layout).await?;
        let work = async {
            self.vault.write_policy(session.token(), policies::AGENT, policies::AGENT_HCL).await?;
            self.vault.write_token_role(session.token(), ADMIN_ROLE, &admin_role()).await
        }
        .await;
        session.finish().await?;
        work?;
        files::write_private(&paths.done_marker, format!("{REVISION}\n").as_bytes())?;
        tracing::info!(revision = REVISION, "provisioning upgraded; temporary root token revoked");
        Ok(())
    }

    async fn stored_root_token(&self, paths: &StatePaths) -> Result<SecretString, ProvisionError> {
        let blob = files::read_optional(&paths.root_token)?.ok_or(ProvisionError::NoRootToken)?;
        let plain = self.seal.unwrap_bytes(Purpose::RecoveryKey, &blob).await?;
        let token = std::str::from_utf8(&plain).map_err(|_| ProvisionError::Corrupt)?;
        Ok(SecretString::from(token))
    }

    async fn ensure_audit(&self, root: &SecretString) -> Result<(), ProvisionError> {
        let devices = self.vault.list_audit(root).await?;
        if devices.get(format!("{AUDIT_PATH}/")).is_some() {
            return Ok(());
        }
        let file = self.layout.audit_file();
        self.vault.enable_file_audit(root, AUDIT_PATH, &file.to_string_lossy()).await?;
        Ok(())
    }
}

/// The provisioning revision a done marker records (revision 1 wrote `1`).
fn marker_revision(marker: &[u8]) -> u32 {
    std::str::from_utf8(marker).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(1)
}

/// The `coffer-admin` token role: customer-admin tokens only, orphans (they outlive the agent's
/// token), renewable up to a hard 24 h cap.
fn admin_role() -> serde_json::Value {
    json!({
        "allowed_policies": [policies::CUSTOMER_ADMIN],
        "orphan": true,
        "renewable": true,
        "token_explicit_max_ttl": format!("{ADMIN_TOKEN_MAX_TTL_SECS}s"),
    })
}

/// Decrypts the stored recovery shares (for break-glass root generation and tests).
pub async fn recovery_shares(
    seal: &KmsSeal,
    layout: &ServerLayout,
) -> Result<Zeroizing<Vec<String>>, ProvisionError> {
    let path = StatePaths::new(layout).recovery_shares;
    let blob = files::read_optional(&path)?.ok_or(ProvisionError::Corrupt)?;
    let plain = seal.unwrap_bytes(Purpose::RecoveryKey, &blob).await?;
    let shares: Vec<String> =
        serde_json::from_slice(&plain).map_err(|_| ProvisionError::Corrupt)?;
    Ok(Zeroizing::new(shares))
}
