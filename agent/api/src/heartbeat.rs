//! Heartbeats: `POST /v1/nodes/heartbeat` (bearer: node credential) every
//! [`HeartbeatResponse::next_in_secs`] seconds. A node whose heartbeats stop for
//! [`MISSED_BEATS_UNHEALTHY`] intervals is shown unhealthy in the cluster view.

use serde::{Deserialize, Serialize};

pub const HEARTBEAT_PATH: &str = "/v1/nodes/heartbeat";
/// The interval the control plane asks for unless configured otherwise.
pub const DEFAULT_INTERVAL_SECS: u64 = 10;
pub const MISSED_BEATS_UNHEALTHY: u64 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Where customers reach this node's Vault API, e.g. `http://127.0.3.7:8200` or
    /// `https://node-0.c-123.eu-west-1.coffer.example:8200`.
    pub api_address: String,
    pub initialized: bool,
    pub sealed: bool,
    /// `coffer-server` version as reported by `sys/health`.
    pub server_version: String,
    pub agent_version: String,
    /// True when this node answers as the active node.
    pub leader: bool,
    /// The last operator-policy bundle version applied on this node (0: none yet).
    #[serde(default)]
    pub msp_bundle_version: u64,
    /// Unix seconds of the newest audit line already shipped to S3, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_shipped_through: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    pub next_in_secs: u64,
}
