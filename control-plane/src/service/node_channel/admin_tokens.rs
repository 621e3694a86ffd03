//! Customer admin tokens for a cluster, minted on the cluster itself and handed out once.
//!
//! The control plane never holds such a token in a form it could use later: the request makes
//! a one-time X25519 reply key that lives only in this function's memory, the node seals the
//! token to it, and what crosses the database (`node_commands.result`) is ciphertext that
//! nobody can open once the request is over. The token goes to the caller and nowhere else
//! (never logged, never stored in the clear).

use coffer_node_api::commands::{CommandBody, CommandOutput, CommandResult};
use coffer_node_api::seal::ReplyKey;
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

use super::super::{Caller, ControlPlane, ServiceError};
use crate::domain::{Action, AdminTokenTtl};
use crate::store::{clusters, node_health};

/// The node that serves the API (and so mints tokens) for now.
const API_NODE: u32 = 0;

/// An admin token as returned to its requester, exactly once.
#[derive(Debug)]
pub struct IssuedAdminToken {
    pub token: SecretString,
    pub accessor: String,
    pub expires_at: OffsetDateTime,
}

impl ControlPlane {
    /// Asks the cluster for an admin token with `ttl` (default 6h, 5m..=24h). Needs the admin
    /// role; `Unavailable` when the cluster has no node yet or its node does not answer within
    /// `nodes.command_timeout_ms`.
    pub async fn issue_admin_token(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
        ttl: Option<&str>,
    ) -> Result<IssuedAdminToken, ServiceError> {
        self.authorize(caller, org_id, Action::AccessClusterData).await?;
        let ttl = ttl.map(AdminTokenTtl::parse).transpose()?.unwrap_or_default();
        self.ready_cluster(org_id, cluster_id).await?;
        let reply_key = ReplyKey::generate();
        let body = CommandBody::IssueAdminToken {
            ttl_secs: ttl.get().as_secs(),
            reply_key: reply_key.public_b64(),
        };
        let result = self.ask_api_node(cluster_id, body).await?;
        let (sealed, accessor, expires_at) = match result {
            CommandOutput::AdminToken { sealed, accessor, expires_at } => {
                (sealed, accessor, expires_at)
            }
            other => return Err(unexpected(other.kind())),
        };
        let plaintext = reply_key
            .open(&sealed)
            .map_err(|e| ServiceError::Internal(format!("admin token reply: {e}")))?;
        let token = std::str::from_utf8(&plaintext)
            .map_err(|_| ServiceError::Internal("admin token reply is not UTF-8".into()))?;
        let expires_at = OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|_| ServiceError::Internal("admin token expiry out of range".into()))?;
        // Not even the accessor: Vault treats it as sensitive (it can revoke the token).
        tracing::info!(cluster = %cluster_id, caller = ?caller, "admin token issued");
        Ok(IssuedAdminToken { token: SecretString::from(token.to_owned()), accessor, expires_at })
    }

    /// Revokes every admin token the cluster has issued; returns how many.
    pub async fn revoke_admin_tokens(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
    ) -> Result<u32, ServiceError> {
        self.authorize(caller, org_id, Action::AccessClusterData).await?;
        self.ready_cluster(org_id, cluster_id).await?;
        match self.ask_api_node(cluster_id, CommandBody::RevokeAdminTokens).await? {
            CommandOutput::AdminTokensRevoked { count } => {
                tracing::info!(cluster = %cluster_id, caller = ?caller, count, "admin tokens revoked");
                Ok(count)
            }
            other => Err(unexpected(other.kind())),
        }
    }

    /// `NotFound` for a cluster outside the org; `Unavailable` while no node can answer.
    async fn ready_cluster(&self, org_id: Uuid, cluster_id: Uuid) -> Result<(), ServiceError> {
        clusters::get(&self.pool, org_id, cluster_id)
            .await?
            .ok_or(ServiceError::NotFound("cluster"))?;
        let index = i32::try_from(API_NODE).unwrap_or_default();
        if !node_health::is_registered(&self.pool, cluster_id, index).await? {
            return Err(ServiceError::Unavailable(
                "the cluster has no running node yet; try again once it is running".into(),
            ));
        }
        Ok(())
    }

    /// Sends `body` to the API node and waits for a successful output.
    async fn ask_api_node(
        &self,
        cluster_id: Uuid,
        body: CommandBody,
    ) -> Result<CommandOutput, ServiceError> {
        let timeout = self.nodes.settings.command_timeout();
        let id = self.send_node_command(cluster_id, API_NODE, body, timeout).await?;
        match self.await_node_command(id, timeout).await? {
            CommandResult::Succeeded { output } => Ok(output),
            // The agent keeps `error` customer-safe.
            CommandResult::Failed { error } => {
                Err(ServiceError::Unavailable(format!("the cluster could not do this: {error}")))
            }
        }
    }
}

fn unexpected(kind: &str) -> ServiceError {
    ServiceError::Internal(format!("node answered with an unexpected output: {kind}"))
}

trait OutputKind {
    fn kind(&self) -> &'static str;
}

impl OutputKind for CommandOutput {
    fn kind(&self) -> &'static str {
        match self {
            CommandOutput::AdminToken { .. } => "admin_token",
            CommandOutput::AdminTokensRevoked { .. } => "admin_tokens_revoked",
            CommandOutput::Snapshot { .. } => "snapshot",
            CommandOutput::SnapshotRestored => "snapshot_restored",
            CommandOutput::SnapshotDeleted => "snapshot_deleted",
            CommandOutput::MspBundleApplied { .. } => "msp_bundle_applied",
        }
    }
}
