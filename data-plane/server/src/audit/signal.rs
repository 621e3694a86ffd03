//! SIGHUP reopens the audit logs, so `logrotate` (rename + HUP) works as with Vault.

use crate::core::Core;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

/// Runs until `cancel`: on every SIGHUP, reopens the audit devices of an unsealed core.
pub async fn reopen_on_sighup(core: Arc<Core>, cancel: CancellationToken) {
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; audit logs will not be reopened");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            got = hup.recv() => {
                if got.is_none() {
                    return;
                }
            }
        }
        tracing::info!("SIGHUP: reopening audit logs");
        let c = Arc::clone(&core);
        // Opening files is blocking I/O: keep it off the async workers.
        if let Err(e) = tokio::task::spawn_blocking(move || c.audit.reopen()).await {
            tracing::error!(error = %e, "audit reopen task failed");
        }
    }
}
