//! The command long-poll loop.
//!
//! One outstanding poll at a time; each received command is admitted (expiry, then the
//! journal, both before anything is applied) by the loop itself, so admission is sequential
//! and the journal needs no lock, and is then run as its own task: a slow snapshot must not
//! hold up an admin-token request queued behind it. Results are posted with retries until the
//! command's expiry (the control plane stops waiting then) or shutdown.

use std::sync::Arc;
use std::time::Duration;

use coffer_node_api::commands::{CommandResult, NodeCommand, MAX_WAIT_SECS};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::backoff::Backoff;
use super::client::ControlPlane;
use super::dispatch::{to_result, Handlers};
use super::journal::{Admission, Journal};
use super::unix_now;

/// Retry pacing for polls and result posts.
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long past its expiry a result is still worth posting (clock skew).
const RESULT_GRACE_SECS: i64 = 60;
/// How long shutdown waits for running commands.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Polls for commands until `cancel`, then waits (bounded) for running ones.
pub async fn run(
    cp: ControlPlane,
    handlers: Arc<Handlers>,
    mut journal: Journal,
    cancel: CancellationToken,
) {
    let tracker = TaskTracker::new();
    let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);
    let mut failing = false;
    loop {
        let polled = tokio::select! {
            _ = cancel.cancelled() => break,
            r = cp.poll(MAX_WAIT_SECS) => r,
        };
        match polled {
            Ok(batch) => {
                if failing {
                    tracing::info!("command channel to the control plane restored");
                    failing = false;
                }
                backoff.reset();
                for cmd in batch.commands {
                    start(cmd, &cp, &handlers, &mut journal, &tracker, &cancel);
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "polling the control plane for commands failed; retrying");
                    failing = true;
                } else {
                    tracing::debug!(error = %e, "command poll failed again");
                }
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(backoff.next_delay()) => {}
                }
            }
        }
    }
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await.is_err() {
        tracing::warn!("commands still running at shutdown were abandoned");
    }
}

/// Admits `cmd` and spawns its handling (or its refusal).
fn start(
    cmd: NodeCommand,
    cp: &ControlPlane,
    handlers: &Arc<Handlers>,
    journal: &mut Journal,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) {
    let kind = cmd.body.kind();
    let refusal = if cmd.expires_at <= unix_now() {
        Some("the command expired before the node received it")
    } else {
        match journal.admit(cmd.id, cmd.expires_at) {
            Ok(Admission::Start) => None,
            Ok(Admission::Duplicate) => {
                Some("the command was already started on this node; it is not applied twice")
            }
            Err(e) => {
                tracing::error!(id = %cmd.id, kind, error = %e, "cannot journal the command");
                Some("the node could not record the command; it was not applied")
            }
        }
    };
    let (cp, handlers, cancel) = (cp.clone(), Arc::clone(handlers), cancel.clone());
    tracker.spawn(async move {
        let result = match refusal {
            Some(error) => {
                tracing::warn!(id = %cmd.id, kind, error, "command refused");
                CommandResult::Failed { error: error.to_owned() }
            }
            None => {
                tracing::info!(id = %cmd.id, kind, "command started");
                to_result(kind, cmd.id, handlers.handle(&cmd.body).await)
            }
        };
        post(&cp, cmd.id, cmd.expires_at, &result, &cancel).await;
    });
}

/// Posts a result, retrying transient failures until the command is stale or shutdown.
async fn post(
    cp: &ControlPlane,
    id: Uuid,
    expires_at: i64,
    result: &CommandResult,
    cancel: &CancellationToken,
) {
    let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);
    loop {
        let e = match cp.post_result(id, result).await {
            Ok(()) => return,
            Err(e) => e,
        };
        let stale = unix_now() > expires_at.saturating_add(RESULT_GRACE_SECS);
        if e.is_permanent() || stale || cancel.is_cancelled() {
            tracing::warn!(%id, error = %e, "giving up posting the command result");
            return;
        }
        tracing::debug!(%id, error = %e, "posting the command result failed; retrying");
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
}
