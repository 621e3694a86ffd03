//! Cluster snapshots: take, list, restore and delete, carried out by the cluster's node.
//!
//! The control plane never touches snapshot data. It picks the object key (in the cluster's own
//! snapshots bucket, from `cluster_resources`), queues TakeSnapshot / RestoreSnapshot /
//! DeleteSnapshot on the node channel and records the command on the snapshot row. There is no
//! background job watching commands: every read reconciles an in-flight snapshot from the
//! command's stored result, or settles it once the command has expired unanswered (see
//! `outcome` for what each answer means). So a snapshot cannot stay `creating` or `restoring`
//! forever, whichever replica (or none) was up when the node answered.

use std::time::Duration;

use coffer_node_api::commands::CommandBody;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

mod outcome;

pub use outcome::NODE_DID_NOT_ANSWER;

use super::{Caller, ControlPlane, ServiceError};
use crate::domain::{Action, ClusterState, PageSize, PageToken};
use crate::store::clusters::{self, ClusterRow};
use crate::store::snapshots::{self, origin, state, NewSnapshot, Settle, SnapshotRow};
use crate::store::Page;

/// The node that serves the API (and takes snapshots) for now.
const NODE: u32 = 0;
/// Bucket role (in `cluster_resources`) of the snapshots bucket.
pub(crate) const SNAPSHOTS_BUCKET: &str = "snapshots";

/// The `[snapshots]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotSettings {
    /// How long a TakeSnapshot command may take (delivery + upload) before the snapshot fails.
    pub take_timeout_secs: u64,
    /// Same for RestoreSnapshot.
    pub restore_timeout_secs: u64,
    /// Lifetime of a DeleteSnapshot command.
    pub delete_timeout_secs: u64,
    pub schedule: ScheduleSettings,
}

/// The daily automatic snapshot of production-tier clusters.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSettings {
    pub enabled: bool,
    /// How often to look for clusters that are due.
    pub interval_secs: u64,
    /// A cluster is due when its newest usable snapshot is older than this.
    pub max_age_secs: u64,
}

impl Default for SnapshotSettings {
    fn default() -> Self {
        Self {
            take_timeout_secs: 1800,
            restore_timeout_secs: 3600,
            delete_timeout_secs: 3600,
            schedule: ScheduleSettings::default(),
        }
    }
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self { enabled: false, interval_secs: 900, max_age_secs: 24 * 3600 }
    }
}

impl SnapshotSettings {
    /// Range checks; `None` when valid, else what is wrong.
    pub fn problem(&self) -> Option<&'static str> {
        let day = 24 * 3600;
        if !(1..=day).contains(&self.take_timeout_secs)
            || !(1..=day).contains(&self.restore_timeout_secs)
            || !(1..=7 * day).contains(&self.delete_timeout_secs)
        {
            return Some(
                "snapshots.*_timeout_secs must be between 1 second and 1 day (delete: 7 days)",
            );
        }
        if !(1..=day).contains(&self.schedule.interval_secs) {
            return Some("snapshots.schedule.interval_secs must be between 1 and 86400");
        }
        if !(3600..=30 * day).contains(&self.schedule.max_age_secs) {
            return Some("snapshots.schedule.max_age_secs must be between 3600 and 30 days");
        }
        None
    }
}

/// `snapshots/{cluster_id}/{snapshot_id}.snap`: deterministic, so a retried upload overwrites.
pub fn object_key(cluster_id: Uuid, snapshot_id: Uuid) -> String {
    format!("snapshots/{cluster_id}/{snapshot_id}.snap")
}

fn deadline(now: OffsetDateTime, secs: u64) -> OffsetDateTime {
    now + Duration::from_secs(secs)
}

impl ControlPlane {
    /// Uses `settings` (command timeouts, schedule) instead of the defaults.
    pub fn with_snapshot_settings(mut self, settings: SnapshotSettings) -> Self {
        self.snapshots = settings;
        self
    }

    pub fn snapshot_settings(&self) -> &SnapshotSettings {
        &self.snapshots
    }

