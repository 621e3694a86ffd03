//! The control plane's side of the node channel: queue commands for nodes, hand them out to
//! the nodes' long polls, store and await their results, record heartbeats and derive health.
//!
//! Why a pull channel: nodes accept nothing inbound but the Vault API, so the control plane
//! never dials a node; each agent long-polls `GET /v1/nodes/commands` with its node credential
//! and posts results back. Commands are addressed to a node slot (cluster, index) and handed
//! out at most once (see `store::node_commands`); a command nobody answers expires, and whoever
//! awaited it gets [`ServiceError::Unavailable`] ("the node did not answer").
//!
//! Other use-cases build on [`ControlPlane::send_node_command`] and
//! [`ControlPlane::await_node_command`] (admin tokens, here in `admin_tokens`) or on
//! [`ControlPlane::node_command_result`] (reconcile-on-read users such as snapshots).

mod admin_tokens;
pub mod events;
mod retention;
mod settings;

use std::time::Duration;

use coffer_node_api::commands::{CommandBody, CommandResult, NodeCommand, MAX_WAIT_SECS};
use coffer_node_api::heartbeat::{Heartbeat, HeartbeatResponse};
use sqlx::PgConnection;
use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use admin_tokens::IssuedAdminToken;
pub use events::{NodeEvent, NodeEvents};
pub use retention::RetentionSettings;
pub use settings::NodeSettings;

use super::credentials::hash_token;
use super::{Caller, ControlPlane, ServiceError};
use crate::domain::Action;
use crate::store::msp::BundleRow;
use crate::store::node_commands::{self, Completion, NewCommand};
use crate::store::{clusters, node_health};

/// Prefix of node credentials (see `service::nodes`); anything else is refused unread.
const NODE_CREDENTIAL_PREFIX: &str = "cfn_";
const MAX_CREDENTIAL_LEN: usize = 128;
const MAX_ADDRESS_LEN: usize = 256;
const MAX_VERSION_LEN: usize = 64;
/// How long an MSP bundle waits for a cluster that is down before its status turns failed.
pub const MSP_COMMAND_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The node a request comes from, established from its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeIdentity {
    pub cluster_id: Uuid,
    pub org_id: Uuid,
    pub node_index: u32,
}

/// One node of a cluster as customers see it.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    pub index: u32,
    pub instance_id: String,
    /// Where this node's Vault API is reached; null until its first heartbeat.
    pub api_address: Option<String>,
    /// Heartbeat within `MISSED_BEATS_UNHEALTHY` intervals.
    pub healthy: bool,
    pub initialized: Option<bool>,
    pub sealed: Option<bool>,
    pub server_version: Option<String>,
    pub agent_version: Option<String>,
    pub leader: bool,
    pub msp_bundle_version: Option<u64>,
    pub registered_at: OffsetDateTime,
    pub last_heartbeat_at: Option<OffsetDateTime>,
}

/// The node-channel state a [`ControlPlane`] carries.
#[derive(Clone, Default)]
pub struct NodeChannel {
    pub(crate) settings: NodeSettings,
    pub(crate) events: NodeEvents,
}

impl ControlPlane {
    /// Uses `settings` (heartbeat interval, command timeout) instead of the defaults.
    pub fn with_node_settings(mut self, settings: NodeSettings) -> Self {
        self.nodes.settings = settings;
        self
    }

    pub fn node_settings(&self) -> &NodeSettings {
        &self.nodes.settings
    }

    /// The notification fan-out; the process starts its listener
    /// ([`NodeEvents::listen`]) next to the operation listener.
    pub fn node_events(&self) -> &NodeEvents {
        &self.nodes.events
    }

    pub async fn authenticate_node(&self, credential: &str) -> Result<NodeIdentity, ServiceError> {
        if !credential.starts_with(NODE_CREDENTIAL_PREFIX) || credential.len() > MAX_CREDENTIAL_LEN
        {
            return Err(ServiceError::Unauthenticated);
        }
        let row = node_health::authenticate(&self.pool, &hash_token(credential))
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        Ok(NodeIdentity {
            cluster_id: row.cluster_id,
            org_id: row.org_id,
            node_index: u32::try_from(row.node_index)
                .map_err(|_| ServiceError::Internal("negative node index stored".into()))?,
        })
    }

