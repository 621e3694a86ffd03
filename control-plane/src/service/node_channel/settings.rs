//! The `[nodes]` configuration section: how often nodes heartbeat, how long a request that
//! needs a node's answer (an admin token) waits for it, and how long settled commands are kept.

use std::time::Duration;

use coffer_node_api::heartbeat::{DEFAULT_INTERVAL_SECS, MISSED_BEATS_UNHEALTHY};
use serde::Deserialize;

use super::retention::RetentionSettings;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSettings {
    /// The heartbeat interval nodes are told to keep; a node is unhealthy after
    /// `MISSED_BEATS_UNHEALTHY` intervals without one.
    pub heartbeat_interval_secs: u64,
    /// How long an API request waits for a node to answer a command before it fails with
    /// `node_unavailable`. Also the command's lifetime: a node that sees it later skips it.
    pub command_timeout_ms: u64,
    /// Pruning of settled and expired commands.
    pub retention: RetentionSettings,
}

impl Default for NodeSettings {
    fn default() -> Self {
        Self {
            heartbeat_interval_secs: DEFAULT_INTERVAL_SECS,
            command_timeout_ms: 20_000,
            retention: RetentionSettings::default(),
        }
    }
}

impl NodeSettings {
    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }

    /// Age of the last heartbeat after which a node counts as unhealthy.
    pub fn unhealthy_after(&self) -> Duration {
        Duration::from_secs(self.heartbeat_interval_secs.saturating_mul(MISSED_BEATS_UNHEALTHY))
    }

    /// Range checks; `None` when valid, else what is wrong.
    pub fn problem(&self) -> Option<&'static str> {
        if !(1..=3600).contains(&self.heartbeat_interval_secs) {
            return Some("nodes.heartbeat_interval_secs must be between 1 and 3600");
        }
        if !(100..=120_000).contains(&self.command_timeout_ms) {
            return Some("nodes.command_timeout_ms must be between 100 and 120000");
        }
        self.retention.problem()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let check = |hb: u64, timeout: u64, ok: bool| {
            let s = NodeSettings {
                heartbeat_interval_secs: hb,
                command_timeout_ms: timeout,
                ..NodeSettings::default()
            };
            assert_eq!(s.problem().is_none(), ok, "{hb} {timeout}");
        };
        check(10, 20_000, true);
        check(1, 100, true);
        check(0, 20_000, false);
        check(3601, 20_000, false);
        check(10, 99, false);
        check(10, 120_001, false);
        let d = NodeSettings::default();
        assert_eq!(d.unhealthy_after(), Duration::from_secs(30));
        assert_eq!(d.command_timeout(), Duration::from_secs(20));
    }
}
