//! Routing a command to its handler. Each handler returns the command's output or a
//! [`CommandFailure`]; turning that into the wire result (and logging the internal detail)
//! happens here, in one place, so no handler can leak internal error text to the customer.
//!
//! Commands run concurrently, except that a snapshot restore runs alone: it replaces the
//! server's whole state (tokens included), so an admin token minted or a bundle applied during
//! it would silently vanish, or a temporary root token could not be revoked.

use coffer_node_api::commands::{CommandBody, CommandOutput, CommandResult};
use tokio::sync::RwLock;

use super::CommandFailure;
use crate::admin_tokens::AdminTokens;
use crate::msp::MspApplier;
use crate::snapshots::{self, SnapshotCtx};

/// Everything the command handlers need, built once after provisioning.
pub struct Handlers {
    pub admin_tokens: AdminTokens,
    pub msp: MspApplier,
    pub snapshots: SnapshotCtx,
    /// Held exclusively by a restore, shared by every other command.
    pub server_state: RwLock<()>,
}

impl Handlers {
    /// Runs the handler for `body`.
    pub async fn handle(&self, body: &CommandBody) -> Result<CommandOutput, CommandFailure> {
        // Held until the handler returns (drop flags release whichever was taken).
        let (_alone, _shared);
        if matches!(body, CommandBody::RestoreSnapshot { .. }) {
            _alone = self.server_state.write().await;
        } else {
            _shared = self.server_state.read().await;
        }
        match body {
            CommandBody::IssueAdminToken { ttl_secs, reply_key } => {
                self.admin_tokens.issue(*ttl_secs, reply_key).await
            }
            CommandBody::RevokeAdminTokens => self.admin_tokens.revoke_all().await,
            CommandBody::ApplyMspBundle { bundle } => self.msp.apply(bundle).await,
            CommandBody::TakeSnapshot { snapshot_id, bucket, key } => {
                snapshots::take(&self.snapshots, *snapshot_id, bucket, key).await
            }
            CommandBody::RestoreSnapshot { snapshot_id, bucket, key, sha256 } => {
                snapshots::restore(&self.snapshots, *snapshot_id, bucket, key, sha256).await
            }
            CommandBody::DeleteSnapshot { snapshot_id, bucket, key } => {
                snapshots::delete(&self.snapshots, *snapshot_id, bucket, key).await
            }
        }
    }
}

/// The wire result for a handler's outcome; a failure's detail goes to the log only.
pub fn to_result(
    kind: &str,
    id: uuid::Uuid,
    outcome: Result<CommandOutput, CommandFailure>,
) -> CommandResult {
    match outcome {
        Ok(output) => {
            tracing::info!(%id, kind, "command succeeded");
            CommandResult::Succeeded { output }
        }
        Err(f) => {
            tracing::warn!(%id, kind, error = %f.public, detail = %f.detail, "command failed");
            CommandResult::Failed { error: f.public }
        }
    }
}
