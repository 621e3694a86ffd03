//! Snapshots: the control plane's record of each snapshot object and of the node command
//! working on it.
//!
//! Every state change after creation is a compare-and-set on (state, command id): several
//! readers may reconcile the same snapshot at once (each GET does), and only the first one to
//! observe a command's result may apply it; the others see the updated row.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{fetch_page, keyset, Keyed, Page, StoreError};
use crate::domain::{PageSize, PageToken};

/// `snapshots.state` values.
pub mod state {
    /// A TakeSnapshot command is in flight.
    pub const CREATING: &str = "creating";
    pub const AVAILABLE: &str = "available";
    /// A RestoreSnapshot command is in flight.
    pub const RESTORING: &str = "restoring";
    pub const FAILED: &str = "failed";
    /// Hidden from the API; a DeleteSnapshot command was queued.
    pub const DELETED: &str = "deleted";
}

/// `snapshots.origin` values.
pub mod origin {
    pub const MANUAL: &str = "manual";
    pub const SCHEDULED: &str = "scheduled";
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SnapshotRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub cluster_id: Uuid,
    pub state: String,
    pub origin: String,
    pub bucket: String,
    pub object_key: String,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    pub command_id: Option<Uuid>,
    pub command_expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
    pub restored_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    /// `succeeded` or `failed`: how the most recent restore ended (`None`: never restored).
    pub last_restore_state: Option<String>,
    /// Customer-safe reason when the most recent restore failed.
    pub last_restore_error: Option<String>,
    pub last_restore_finished_at: Option<OffsetDateTime>,
}

impl Keyed for SnapshotRow {
    fn key(&self) -> PageToken {
        PageToken { created_at: self.created_at, id: self.id }
    }
}

const COLUMNS: &str = "id, org_id, cluster_id, state, origin, bucket, object_key, size_bytes,
    sha256, error, command_id, command_expires_at, created_at, completed_at, restored_at,
    updated_at, last_restore_state, last_restore_error, last_restore_finished_at";

/// `snapshots.last_restore_state` values.
pub mod restore_state {
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
}

/// A snapshot about to be requested from a node.
pub struct NewSnapshot<'a> {
    pub id: Uuid,
    pub org_id: Uuid,
    pub cluster_id: Uuid,
    pub origin: &'a str,
    pub bucket: &'a str,
    pub object_key: &'a str,
    /// Until when the TakeSnapshot command's answer is awaited.
    pub expires_at: OffsetDateTime,
}

/// Inserts in state `creating`, before the command exists: a crash between the two leaves a
/// row that expires to `failed` instead of a command nobody tracks.
pub async fn insert(
    db: impl PgExecutor<'_>,
    s: NewSnapshot<'_>,
) -> Result<SnapshotRow, StoreError> {
    let sql = format!(
        "INSERT INTO snapshots (id, org_id, cluster_id, state, origin, bucket, object_key,
             command_expires_at)
         VALUES ($1, $2, $3, 'creating', $4, $5, $6, $7) RETURNING {COLUMNS}"
    );
    let row = sqlx::query_as::<_, SnapshotRow>(&sql)
        .bind(s.id)
        .bind(s.org_id)
        .bind(s.cluster_id)
        .bind(s.origin)
        .bind(s.bucket)
        .bind(s.object_key)
        .bind(s.expires_at)
        .fetch_one(db)
        .await?;
    Ok(row)
}

/// A visible (not deleted) snapshot of a cluster in an org.
pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    cluster_id: Uuid,
    id: Uuid,
) -> Result<Option<SnapshotRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM snapshots
         WHERE org_id = $1 AND cluster_id = $2 AND id = $3 AND state <> 'deleted'"
    );
    let row = sqlx::query_as::<_, SnapshotRow>(&sql)
        .bind(org_id)
        .bind(cluster_id)
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row)
}

