//! Routing a command to its handler. Each handler returns the command's output or a
//! [`CommandFailure`]; turning that into the wire result (and logging the internal detail)
//! happens here, in one place, so no handler can leak internal error text to the customer.

use coffer_node_api::commands::{CommandBody, CommandOutput, CommandResult};

use super::CommandFailure;
use crate::admin_tokens::AdminTokens;
use crate::msp::MspApplier;

/// Everything the command handlers need, built once after provisioning.
pub struct Handlers {
    pub admin_tokens: AdminTokens,
    pub msp: MspApplier,
}

impl Handlers {
    /// Runs the handler for `body`.
    pub async fn handle(&self, body: &CommandBody) -> Result<CommandOutput, CommandFailure> {
        match body {
            CommandBody::IssueAdminToken { ttl_secs, reply_key } => {
                self.admin_tokens.issue(*ttl_secs, reply_key).await
            }
            CommandBody::RevokeAdminTokens => self.admin_tokens.revoke_all().await,
            CommandBody::ApplyMspBundle { bundle } => self.msp.apply(bundle).await,
            CommandBody::TakeSnapshot { .. }
            | CommandBody::RestoreSnapshot { .. }
            | CommandBody::DeleteSnapshot { .. } => {
                Err(CommandFailure::plain("not supported by this agent"))
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
