//! Customer-admin tokens minted on request of the control plane, and their mass revocation.
//!
//! A token is created through the `coffer-admin` token role (customer-admin policy only,
//! orphan, hard 24 h cap), so the agent's own narrow token never needs the customer-admin
//! policy itself. Its accessor is recorded in the data directory (0600, fsynced) *before* the
//! token leaves this function, so "revoke every admin token" can find every token the node has
//! handed out, across restarts. The token itself leaves only sealed to the requester's one-time
//! reply key ([`coffer_node_api::seal`]); it is never logged or stored.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use coffer_node_api::commands::CommandOutput;
use coffer_node_api::seal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::channel::CommandFailure;
use crate::files;
use crate::provision::{ADMIN_ROLE, ADMIN_TOKEN_MAX_TTL_SECS};
use crate::vault::VaultClient;

/// The shortest TTL an admin token may be issued with.
pub const MIN_TTL_SECS: u64 = 60;

/// One issued token, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub accessor: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Issues and revokes admin tokens with the agent's token. Calls are serialised so the
/// accessor file is never written by two commands at once.
pub struct AdminTokens {
    vault: VaultClient,
    agent_token: SecretString,
    path: PathBuf,
    lock: Mutex<()>,
}

/// Where the accessors of issued admin tokens are kept.
pub fn accessors_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin-token-accessors.json")
}

fn internal(public: &str, detail: impl std::fmt::Display) -> CommandFailure {
    CommandFailure::new(public, detail.to_string())
}

impl AdminTokens {
    pub fn new(vault: VaultClient, agent_token: SecretString, data_dir: &Path) -> AdminTokens {
        AdminTokens { vault, agent_token, path: accessors_path(data_dir), lock: Mutex::new(()) }
    }

    /// The recorded tokens (expired ones included until the next issue or revoke).
    pub fn recorded(&self) -> Result<Vec<Issued>, CommandFailure> {
        let bytes = files::read_optional(&self.path)
            .map_err(|e| internal("the node cannot read its admin token records", e))?;
        match bytes {
            None => Ok(Vec::new()),
            Some(b) => serde_json::from_slice(&b)
                .map_err(|e| internal("the node's admin token records are unreadable", e)),
        }
    }

    fn store(&self, issued: &[Issued]) -> Result<(), CommandFailure> {
        let bytes = serde_json::to_vec(issued)
            .map_err(|e| internal("the node cannot record admin tokens", e))?;
        files::write_private(&self.path, &bytes)
            .map_err(|e| internal("the node cannot record admin tokens", e))
    }

    /// Mints a customer-admin token valid for `ttl_secs` and returns it sealed to `reply_key`.
    pub async fn issue(
        &self,
        ttl_secs: u64,
        reply_key: &str,
    ) -> Result<CommandOutput, CommandFailure> {
        if !(MIN_TTL_SECS..=ADMIN_TOKEN_MAX_TTL_SECS).contains(&ttl_secs) {
            return Err(CommandFailure::plain(format!(
                "the token TTL must be between {MIN_TTL_SECS} and {ADMIN_TOKEN_MAX_TTL_SECS} seconds"
            )));
        }
        // Refuse a bad reply key before a token exists that could not be delivered.
        let key_ok = base64::engine::general_purpose::STANDARD
            .decode(reply_key)
            .is_ok_and(|k| k.len() == 32);
        if !key_ok {
            return Err(CommandFailure::plain("the reply key is not a base64 X25519 public key"));
        }
        let _guard = self.lock.lock().await;
        let now = crate::channel::unix_now();
        let mut issued = self.recorded()?;
        issued.retain(|i| i.expires_at > now);

        let created = self
            .vault
            .create_token_from_role(&self.agent_token, ADMIN_ROLE, ttl_secs, "coffer-admin")
            .await
            .map_err(|e| internal("the node could not create the admin token", e))?;
        let lease = i64::try_from(created.lease_duration).unwrap_or(i64::MAX);
        let expires_at = now.saturating_add(lease);
        issued.push(Issued { accessor: created.accessor.clone(), expires_at });
        if let Err(f) = self.store(&issued) {
            // An unrecorded token could escape "revoke all": take it back now.
            self.revoke_quietly(&created.accessor).await;
            return Err(f);
        }
        let sealed = match seal::seal(reply_key, created.token.expose_secret().as_bytes()) {
            Ok(s) => s,
            Err(e) => {
                self.revoke_quietly(&created.accessor).await;
                return Err(internal("the admin token could not be sealed to the reply key", e));
            }
        };
        tracing::info!(accessor = %created.accessor, expires_at, "admin token issued");
        Ok(CommandOutput::AdminToken { sealed, accessor: created.accessor.clone(), expires_at })
    }

    async fn revoke_quietly(&self, accessor: &str) {
        if let Err(e) = self.vault.revoke_accessor(&self.agent_token, accessor).await {
            tracing::error!(%accessor, error = %e, "cannot revoke an undeliverable admin token");
        }
    }

    /// Revokes every recorded admin token; returns how many were still valid and are now
    /// revoked. Records whose revocation failed for another reason are kept for a retry.
    pub async fn revoke_all(&self) -> Result<CommandOutput, CommandFailure> {
        let _guard = self.lock.lock().await;
        let issued = self.recorded()?;
        let mut count: u32 = 0;
        let mut failed = Vec::new();
        let mut last_error = String::new();
        for i in issued {
            match self.vault.revoke_accessor(&self.agent_token, &i.accessor).await {
                Ok(()) => count += 1,
                // Expired or already revoked: nothing left to revoke.
                Err(e) if e.status() == Some(reqwest::StatusCode::BAD_REQUEST) => {
                    tracing::debug!(accessor = %i.accessor, error = %e, "admin token already gone");
                }
                Err(e) => {
                    last_error = e.to_string();
                    failed.push(i);
                }
            }
        }
        self.store(&failed)?;
        if !failed.is_empty() {
            return Err(CommandFailure::new(
                format!("{} admin token(s) could not be revoked; retry", failed.len()),
                last_error,
            ));
        }
        tracing::info!(count, "admin tokens revoked");
        Ok(CommandOutput::AdminTokensRevoked { count })
    }
}