    /// Queues a command for one node of a cluster (node_index 0 = the node that serves the API
    /// for now); returns the command id. `ttl`: how long the command may wait for delivery and
    /// result.
    pub async fn send_node_command(
        &self,
        cluster_id: Uuid,
        node_index: u32,
        body: CommandBody,
        ttl: Duration,
    ) -> Result<Uuid, ServiceError> {
        let mut conn = self.pool.acquire().await?;
        queue(&mut conn, cluster_id, node_index, &body, ttl, None).await
    }

    /// Waits for the command's result; [`ServiceError::Unavailable`] when `timeout` passes.
    pub async fn await_node_command(
        &self,
        command_id: Uuid,
        timeout: Duration,
    ) -> Result<CommandResult, ServiceError> {
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribe before reading so a result stored in between is not missed.
        let mut rx = self.nodes.events.subscribe();
        loop {
            if let Some(result) = self.node_command_result(command_id).await? {
                return Ok(result);
            }
            let recheck = tokio::time::Instant::now() + events::RECHECK;
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => return Err(node_did_not_answer()),
                    () = tokio::time::sleep_until(recheck) => break,
                    msg = rx.recv() => match msg {
                        Ok(NodeEvent::Result(id)) if id == command_id => break,
                        Ok(NodeEvent::WakeAll) | Err(RecvError::Lagged(_)) => break,
                        Ok(_) => {}
                        // Listener gone (shutting down): re-read on the timer only.
                        Err(RecvError::Closed) => {
                            tokio::select! {
                                () = tokio::time::sleep_until(deadline) => return Err(node_did_not_answer()),
                                () = tokio::time::sleep_until(recheck) => break,
                            }
                        }
                    },
                }
            }
        }
    }

    /// Non-blocking: the stored result if any. `NotFound` for an unknown command.
    pub async fn node_command_result(
        &self,
        command_id: Uuid,
    ) -> Result<Option<CommandResult>, ServiceError> {
        let stored = node_commands::result(&self.pool, command_id)
            .await?
            .ok_or(ServiceError::NotFound("command"))?;
        stored
            .map(serde_json::from_value::<CommandResult>)
            .transpose()
            .map_err(|e| ServiceError::Internal(format!("stored command result unreadable: {e}")))
    }

    /// Hands out the node's pending commands, waiting up to `wait` (capped at
    /// `MAX_WAIT_SECS`) for one to be queued.
    pub async fn poll_node_commands(
        &self,
        node: &NodeIdentity,
        wait: Duration,
    ) -> Result<Vec<NodeCommand>, ServiceError> {
        self.poll_node_commands_until(node, wait, &CancellationToken::new()).await
    }

    /// Like [`poll_node_commands`](Self::poll_node_commands), returning empty as soon as
    /// `shutdown` is cancelled. Cancellation only ever interrupts the wait, never a hand-out,
    /// so a command marked delivered is always returned.
    pub async fn poll_node_commands_until(
        &self,
        node: &NodeIdentity,
        wait: Duration,
        shutdown: &CancellationToken,
    ) -> Result<Vec<NodeCommand>, ServiceError> {
        let wait = wait.min(Duration::from_secs(MAX_WAIT_SECS));
        let deadline = tokio::time::Instant::now() + wait;
        let index = slot(node.node_index)?;
        let mut rx = self.nodes.events.subscribe();
        loop {
            let rows = node_commands::take_pending(&self.pool, node.cluster_id, index).await?;
            if !rows.is_empty() {
                return Ok(rows.into_iter().filter_map(|r| to_wire(node, r)).collect());
            }
            let recheck = tokio::time::Instant::now() + events::RECHECK;
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => return Ok(Vec::new()),
                    () = shutdown.cancelled() => return Ok(Vec::new()),
                    () = tokio::time::sleep_until(recheck) => break,
                    msg = rx.recv() => match msg {
                        Ok(NodeEvent::Queued { cluster_id, node_index })
                            if cluster_id == node.cluster_id && node_index == index => break,
                        Ok(NodeEvent::WakeAll) | Err(RecvError::Lagged(_)) => break,
                        Ok(_) => {}
                        Err(RecvError::Closed) => {
                            tokio::select! {
                                () = tokio::time::sleep_until(deadline) => return Ok(Vec::new()),
                                () = shutdown.cancelled() => return Ok(Vec::new()),
                                () = tokio::time::sleep_until(recheck) => break,
                            }
                        }
                    },
                }
            }
        }
    }

    /// Stores a node's result for one of its delivered commands. `NotFound` for a command
    /// that is not this node's; `Conflict` for a second result (the first one stays) or a
    /// command that was never handed out.
    pub async fn complete_node_command(
        &self,
        node: &NodeIdentity,
        id: Uuid,
        result: CommandResult,
    ) -> Result<(), ServiceError> {
        let value = serde_json::to_value(&result)
            .map_err(|e| ServiceError::Internal(format!("serialising a command result: {e}")))?;
        let done =
            node_commands::complete(&self.pool, id, node.cluster_id, slot(node.node_index)?, value)
                .await?;
        match done {
            Completion::Stored => {
                let outcome = match &result {
                    CommandResult::Succeeded { .. } => "succeeded",
                    CommandResult::Failed { .. } => "failed",
                };
                tracing::info!(cluster = %node.cluster_id, node_index = node.node_index,
                    command = %id, outcome, "node command completed");
                Ok(())
            }
            Completion::Unknown => Err(ServiceError::NotFound("command")),
            Completion::AlreadyCompleted => {
                Err(ServiceError::Conflict("this command already has a result".into()))
            }
            Completion::NotDelivered => {
                Err(ServiceError::Conflict("this command was not handed out to this node".into()))
            }
        }
    }

    pub async fn record_heartbeat(
        &self,
        node: &NodeIdentity,
        hb: Heartbeat,
    ) -> Result<HeartbeatResponse, ServiceError> {
        // `https://host:8200/` and `https://host:8200` name the same base URL.
        let api_address = hb.api_address.strip_suffix('/').unwrap_or(&hb.api_address);
        check_address(api_address)?;
        for (what, v) in
            [("server_version", &hb.server_version), ("agent_version", &hb.agent_version)]
        {
            if v.len() > MAX_VERSION_LEN || v.chars().any(char::is_control) {
                return Err(ServiceError::Invalid(format!("{what} is not a version string")));
            }
        }
        let row = node_health::HeartbeatRow {
            api_address,
            initialized: hb.initialized,
            sealed: hb.sealed,
            server_version: &hb.server_version,
            agent_version: &hb.agent_version,
            leader: hb.leader,
            msp_bundle_version: i64::try_from(hb.msp_bundle_version)
                .map_err(|_| ServiceError::Invalid("msp_bundle_version is out of range".into()))?,
            audit_shipped_through: hb.audit_shipped_through,
        };
        let index = slot(node.node_index)?;
        let mut tx = self.pool.begin().await?;
        if !node_health::record_heartbeat(&mut *tx, node.cluster_id, index, &row).await? {
            // The slot was re-registered by another instance between auth and now.
            return Err(ServiceError::Unauthenticated);
        }
        if hb.leader {
            node_health::set_cluster_address(&mut *tx, node.cluster_id, api_address).await?;
        }
        tx.commit().await?;
        Ok(HeartbeatResponse { next_in_secs: self.nodes.settings.heartbeat_interval_secs })
    }

    /// The cluster's nodes with their health, for the API and the console.
    pub async fn cluster_nodes(
        &self,
        caller: Caller,
        org: Uuid,
        cluster: Uuid,
    ) -> Result<Vec<NodeStatus>, ServiceError> {
        self.authorize(caller, org, Action::Read).await?;
        clusters::get(&self.pool, org, cluster).await?.ok_or(ServiceError::NotFound("cluster"))?;
        let after = self.nodes.settings.unhealthy_after().as_secs_f64();
        let rows = node_health::list_health(&self.pool, cluster, after).await?;
        Ok(rows
            .into_iter()
            .map(|r| NodeStatus {
                index: u32::try_from(r.node_index).unwrap_or_default(),
                instance_id: r.instance_id,
                api_address: r.api_address,
                healthy: r.healthy,
                initialized: r.initialized,
                sealed: r.sealed,
                server_version: r.server_version,
                agent_version: r.agent_version,
                leader: r.leader.unwrap_or(false),
                msp_bundle_version: r.msp_bundle_version.and_then(|v| u64::try_from(v).ok()),
                registered_at: r.registered_at,
                last_heartbeat_at: r.last_heartbeat_at,
            })
            .collect())
    }
}

