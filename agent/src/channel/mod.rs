//! The agent's channel to the control plane after registration: the command long-poll loop,
//! the heartbeat loop, the journal that makes command application at-most-once, and the
//! dispatcher that routes each command to its handler.
//!
//! Nodes accept no inbound connection from the control plane (only customers' 8200), so
//! everything is pulled: commands by a long poll, and health pushed by heartbeats. Both loops
//! stop on the shared `CancellationToken` (SIGTERM).

pub mod backoff;
pub mod client;
pub mod commands;
pub mod dispatch;
pub mod failure;
pub mod heartbeat;
pub mod journal;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

pub use client::{ChannelError, ControlPlane};
pub use dispatch::Handlers;
pub use failure::CommandFailure;
pub use heartbeat::HeartbeatCtx;
pub use journal::{Journal, JournalError};

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Where the journal of started commands lives.
pub fn journal_path(data_dir: &Path) -> PathBuf {
    data_dir.join("command-journal")
}

/// Runs both loops until `cancel`; returns once both have stopped.
pub async fn run(
    cp: ControlPlane,
    handlers: Arc<Handlers>,
    heartbeat: HeartbeatCtx,
    journal: Journal,
    cancel: CancellationToken,
) {
    let beats = heartbeat::run(cp.clone(), heartbeat, cancel.clone());
    let polls = commands::run(cp, handlers, journal, cancel);
    tokio::join!(beats, polls);
}
