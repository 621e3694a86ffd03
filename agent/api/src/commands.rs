//! The pull channel: nodes accept nothing inbound but 8200, so the agent long-polls the control
//! plane for commands and posts each one's result.
//!
//! - `GET  /v1/nodes/commands?wait_secs=N` (bearer: node credential) -> [`CommandBatch`]; the
//!   control plane answers as soon as a command for this node exists, or with an empty batch
//!   after at most `N` seconds (capped at [`MAX_WAIT_SECS`]).
//! - `POST /v1/nodes/commands/{id}/result` (bearer: node credential) with a [`CommandResult`].
//!
//! **At most once**: the control plane marks a command delivered in the same statement that
//! hands it out and never hands it out again; a command whose result never arrives expires and
//! its caller sees a "node did not answer" error. The agent additionally journals the ids it has
//! started, so a command that somehow arrives twice is answered `Failed` instead of re-applied.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::msp::SignedBundle;
use crate::seal::SealedReply;

pub const COMMANDS_PATH: &str = "/v1/nodes/commands";
/// The longest a poll may be held open.
pub const MAX_WAIT_SECS: u64 = 30;

/// `/v1/nodes/commands/{id}/result`.
pub fn result_path(id: Uuid) -> String {
    format!("{COMMANDS_PATH}/{id}/result")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandBatch {
    pub commands: Vec<NodeCommand>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCommand {
    pub id: Uuid,
    /// Unix seconds after which the control plane no longer waits for the result; an agent that
    /// receives a command late skips it (answers `Failed`).
    pub expires_at: i64,
    #[serde(flatten)]
    pub body: CommandBody,
}

/// What the node is asked to do. Object keys and bucket names are chosen by the control plane;
/// the agent refuses a bucket that is not one of its cluster's own (from the bootstrap document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CommandBody {
    /// Mint a token with the customer-admin policy and return it sealed to `reply_key`, so the
    /// control plane can hand it to the caller once without ever storing it in the clear.
    IssueAdminToken {
        ttl_secs: u64,
        reply_key: String,
    },
    /// Revoke every admin token this node has issued.
    RevokeAdminTokens,
    /// Take a snapshot and upload it to `s3://bucket/key` with SSE-KMS under the cluster key.
    TakeSnapshot {
        snapshot_id: Uuid,
        bucket: String,
        key: String,
    },
    /// Download `s3://bucket/key`, check its SHA-256 (hex) and restore it.
    RestoreSnapshot {
        snapshot_id: Uuid,
        bucket: String,
        key: String,
        sha256: String,
    },
    DeleteSnapshot {
        snapshot_id: Uuid,
        bucket: String,
        key: String,
    },
    /// Verify and apply an operator-policy bundle with an ephemeral root token.
    ApplyMspBundle {
        bundle: SignedBundle,
    },
}

impl CommandBody {
    /// A short name for logs and the commands table.
    pub fn kind(&self) -> &'static str {
        match self {
            CommandBody::IssueAdminToken { .. } => "issue_admin_token",
            CommandBody::RevokeAdminTokens => "revoke_admin_tokens",
            CommandBody::TakeSnapshot { .. } => "take_snapshot",
            CommandBody::RestoreSnapshot { .. } => "restore_snapshot",
            CommandBody::DeleteSnapshot { .. } => "delete_snapshot",
            CommandBody::ApplyMspBundle { .. } => "apply_msp_bundle",
        }
    }
}

/// The body of `POST /v1/nodes/commands/{id}/result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CommandResult {
    Succeeded {
        output: CommandOutput,
    },
    /// `error` is shown to the customer: the agent keeps it free of secrets and internals.
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CommandOutput {
    AdminToken {
        /// The token, sealed to the command's `reply_key`.
        sealed: SealedReply,
        accessor: String,
        /// Unix seconds.
        expires_at: i64,
    },
    AdminTokensRevoked {
        count: u32,
    },
    Snapshot {
        size_bytes: u64,
        sha256: String,
    },
    SnapshotRestored,
    SnapshotDeleted,
    MspBundleApplied {
        version: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_have_a_flat_tagged_shape() {
        let c = NodeCommand {
            id: Uuid::from_u128(9),
            expires_at: 1_700_000_000,
            body: CommandBody::TakeSnapshot {
                snapshot_id: Uuid::from_u128(1),
                bucket: "b".into(),
                key: "k".into(),
            },
        };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "00000000-0000-0000-0000-000000000009",
                "expires_at": 1_700_000_000,
                "type": "take_snapshot",
                "snapshot_id": "00000000-0000-0000-0000-000000000001",
                "bucket": "b",
                "key": "k",
            })
        );
        assert_eq!(serde_json::from_value::<NodeCommand>(json).unwrap(), c);
        let r: NodeCommand = serde_json::from_str(
            r#"{"id":"00000000-0000-0000-0000-000000000009","expires_at":1,"type":"revoke_admin_tokens"}"#,
        )
        .unwrap();
        assert_eq!(r.body.kind(), "revoke_admin_tokens");
    }

    #[test]
    fn results_round_trip() {
        for r in [
            CommandResult::Succeeded {
                output: CommandOutput::Snapshot { size_bytes: 3, sha256: "ab".into() },
            },
            CommandResult::Succeeded { output: CommandOutput::SnapshotRestored },
            CommandResult::Failed { error: "bucket is not this cluster's".into() },
        ] {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<CommandResult>(&json).unwrap(), r, "{json}");
        }
        let raw = r#"{"status":"succeeded","output":{"type":"admin_tokens_revoked","count":2}}"#;
        assert_eq!(
            serde_json::from_str::<CommandResult>(raw).unwrap(),
            CommandResult::Succeeded { output: CommandOutput::AdminTokensRevoked { count: 2 } }
        );
    }
}