/// Queues `body` for a node slot on `conn` (a transaction's, when the caller has one).
pub(crate) async fn queue(
    conn: &mut PgConnection,
    cluster_id: Uuid,
    node_index: u32,
    body: &CommandBody,
    ttl: Duration,
    msp_version: Option<i64>,
) -> Result<Uuid, ServiceError> {
    let id = Uuid::now_v7();
    let value = serde_json::to_value(body)
        .map_err(|e| ServiceError::Internal(format!("serialising a node command: {e}")))?;
    node_commands::insert(
        &mut *conn,
        NewCommand {
            id,
            cluster_id,
            node_index: slot(node_index)?,
            kind: body.kind(),
            body: value,
            msp_version,
            ttl_secs: ttl.as_secs_f64(),
        },
    )
    .await?;
    tracing::debug!(cluster = %cluster_id, node_index, command = %id, kind = body.kind(), "node command queued");
    Ok(id)
}

/// Queues a published MSP bundle for a node slot.
pub(crate) async fn queue_bundle(
    conn: &mut PgConnection,
    cluster_id: Uuid,
    node_index: u32,
    bundle: &BundleRow,
) -> Result<Uuid, ServiceError> {
    let body = CommandBody::ApplyMspBundle {
        bundle: coffer_node_api::msp::SignedBundle {
            payload: bundle.payload.clone(),
            signature: bundle.signature.clone(),
        },
    };
    queue(conn, cluster_id, node_index, &body, MSP_COMMAND_TTL, Some(bundle.version)).await
}

