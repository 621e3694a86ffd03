//! Node registration: the agent's first call to the control plane (`POST /v1/nodes/register`).
//!
//! These mirror the JSON of the control plane's endpoint (`control-plane/src/http/nodes.rs`),
//! which keeps its own utoipa-annotated types for the OpenAPI document; a round-trip test here
//! pins the field names. Both the join token and the returned credential are secrets, so
//! neither appears in `Debug`.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::bootstrap::JoinToken;

/// Path of the registration endpoint, relative to the control plane's base URL.
pub const REGISTER_PATH: &str = "/v1/nodes/register";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterNodeRequest {
    /// The one-time token from the node's bootstrap document.
    pub join_token: JoinToken,
    /// The EC2 instance id the node runs on.
    pub instance_id: String,
    pub node_index: u32,
    /// The cluster id from the bootstrap document; the control plane checks it against the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterNodeResponse {
    pub cluster_id: Uuid,
    pub node_index: u32,
    /// The node's credential towards the control plane, returned exactly once.
    pub node_credential: NodeCredential,
}

/// The node's long-lived credential towards the control plane. Redacted from `Debug`, wiped on
/// drop.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeCredential(String);

impl NodeCredential {
    pub fn new(credential: String) -> Self {
        NodeCredential(credential)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NodeCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NodeCredential(<redacted>)")
    }
}

impl Drop for NodeCredential {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_json_matches_the_control_plane() {
        let req = RegisterNodeRequest {
            join_token: JoinToken::new("jt-secret".into()),
            instance_id: "i-0123".into(),
            node_index: 2,
            cluster_id: Some(Uuid::from_u128(7)),
        };
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "join_token": "jt-secret",
                "instance_id": "i-0123",
                "node_index": 2,
                "cluster_id": "00000000-0000-0000-0000-000000000007",
            })
        );
        assert!(!format!("{req:?}").contains("jt-secret"));
    }

    #[test]
    fn response_parses_and_redacts() {
        let raw = r#"{"cluster_id":"00000000-0000-0000-0000-000000000007","node_index":1,
                      "node_credential":"cpn_very_secret"}"#;
        let resp: RegisterNodeResponse = serde_json::from_str(raw).unwrap();
        assert_eq!(resp.node_credential.expose(), "cpn_very_secret");
        assert_eq!(resp.node_index, 1);
        assert!(!format!("{resp:?}").contains("very_secret"));
    }
}