    /// The cluster in the org, or `NotFound` (also for another org's cluster).
    async fn snapshot_cluster(&self, org_id: Uuid, id: Uuid) -> Result<ClusterRow, ServiceError> {
        clusters::get(&self.pool, org_id, id).await?.ok_or(ServiceError::NotFound("cluster"))
    }

    pub async fn list_snapshots(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
        size: PageSize,
        token: Option<PageToken>,
    ) -> Result<Page<SnapshotRow>, ServiceError> {
        self.authorize(caller, org_id, Action::Read).await?;
        self.snapshot_cluster(org_id, cluster_id).await?;
        let page = snapshots::list(&self.pool, org_id, cluster_id, size, token).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for row in page.items {
            items.push(self.reconcile(row).await?);
        }
        Ok(Page { items, next: page.next })
    }

    pub async fn get_snapshot(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
        id: Uuid,
    ) -> Result<SnapshotRow, ServiceError> {
        self.authorize(caller, org_id, Action::Read).await?;
        self.get_snapshot_row(org_id, cluster_id, id).await
    }

    /// Asks the cluster's node for a snapshot; returns it in state `creating`.
    pub async fn create_snapshot(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
    ) -> Result<SnapshotRow, ServiceError> {
        self.authorize(caller, org_id, Action::ManageClusters).await?;
        let cluster = self.snapshot_cluster(org_id, cluster_id).await?;
        reject_unless_live(&cluster)?;
        let bucket = snapshots::cluster_bucket(&self.pool, cluster_id, SNAPSHOTS_BUCKET)
            .await?
            .ok_or_else(not_provisioned)?;
        let id = Uuid::now_v7();
        let key = object_key(cluster_id, id);
        let row = snapshots::insert(
            &self.pool,
            NewSnapshot {
                id,
                org_id,
                cluster_id,
                origin: origin::MANUAL,
                bucket: &bucket.name,
                object_key: &key,
                expires_at: deadline(OffsetDateTime::now_utc(), self.snapshots.take_timeout_secs),
            },
        )
        .await?;
        self.start_take(row).await
    }

    /// Queues TakeSnapshot for a row just inserted in state `creating`.
    pub(crate) async fn start_take(
        &self,
        mut row: SnapshotRow,
    ) -> Result<SnapshotRow, ServiceError> {
        let body = CommandBody::TakeSnapshot {
            snapshot_id: row.id,
            bucket: row.bucket.clone(),
            key: row.object_key.clone(),
        };
        let ttl = Duration::from_secs(self.snapshots.take_timeout_secs);
        match self.send_node_command(row.cluster_id, NODE, body, ttl).await {
            Ok(command_id) => {
                snapshots::set_command(&self.pool, row.id, command_id).await?;
                row.command_id = Some(command_id);
                Ok(row)
            }
            Err(e) => {
                let failed = Settle::Failed { error: "the snapshot could not be requested".into() };
                snapshots::settle(&self.pool, row.id, state::CREATING, None, &failed).await?;
                Err(e)
            }
        }
    }

