//! The daily automatic snapshot of production-tier clusters, as a task of the control plane.
//!
//! Each pass is [`ControlPlane::schedule_due_snapshots`]: clusters whose newest usable snapshot
//! is older than `max_age` get one queued. Passes are serialised across replicas by a database
//! lock, so running the task on every replica is safe. Off unless `snapshots.schedule.enabled`
//! (API tests drive passes directly with their own clock instead).

use std::time::Duration;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::service::{ControlPlane, ScheduleSettings, ServiceError};
use crate::store::snapshots::SnapshotRow;

#[derive(Clone)]
pub struct SnapshotScheduler {
    cp: ControlPlane,
    interval: Duration,
    max_age: Duration,
}

impl SnapshotScheduler {
    pub fn new(cp: ControlPlane, settings: &ScheduleSettings) -> Self {
        Self {
            cp,
            interval: Duration::from_secs(settings.interval_secs),
            max_age: Duration::from_secs(settings.max_age_secs),
        }
    }

    /// One pass as of `now`; returns the snapshots queued.
    pub async fn tick(&self, now: OffsetDateTime) -> Result<Vec<SnapshotRow>, ServiceError> {
        self.cp.schedule_due_snapshots(now, self.max_age).await
    }

    /// Runs passes every `interval` until `cancel`. A failed pass is logged and retried on
    /// the next interval; it never ends the task.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            match self.tick(OffsetDateTime::now_utc()).await {
                Ok(queued) if !queued.is_empty() => {
                    tracing::info!(count = queued.len(), "scheduled snapshots queued");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "snapshot schedule pass failed"),
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}