fn slot(node_index: u32) -> Result<i32, ServiceError> {
    i32::try_from(node_index)
        .map_err(|_| ServiceError::Invalid("node_index is out of range".into()))
}

fn node_did_not_answer() -> ServiceError {
    ServiceError::Unavailable("the cluster's node did not answer in time; try again".into())
}

fn to_wire(node: &NodeIdentity, row: node_commands::DeliveredRow) -> Option<NodeCommand> {
    match serde_json::from_value::<CommandBody>(row.body) {
        Ok(body) => {
            Some(NodeCommand { id: row.id, expires_at: row.expires_at.unix_timestamp(), body })
        }
        Err(e) => {
            // Only this process writes bodies; a row that does not parse is a bug, not input.
            tracing::error!(cluster = %node.cluster_id, command = %row.id, error = %e,
                "stored node command unreadable; dropped");
            None
        }
    }
}

/// An `http(s)://host[:port]` base URL without path, query or credentials.
fn check_address(raw: &str) -> Result<(), ServiceError> {
    let bad = || ServiceError::Invalid("api_address must be an http(s)://host:port URL".into());
    if raw.len() > MAX_ADDRESS_LEN {
        return Err(bad());
    }
    let rest =
        raw.strip_prefix("https://").or_else(|| raw.strip_prefix("http://")).ok_or_else(bad)?;
    let ok = !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let check = |raw: &str, ok: bool| assert_eq!(check_address(raw).is_ok(), ok, "{raw}");
        check("http://127.0.3.7:8200", true);
        check("https://node-0.c-1.eu-west-1.coffer.example:8200", true);
        check("https://[::1]:8200", true);
        check("ftp://x", false);
        check("http://", false);
        check("http://user:pw@host", false);
        check("http://host/path", false);
        check("http://host?q", false);
        check("http://<script>", false);
        check(&format!("http://{}", "a".repeat(300)), false);
    }
}