/// One page of a cluster's visible snapshots, oldest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    cluster_id: Uuid,
    size: PageSize,
    token: Option<PageToken>,
) -> Result<Page<SnapshotRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM snapshots
         WHERE org_id = $1 AND cluster_id = $2 AND state <> 'deleted' AND {}",
        keyset("created_at", "id", 3)
    );
    fetch_page(db, sqlx::query_as(&sql).bind(org_id).bind(cluster_id), size, token).await
}

/// Records the command just sent for the snapshot's current state.
pub async fn set_command(
    db: impl PgExecutor<'_>,
    id: Uuid,
    command_id: Uuid,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE snapshots SET command_id = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(command_id)
        .execute(db)
        .await?;
    Ok(())
}

/// How an in-flight command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// TakeSnapshot succeeded.
    Taken { size_bytes: i64, sha256: String },
    /// RestoreSnapshot succeeded; the snapshot is available again.
    Restored,
    /// RestoreSnapshot failed for a reason that says nothing about the object (node busy,
    /// sealed, silent): the snapshot is available again and the reason is its `last_restore`.
    RestoreFailed { error: String },
    /// A restore that was never sent: back to `available`, nothing else changes.
    Reverted,
    /// The snapshot itself is unusable. When it was restoring, this is also its last restore.
    Failed { error: String },
}

impl Settle {
    /// The new state and, when this outcome ends a restore, that restore's state and error.
    fn effect(&self, from_state: &str) -> (&'static str, Option<(&'static str, Option<&str>)>) {
        match self {
            Settle::Taken { .. } | Settle::Reverted => (state::AVAILABLE, None),
            Settle::Restored => (state::AVAILABLE, Some((restore_state::SUCCEEDED, None))),
            Settle::RestoreFailed { error } => {
                (state::AVAILABLE, Some((restore_state::FAILED, Some(error.as_str()))))
            }
            Settle::Failed { error } => {
                let restore = (from_state == state::RESTORING)
                    .then_some((restore_state::FAILED, Some(error.as_str())));
                (state::FAILED, restore)
            }
        }
    }
}

/// Applies a command's outcome if the snapshot is still in `from_state` waiting for
/// `command_id` (`None`: the command was never recorded). Returns the new row, or `None` when
/// someone else settled it first.
pub async fn settle(
    db: impl PgExecutor<'_>,
    id: Uuid,
    from_state: &str,
    command_id: Option<Uuid>,
    outcome: &Settle,
) -> Result<Option<SnapshotRow>, StoreError> {
    let (new_state, restore) = outcome.effect(from_state);
    let (size, sha) = match outcome {
        Settle::Taken { size_bytes, sha256 } => (Some(*size_bytes), Some(sha256.as_str())),
        _ => (None, None),
    };
    let error = match outcome {
        Settle::Failed { error } => Some(error.as_str()),
        _ => None,
    };
    let sql = format!(
        "UPDATE snapshots SET state = $4,
             size_bytes = COALESCE($5, size_bytes), sha256 = COALESCE($6, sha256), error = $7,
             completed_at = CASE WHEN $2 = 'creating' AND $4 = 'available' THEN now()
                                 ELSE completed_at END,
             restored_at = CASE WHEN $8 THEN now() ELSE restored_at END,
             last_restore_state = COALESCE($9, last_restore_state),
             last_restore_error = CASE WHEN $9::text IS NULL THEN last_restore_error ELSE $10 END,
             last_restore_finished_at = CASE WHEN $9::text IS NULL THEN last_restore_finished_at
                                             ELSE now() END,
             updated_at = now()
         WHERE id = $1 AND state = $2 AND command_id IS NOT DISTINCT FROM $3
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query_as::<_, SnapshotRow>(&sql)
        .bind(id)
        .bind(from_state)
        .bind(command_id)
        .bind(new_state)
        .bind(size)
        .bind(sha)
        .bind(error)
        .bind(matches!(outcome, Settle::Restored))
        .bind(restore.map(|(s, _)| s))
        .bind(restore.and_then(|(_, e)| e))
        .fetch_optional(db)
        .await?;
    Ok(row)
}

/// Whether a snapshot of the cluster is being restored.
pub async fn restoring(db: impl PgExecutor<'_>, cluster_id: Uuid) -> Result<bool, StoreError> {
    let (busy,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM snapshots WHERE cluster_id = $1 AND state = 'restoring')",
    )
    .bind(cluster_id)
    .fetch_one(db)
    .await?;
    Ok(busy)
}

