//! The node channel over HTTP: the agent's long poll for commands, its results and heartbeats
//! (bearer: node credential), and the customer's view of a cluster's nodes with their health.
//!
//! Node routes accept only node credentials (`cfn_...`): customer and operator tokens are
//! refused like any unknown credential, and a node credential works nowhere else. The bodies
//! are the shared wire types of `coffer-node-api`; unknown fields are tolerated so an agent
//! one release ahead still talks to this control plane.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use coffer_node_api::commands::{CommandBatch, CommandResult};
use coffer_node_api::heartbeat::{Heartbeat, HeartbeatResponse};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::{bearer_token, Authed};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::AppState;
use crate::service::{NodeIdentity, NodeStatus};

/// An authenticated node (bearer node credential only).
pub struct NodeAuthed(pub NodeIdentity);

impl FromRequestParts<Arc<AppState>> for NodeAuthed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        // A refused credential maps to 401 like a missing one (`From<ServiceError>`).
        Ok(NodeAuthed(state.cp.authenticate_node(token).await?))
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PollQuery {
    /// Seconds to hold the request open waiting for a command (0..=30, default 0).
    pub wait_secs: Option<u64>,
}

/// Long poll for this node's commands. Each command is handed out once.
#[utoipa::path(get, path = "/v1/nodes/commands", tag = "nodes", params(PollQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "CommandBatch: {\"commands\": [NodeCommand]}",
            body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn poll_commands(
    State(state): State<Arc<AppState>>,
    NodeAuthed(node): NodeAuthed,
    ApiQuery(q): ApiQuery<PollQuery>,
) -> Result<Json<CommandBatch>, ApiError> {
    let wait = Duration::from_secs(q.wait_secs.unwrap_or(0));
    let commands = state.cp.poll_node_commands_until(&node, wait, &state.shutdown).await?;
    Ok(Json(CommandBatch { commands }))
}

/// Post the result of a command this node received. A second result is refused (409).
#[utoipa::path(post, path = "/v1/nodes/commands/{command_id}/result", tag = "nodes",
    params(("command_id" = Uuid, Path)), security(("bearer" = [])),
    request_body(content = Object, description = "CommandResult: {\"status\": \"succeeded\", \"output\": {...}} or {\"status\": \"failed\", \"error\": \"...\"}"),
    responses((status = 204, description = "Result stored"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn post_result(
    State(state): State<Arc<AppState>>,
    NodeAuthed(node): NodeAuthed,
    ApiPath(command_id): ApiPath<Uuid>,
    ApiJson(result): ApiJson<CommandResult>,
) -> Result<StatusCode, ApiError> {
    state.cp.complete_node_command(&node, command_id, result).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Report this node's state; the answer says when to report next.
#[utoipa::path(post, path = "/v1/nodes/heartbeat", tag = "nodes", security(("bearer" = [])),
    request_body(content = Object, description = "Heartbeat: api_address, initialized, sealed, server_version, agent_version, leader, msp_bundle_version, audit_shipped_through"),
    responses((status = 200, description = "HeartbeatResponse: {\"next_in_secs\": N}", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn heartbeat(
    State(state): State<Arc<AppState>>,
    NodeAuthed(node): NodeAuthed,
    ApiJson(hb): ApiJson<Heartbeat>,
) -> Result<Json<HeartbeatResponse>, ApiError> {
    Ok(Json(state.cp.record_heartbeat(&node, hb).await?))
}

#[derive(Serialize, ToSchema)]
pub struct NodeDto {
    pub index: u32,
    pub instance_id: String,
    /// Where this node's Vault API is reached; null until its first heartbeat.
    pub api_address: Option<String>,
    /// A heartbeat arrived within the last three heartbeat intervals.
    pub healthy: bool,
    pub initialized: Option<bool>,
    pub sealed: Option<bool>,
    pub server_version: Option<String>,
    pub agent_version: Option<String>,
    /// This node answers as the active node.
    pub leader: bool,
    /// The operator-policy bundle version last applied on this node.
    pub msp_bundle_version: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub registered_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_heartbeat_at: Option<OffsetDateTime>,
}

impl From<NodeStatus> for NodeDto {
    fn from(n: NodeStatus) -> Self {
        Self {
            index: n.index,
            instance_id: n.instance_id,
            api_address: n.api_address,
            healthy: n.healthy,
            initialized: n.initialized,
            sealed: n.sealed,
            server_version: n.server_version,
            agent_version: n.agent_version,
            leader: n.leader,
            msp_bundle_version: n.msp_bundle_version,
            registered_at: n.registered_at,
            last_heartbeat_at: n.last_heartbeat_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NodeList {
    pub nodes: Vec<NodeDto>,
}

/// The cluster's registered nodes with their health.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/clusters/{cluster_id}/nodes", tag = "clusters",
    params(("org_id" = Uuid, Path), ("cluster_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = NodeList), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list_nodes(
    State(state): State<Arc<AppState>>,
    Authed(caller): Authed,
    ApiPath((org_id, cluster_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<NodeList>, ApiError> {
    let nodes = state.cp.cluster_nodes(caller, org_id, cluster_id).await?;
    Ok(Json(NodeList { nodes: nodes.into_iter().map(NodeDto::from).collect() }))
}
