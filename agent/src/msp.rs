//! Applying operator (MSP) policy bundles.
//!
//! A bundle changes the reserved `coffer-*` policies, which only a root token may write (the
//! customer-admin policy denies them, and the agent's own token has no policy rights at all).
//! So applying one is the one routine use of root on a node: verify the bundle's signature
//! with the control plane's public key from the bootstrap document, refuse any version not
//! newer than the last one applied (kept in the data directory), decrypt the recovery shares
//! with KMS, generate a root token (OTP flow), write the policies and revoke the token at once
//! ([`crate::provision::root::RootSession`]). The token exists only in memory, for seconds;
//! the audit log shows every request it made, ending with its `revoke-self`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use coffer_kms_seal::KmsSeal;
use coffer_node_api::commands::CommandOutput;
use coffer_node_api::msp::{MspError, SignedBundle};
use tokio::sync::Mutex;

use crate::channel::CommandFailure;
use crate::files::{self, FileError};
use crate::provision::root::RootSession;
use crate::server::ServerLayout;
use crate::vault::VaultClient;

/// Where the last applied bundle version is kept.
pub fn version_path(data_dir: &Path) -> PathBuf {
    data_dir.join("msp-bundle-version")
}

/// Reads the last applied version (0: none).
pub fn applied_version(data_dir: &Path) -> Result<u64, FileError> {
    Ok(files::read_optional(&version_path(data_dir))?
        .and_then(|b| std::str::from_utf8(&b).ok().and_then(|s| s.trim().parse().ok()))
        .unwrap_or(0))
}

/// Applies bundles one at a time (a server runs one root generation at a time).
pub struct MspApplier {
    vault: VaultClient,
    seal: KmsSeal,
    layout: ServerLayout,
    public_key: Option<String>,
    applied: AtomicU64,
    lock: Mutex<()>,
}

impl MspApplier {
    /// `public_key`: the bootstrap document's `msp_public_key` (`None`: bundles are refused).
    pub fn new(
        vault: VaultClient,
        seal: KmsSeal,
        layout: ServerLayout,
        public_key: Option<String>,
    ) -> Result<MspApplier, FileError> {
        let applied = AtomicU64::new(applied_version(&layout.data_dir)?);
        Ok(MspApplier { vault, seal, layout, public_key, applied, lock: Mutex::new(()) })
    }

    /// The last applied version, for heartbeats.
    pub fn version(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    pub async fn apply(&self, signed: &SignedBundle) -> Result<CommandOutput, CommandFailure> {
        let key = self.public_key.as_deref().ok_or_else(|| {
            CommandFailure::plain("this node was bootstrapped without an MSP public key")
        })?;
        let bundle = signed.verify(key).map_err(|e| match e {
            MspError::Signature | MspError::BadKey => {
                CommandFailure::new("the bundle signature does not verify", e.to_string())
            }
            other => CommandFailure::plain(format!("the bundle is invalid: {other}")),
        })?;
        let _guard = self.lock.lock().await;
        let current = self.version();
        if bundle.version <= current {
            return Err(CommandFailure::plain(format!(
                "bundle version {} is not newer than the applied version {current}",
                bundle.version
            )));
        }
        let session =
            RootSession::open(&self.vault, &self.seal, &self.layout).await.map_err(|e| {
                CommandFailure::new("the node could not obtain a root token", e.to_string())
            })?;
        let mut written = Ok(());
        for (name, hcl) in &bundle.policies {
            if let Err(e) = self.vault.write_policy(session.token(), name, hcl).await {
                written = Err(CommandFailure::new(
                    format!("policy {name} was rejected by the server"),
                    e.to_string(),
                ));
                break;
            }
        }
        let revoked = session.finish().await;
        written?;
        files::write_private(
            &version_path(&self.layout.data_dir),
            format!("{}\n", bundle.version).as_bytes(),
        )
        .map_err(|e| {
            CommandFailure::new("the node could not record the bundle version", e.to_string())
        })?;
        self.applied.store(bundle.version, Ordering::Release);
        if let Err(e) = revoked {
            // The policies are in place, but the token outlived its use even after retries:
            // a live root token on a node is an incident, so the command reports failure.
            return Err(CommandFailure::new(
                "the policies were applied but the temporary root token could not be revoked",
                e.to_string(),
            ));
        }
        tracing::info!(
            version = bundle.version,
            policies = bundle.policies.len(),
            "MSP bundle applied"
        );
        Ok(CommandOutput::MspBundleApplied { version: bundle.version })
    }
}