/// Moves a visible snapshot in one of `allowed_from` to `to` (restoring, or deleted), with a
/// fresh command deadline and no command yet. `None` if it is missing or in another state.
pub async fn begin(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    cluster_id: Uuid,
    id: Uuid,
    allowed_from: &[&str],
    to: &str,
    expires_at: OffsetDateTime,
) -> Result<Option<SnapshotRow>, StoreError> {
    let sql = format!(
        "UPDATE snapshots SET state = $5, command_id = NULL, command_expires_at = $6,
             error = NULL, updated_at = now()
         WHERE org_id = $1 AND cluster_id = $2 AND id = $3 AND state = ANY($4)
         RETURNING {COLUMNS}"
    );
    let allowed: Vec<String> = allowed_from.iter().map(|s| (*s).to_owned()).collect();
    let row = sqlx::query_as::<_, SnapshotRow>(&sql)
        .bind(org_id)
        .bind(cluster_id)
        .bind(id)
        .bind(&allowed)
        .bind(to)
        .bind(expires_at)
        .fetch_optional(db)
        .await?;
    Ok(row)
}

/// Where a cluster bucket is: name and region.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClusterBucket {
    pub name: String,
    pub region: String,
}

/// The cluster's present bucket for `purpose` (`snapshots` or `audit`), as the provisioning
/// engine recorded it. The only source of bucket names the API acts on: a caller never names
/// a bucket.
pub async fn cluster_bucket(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    purpose: &str,
) -> Result<Option<ClusterBucket>, StoreError> {
    let row = sqlx::query_as::<_, ClusterBucket>(
        "SELECT resource_id AS name, region FROM cluster_resources
         WHERE cluster_id = $1 AND kind = 'bucket' AND role = $2 AND state = 'present'
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(cluster_id)
    .bind(purpose)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

/// A cluster the daily job should snapshot now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueCluster {
    pub cluster_id: Uuid,
    pub org_id: Uuid,
    pub bucket: String,
}

/// Running clusters of `tiers` with a snapshots bucket and no snapshot requested since
/// `since` that is pending or usable (failed and deleted ones do not count, so a failure is
/// retried on the next pass). Call under [`try_lock_scheduler`], in the transaction that
/// inserts their snapshots.
pub async fn due_clusters(
    db: impl PgExecutor<'_>,
    tiers: &[&str],
    since: OffsetDateTime,
    limit: i64,
) -> Result<Vec<DueCluster>, StoreError> {
    let tiers: Vec<String> = tiers.iter().map(|t| (*t).to_owned()).collect();
    let rows = sqlx::query_as::<_, DueCluster>(
        "SELECT c.id AS cluster_id, c.org_id, r.resource_id AS bucket
         FROM clusters c
         JOIN cluster_resources r ON r.cluster_id = c.id AND r.kind = 'bucket'
              AND r.role = 'snapshots' AND r.state = 'present'
         WHERE c.state = 'running' AND c.tier = ANY($1)
           AND NOT EXISTS (
               SELECT 1 FROM snapshots s
               WHERE s.cluster_id = c.id AND s.created_at > $2
                 AND s.state IN ('creating', 'available', 'restoring'))
         ORDER BY c.id LIMIT $3",
    )
    .bind(&tiers)
    .bind(since)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// Takes the scheduler's transaction-scoped lock if no other replica holds it. One pass at a
/// time across replicas: a pass reads "no recent snapshot" only after the previous pass's
/// inserts are committed, so no cluster gets two scheduled snapshots.
pub async fn try_lock_scheduler(db: impl PgExecutor<'_>) -> Result<bool, StoreError> {
    let (locked,): (bool,) =
        sqlx::query_as("SELECT pg_try_advisory_xact_lock(hashtext('coffer_snapshot_scheduler'))")
            .fetch_one(db)
            .await?;
    Ok(locked)
}