    /// Restores an `available` snapshot onto the cluster; the snapshot shows `restoring`
    /// until the node answers, then `available` again with the outcome as its last restore
    /// (`failed` only when the node found the object itself bad).
    pub async fn restore_snapshot(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
        id: Uuid,
    ) -> Result<SnapshotRow, ServiceError> {
        self.authorize(caller, org_id, Action::AccessClusterData).await?;
        let current = self.get_snapshot_row(org_id, cluster_id, id).await?;
        let mut tx = self.pool.begin().await?;
        // The cluster row lock serialises restores of one cluster: at most one at a time.
        let cluster = clusters::get_for_update(&mut *tx, org_id, cluster_id)
            .await?
            .ok_or(ServiceError::NotFound("cluster"))?;
        reject_unless_live(&cluster)?;
        if snapshots::restoring(&mut *tx, cluster_id).await? {
            return Err(ServiceError::Conflict(
                "another snapshot is being restored onto this cluster; wait for it to finish"
                    .into(),
            ));
        }
        let expires = deadline(OffsetDateTime::now_utc(), self.snapshots.restore_timeout_secs);
        let started = snapshots::begin(
            &mut *tx,
            org_id,
            cluster_id,
            id,
            &[state::AVAILABLE],
            state::RESTORING,
            expires,
        )
        .await?;
        let (Some(mut row), Some(sha256)) = (started, current.sha256.clone()) else {
            return Err(not_in_state(&current.state, "restored"));
        };
        tx.commit().await?;

        let body = CommandBody::RestoreSnapshot {
            snapshot_id: row.id,
            bucket: row.bucket.clone(),
            key: row.object_key.clone(),
            sha256,
        };
        let ttl = Duration::from_secs(self.snapshots.restore_timeout_secs);
        match self.send_node_command(cluster_id, NODE, body, ttl).await {
            Ok(command_id) => {
                snapshots::set_command(&self.pool, row.id, command_id).await?;
                row.command_id = Some(command_id);
                Ok(row)
            }
            Err(e) => {
                // Nothing was sent: the snapshot itself is as good as before.
                snapshots::settle(&self.pool, row.id, state::RESTORING, None, &Settle::Reverted)
                    .await?;
                Err(e)
            }
        }
    }

    /// Removes a snapshot from the API and asks the node to delete its object.
    pub async fn delete_snapshot(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
        id: Uuid,
    ) -> Result<(), ServiceError> {
        self.authorize(caller, org_id, Action::AccessClusterData).await?;
        let current = self.get_snapshot_row(org_id, cluster_id, id).await?;
        let expires = deadline(OffsetDateTime::now_utc(), self.snapshots.delete_timeout_secs);
        let row = snapshots::begin(
            &self.pool,
            org_id,
            cluster_id,
            id,
            &[state::AVAILABLE, state::FAILED],
            state::DELETED,
            expires,
        )
        .await?
        .ok_or_else(|| not_in_state(&current.state, "deleted"))?;
        let body = CommandBody::DeleteSnapshot {
            snapshot_id: row.id,
            bucket: row.bucket,
            key: row.object_key,
        };
        let ttl = Duration::from_secs(self.snapshots.delete_timeout_secs);
        match self.send_node_command(cluster_id, NODE, body, ttl).await {
            Ok(command_id) => snapshots::set_command(&self.pool, id, command_id).await?,
            // The snapshot is gone from the API either way; the bucket's lifecycle rule
            // expires an object nobody references. Log it for operators.
            Err(e) => tracing::warn!(snapshot = %id, error = %e, "DeleteSnapshot not queued"),
        }
        Ok(())
    }

    /// A visible snapshot, reconciled (so a finished command is not reported as in flight).
    async fn get_snapshot_row(
        &self,
        org_id: Uuid,
        cluster_id: Uuid,
        id: Uuid,
    ) -> Result<SnapshotRow, ServiceError> {
        let row = snapshots::get(&self.pool, org_id, cluster_id, id)
            .await?
            .ok_or(ServiceError::NotFound("snapshot"))?;
        self.reconcile(row).await
    }

