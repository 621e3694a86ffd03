//! The periodic pruning of settled and expired node commands, as a task of the control plane
//! (see `service::node_channel::retention` for what is kept and why).
//!
//! Safe on every replica: each batch skips rows another replica has locked. On by default
//! (`nodes.retention.enabled`); the first pass runs at start-up.

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::service::{ControlPlane, RetentionSettings};

pub struct CommandRetention {
    cp: ControlPlane,
    settings: RetentionSettings,
}

impl CommandRetention {
    pub fn new(cp: ControlPlane, settings: RetentionSettings) -> Self {
        Self { cp, settings }
    }

    /// Prunes every `interval` until `cancel`. A failed pass is logged and retried on the
    /// next interval; it never ends the task.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            let pass = self.cp.prune_node_commands(OffsetDateTime::now_utc(), &self.settings);
            // A long pass (a large backlog) must not hold up shutdown.
            tokio::select! {
                () = cancel.cancelled() => return,
                result = pass => match result {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, "old node commands pruned"),
                    Err(e) => tracing::warn!(error = %e, "node command pruning failed"),
                },
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.settings.interval()) => {}
            }
        }
    }
}
