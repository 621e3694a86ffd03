//! Fan-out of node-channel notifications from Postgres to in-process waiters.
//!
//! The `node_commands_notify` trigger announces every queued command (to wake the long polls of
//! its node) and every stored result (to wake whoever awaits it), so a command queued or
//! answered through any replica wakes waiters on every replica. One `LISTEN` connection per
//! process feeds a broadcast channel; waiters subscribe and filter. Waiters also re-check on a
//! slow timer, so a notification lost with a dropped connection delays them but never strands
//! them.

use std::time::Duration;

use uuid::Uuid;

use crate::service::notify::{Notification, Notifications};

/// Channel name used by the `notify_node_command` trigger.
pub const CHANNEL: &str = "coffer_node_command";

/// How often a waiter re-reads even without a notification.
pub const RECHECK: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeEvent {
    /// A command was queued for this node slot.
    Queued { cluster_id: Uuid, node_index: i32 },
    /// This command has a result.
    Result(Uuid),
    /// Notifications may have been lost (listener reconnected): everyone re-reads.
    WakeAll,
}

impl NodeEvent {
    /// Parses a trigger payload: `queued:<cluster>:<index>` or `result:<id>`.
    pub fn parse(payload: &str) -> Option<NodeEvent> {
        if let Some(rest) = payload.strip_prefix("queued:") {
            let (cluster, index) = rest.split_once(':')?;
            return Some(NodeEvent::Queued {
                cluster_id: Uuid::parse_str(cluster).ok()?,
                node_index: index.parse().ok()?,
            });
        }
        payload
            .strip_prefix("result:")
            .and_then(|id| Uuid::parse_str(id).ok())
            .map(NodeEvent::Result)
    }
}

pub type NodeEvents = Notifications<NodeEvent>;

impl Notification for NodeEvent {
    const CHANNEL: &'static str = CHANNEL;
    const WAKE_ALL: Self = NodeEvent::WakeAll;
    fn parse(payload: &str) -> Option<Self> {
        NodeEvent::parse(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse() {
        let c = Uuid::from_u128(7);
        let check = |raw: &str, expect: Option<NodeEvent>| {
            assert_eq!(NodeEvent::parse(raw), expect, "{raw}");
        };
        check(&format!("queued:{c}:2"), Some(NodeEvent::Queued { cluster_id: c, node_index: 2 }));
        check(&format!("result:{c}"), Some(NodeEvent::Result(c)));
        check(&format!("queued:{c}"), None);
        check(&format!("queued:{c}:x"), None);
        check("result:nope", None);
        check("other", None);
    }
}
