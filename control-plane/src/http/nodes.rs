//! Node registration: the node agent's first call, authenticated by its one-time join token
//! (in the body) rather than a bearer token.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use super::AppState;
use crate::service::NodeRegistration;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterNodeRequest {
    /// The one-time token from the node's bootstrap document.
    #[schema(value_type = String, format = Password)]
    pub join_token: SecretString,
    /// The EC2 instance id the node runs on (from instance metadata).
    pub instance_id: String,
    pub node_index: u32,
    /// The cluster id from the bootstrap document; checked against the token when given.
    pub cluster_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct RegisterNodeResponse {
    pub cluster_id: Uuid,
    pub node_index: u32,
    /// The node's credential towards the control plane. Returned once; store it securely.
    pub node_credential: String,
}

/// Register a node with its one-time join token; returns the node credential once.
#[utoipa::path(post, path = "/v1/nodes/register", tag = "nodes", request_body = RegisterNodeRequest,
    responses((status = 200, body = RegisterNodeResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn register_node(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<RegisterNodeRequest>,
) -> Result<Json<RegisterNodeResponse>, ApiError> {
    let node = state
        .cp
        .register_node(NodeRegistration {
            join_token: req.join_token,
            instance_id: req.instance_id,
            node_index: req.node_index,
            cluster_id: req.cluster_id,
        })
        .await?;
    Ok(Json(RegisterNodeResponse {
        cluster_id: node.cluster_id,
        node_index: node.node_index,
        node_credential: node.node_credential.expose_secret().to_owned(),
    }))
}