    /// Brings an in-flight snapshot up to date with its command: applies a stored result, or
    /// settles it once the command has expired unanswered. Other rows are returned as they are.
    pub(crate) async fn reconcile(&self, row: SnapshotRow) -> Result<SnapshotRow, ServiceError> {
        let from = row.state.as_str();
        if from != state::CREATING && from != state::RESTORING {
            return Ok(row);
        }
        let result = match row.command_id {
            Some(command) => match self.node_command_result(command).await {
                Ok(r) => r,
                // The command row is gone (cluster deleted under us): treat as unanswered.
                Err(ServiceError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let expired = row.command_expires_at.is_none_or(|t| t <= OffsetDateTime::now_utc());
        let Some(outcome) = outcome::outcome(row.id, from, result, expired) else {
            return Ok(row);
        };
        match snapshots::settle(&self.pool, row.id, from, row.command_id, &outcome).await? {
            Some(updated) => Ok(updated),
            // Another reader settled it first (or it was deleted): report what is stored now.
            None => snapshots::get(&self.pool, row.org_id, row.cluster_id, row.id)
                .await?
                .ok_or(ServiceError::NotFound("snapshot")),
        }
    }

    /// Queues the scheduled snapshot of every production-tier cluster whose newest usable
    /// snapshot is older than `max_age` at `now`; returns the snapshots queued. One pass at a
    /// time across replicas (a pass that finds another running returns nothing).
    pub async fn schedule_due_snapshots(
        &self,
        now: OffsetDateTime,
        max_age: Duration,
    ) -> Result<Vec<SnapshotRow>, ServiceError> {
        /// Clusters per pass; the rest are due again on the next pass.
        const BATCH: i64 = 100;
        let mut tx = self.pool.begin().await?;
        if !snapshots::try_lock_scheduler(&mut *tx).await? {
            return Ok(Vec::new());
        }
        let tiers = PRODUCTION_TIERS.map(crate::domain::Tier::as_str);
        let due = snapshots::due_clusters(&mut *tx, &tiers, now - max_age, BATCH).await?;
        let expires = deadline(OffsetDateTime::now_utc(), self.snapshots.take_timeout_secs);
        let mut rows = Vec::with_capacity(due.len());
        for c in due {
            let id = Uuid::now_v7();
            let key = object_key(c.cluster_id, id);
            let row = snapshots::insert(
                &mut *tx,
                NewSnapshot {
                    id,
                    org_id: c.org_id,
                    cluster_id: c.cluster_id,
                    origin: origin::SCHEDULED,
                    bucket: &c.bucket,
                    object_key: &key,
                    expires_at: expires,
                },
            )
            .await?;
            rows.push(row);
        }
        tx.commit().await?;
        let mut queued = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, cluster) = (row.id, row.cluster_id);
            match self.start_take(row).await {
                Ok(row) => queued.push(row),
                // One unreachable cluster must not stop the others; its row shows the failure.
                Err(e) => {
                    tracing::warn!(
                        snapshot = %id,
                        cluster = %cluster,
                        error = %e,
                        "scheduled snapshot not queued"
                    )
                }
            }
        }
        Ok(queued)
    }
}

/// Tiers sold for production use; they get a daily automatic snapshot. Dev clusters do not.
pub const PRODUCTION_TIERS: [crate::domain::Tier; 2] =
    [crate::domain::Tier::Essentials, crate::domain::Tier::Standard];

fn reject_unless_live(c: &ClusterRow) -> Result<(), ServiceError> {
    let gone = ClusterState::parse(&c.state).map(ClusterState::is_deleting_or_gone).unwrap_or(true);
    if gone {
        return Err(ServiceError::Conflict(format!(
            "cluster is {}; snapshots are unavailable",
            c.state
        )));
    }
    Ok(())
}

fn not_provisioned() -> ServiceError {
    ServiceError::Conflict(
        "the cluster has no snapshot storage yet; try again once it is running".into(),
    )
}

fn not_in_state(current: &str, verb: &str) -> ServiceError {
    ServiceError::Conflict(format!("the snapshot is {current}; it cannot be {verb} now"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_follow_the_contract() {
        let c = Uuid::from_u128(1);
        let s = Uuid::from_u128(2);
        assert_eq!(
            object_key(c, s),
            "snapshots/00000000-0000-0000-0000-000000000001/00000000-0000-0000-0000-000000000002.snap"
        );
    }

    #[test]
    fn settings_ranges() {
        let check = |change: fn(&mut SnapshotSettings), ok: bool| {
            let mut s = SnapshotSettings::default();
            change(&mut s);
            assert_eq!(s.problem().is_none(), ok);
        };
        check(|_| {}, true);
        check(|s| s.take_timeout_secs = 0, false);
        check(|s| s.schedule.interval_secs = 0, false);
        check(|s| s.schedule.max_age_secs = 60, false);
        check(|s| s.delete_timeout_secs = 7 * 24 * 3600, true);
    }
}
