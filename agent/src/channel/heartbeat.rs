//! The heartbeat loop: the node's health as the control plane shows it to customers.
//!
//! Every interval (the control plane chooses it in each response) the agent reads the local
//! server's `sys/health` and reports it with the node's advertised API address and the last
//! MSP bundle version applied and how far the audit log has been shipped. A server that does not answer is reported sealed and not
//! leader: the agent is alive, the node is not serving. The same loop renews the agent's own
//! periodic token now and then, so it never lapses on a long-lived node.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coffer_node_api::heartbeat::{Heartbeat, DEFAULT_INTERVAL_SECS};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use super::client::ControlPlane;
use super::dispatch::Handlers;
use crate::vault::VaultClient;

/// Bounds on the interval the control plane may ask for.
const MIN_INTERVAL_SECS: u64 = 1;
const MAX_INTERVAL_SECS: u64 = 300;
/// How often the agent renews its own (768 h periodic) token.
const RENEW_EVERY: Duration = Duration::from_secs(12 * 3600);

/// What the heartbeat reports about.
pub struct HeartbeatCtx {
    pub vault: VaultClient,
    /// The agent's token, renewed from here.
    pub agent_token: SecretString,
    /// `--advertise-addr`.
    pub api_address: String,
    pub handlers: Arc<Handlers>,
    /// Unix time of the newest audit line shipped to S3 (0: none yet), from the shipper.
    pub audit_shipped_through: Arc<AtomicI64>,
}

/// The heartbeat for the server's current state.
pub async fn current(ctx: &HeartbeatCtx) -> Heartbeat {
    let (initialized, sealed, leader, server_version) = match ctx.vault.health_detail().await {
        Ok(h) => (h.initialized, h.sealed, h.leader(), h.version),
        Err(e) => {
            tracing::debug!(error = %e, "server health unavailable for the heartbeat");
            (false, true, false, String::new())
        }
    };
    Heartbeat {
        api_address: ctx.api_address.clone(),
        initialized,
        sealed,
        server_version,
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        leader,
        msp_bundle_version: ctx.handlers.msp.version(),
        audit_shipped_through: Some(ctx.audit_shipped_through.load(Ordering::Acquire))
            .filter(|t| *t > 0),
    }
}

/// Sends heartbeats until `cancel`.
pub async fn run(cp: ControlPlane, ctx: HeartbeatCtx, cancel: CancellationToken) {
    let mut interval = Duration::from_secs(DEFAULT_INTERVAL_SECS);
    let mut failing = false;
    let mut renewed: Option<Instant> = None;
    loop {
        let hb = current(&ctx).await;
        match cp.heartbeat(&hb).await {
            Ok(resp) => {
                if failing {
                    tracing::info!("heartbeats to the control plane restored");
                    failing = false;
                }
                let secs = resp.next_in_secs.clamp(MIN_INTERVAL_SECS, MAX_INTERVAL_SECS);
                interval = Duration::from_secs(secs);
            }
            Err(e) if !failing => {
                tracing::warn!(error = %e, "heartbeat failed; retrying every interval");
                failing = true;
            }
            Err(e) => tracing::debug!(error = %e, "heartbeat failed again"),
        }
        if hb.leader && renewed.is_none_or(|t| t.elapsed() >= RENEW_EVERY) {
            match ctx.vault.renew_self(&ctx.agent_token).await {
                Ok(()) => renewed = Some(Instant::now()),
                Err(e) => tracing::warn!(error = %e, "cannot renew the agent's token"),
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
