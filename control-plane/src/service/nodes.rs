//! Node registration: a new node trades its one-time join token for a node credential.
//!
//! The join token reached the node in its EC2 user data, which anything on the instance can
//! read, so it is deliberately weak: single use, short-lived, and only valid from the instance
//! it was bound to. The credential returned here is the node's long-lived identity towards the
//! control plane; only its SHA-256 is stored. Registration is also how a node reports that the
//! cluster is initialised: the provisioning engine's `wait_for_nodes` step completes once
//! every node slot has registered.
//!
//! Every refusal of a token (unknown, expired, used, bound elsewhere) is the same
//! `Unauthenticated`, so a caller learns nothing about which tokens exist.

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::credentials::{hash_token, random_secret};
use super::node_channel::queue_bundle;
use super::{ControlPlane, ServiceError};
use crate::store::{msp, nodes};

/// Prefix of node credentials, so a leaked one is recognisable.
const NODE_CREDENTIAL_PREFIX: &str = "cfn_";
const MAX_INSTANCE_ID: usize = 64;

/// A registration request as received.
#[derive(Debug)]
pub struct NodeRegistration {
    pub join_token: SecretString,
    pub instance_id: String,
    pub node_index: u32,
    /// When given, must match the token's cluster.
    pub cluster_id: Option<Uuid>,
}

/// A registered node and its credential (shown once).
#[derive(Debug)]
pub struct RegisteredNode {
    pub cluster_id: Uuid,
    pub node_index: u32,
    pub node_credential: SecretString,
}

impl ControlPlane {
    pub async fn register_node(
        &self,
        req: NodeRegistration,
    ) -> Result<RegisteredNode, ServiceError> {
        let id_ok = !req.instance_id.is_empty()
            && req.instance_id.len() <= MAX_INSTANCE_ID
            && req.instance_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok {
            return Err(ServiceError::Invalid("instance_id is not an instance id".into()));
        }
        let node_index = i32::try_from(req.node_index)
            .map_err(|_| ServiceError::Invalid("node_index is out of range".into()))?;
        let token_hash = hash_token(req.join_token.expose_secret());
        let mut tx = self.pool.begin().await?;
        let Some(token) = nodes::lock_join_token(&mut tx, &token_hash).await? else {
            return Err(ServiceError::Unauthenticated);
        };
        let matches = token.used_at.is_none()
            && !token.expired
            && token.node_index == node_index
            && req.cluster_id.is_none_or(|c| c == token.cluster_id);
        if !matches {
            return Err(ServiceError::Unauthenticated);
        }
        match token.instance_id.as_deref() {
            // The engine records the instance right after launching it; an agent that boots
            // faster than that retries.
            None => {
                return Err(ServiceError::Conflict(
                    "this node is not yet known to the control plane; retry shortly".into(),
                ))
            }
            Some(bound) if bound != req.instance_id => return Err(ServiceError::Unauthenticated),
            Some(_) => {}
        }
        let credential = random_secret(NODE_CREDENTIAL_PREFIX);
        nodes::consume_join_tokens(&mut tx, token.cluster_id, token.operation_id, node_index)
            .await?;
        nodes::upsert_node(
            &mut tx,
            token.cluster_id,
            node_index,
            &req.instance_id,
            &hash_token(credential.expose_secret()),
        )
        .await?;
        // The API node (re)joining gets the newest operator-policy bundle; the cluster
        // replicates policies to the other nodes.
        if node_index == 0 {
            if let Some(bundle) = msp::latest(&mut *tx).await? {
                queue_bundle(&mut tx, token.cluster_id, req.node_index, &bundle).await?;
            }
        }
        tx.commit().await?;
        tracing::info!(cluster = %token.cluster_id, node_index, instance = %req.instance_id, "node registered");
        Ok(RegisteredNode {
            cluster_id: token.cluster_id,
            node_index: req.node_index,
            node_credential: credential,
        })
    }
}
