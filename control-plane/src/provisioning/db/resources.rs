//! The AWS resources each cluster owns. A row is written the moment a `Cloud` call returns the
//! resource, so a crash can leave at most the resource of the step in flight untracked, and
//! that one is found again by its deterministic name or tags when the step re-runs.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::StoreError;

/// `cluster_resources.kind` values.
pub mod kind {
    pub const KMS_KEY: &str = "kms_key";
    pub const BUCKET: &str = "bucket";
    pub const IAM_ROLE: &str = "iam_role";
    pub const INSTANCE_PROFILE: &str = "instance_profile";
    pub const SECURITY_GROUP: &str = "security_group";
    pub const INSTANCE: &str = "instance";
}

/// `cluster_resources.state` values.
pub mod state {
    pub const PRESENT: &str = "present";
    /// Kept after the cluster was deleted until `purge_after` (buckets).
    pub const RETAINED: &str = "retained";
    /// Deletion requested; AWS finishes it later (KMS pending deletion).
    pub const DELETING: &str = "deleting";
    pub const DELETED: &str = "deleted";
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResourceRow {
    pub kind: String,
    pub resource_id: String,
    pub arn: Option<String>,
    pub role: Option<String>,
    pub state: String,
}

/// Where a resource lives and who owns it.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub cluster_id: Uuid,
    pub org_id: Uuid,
    pub region: &'a str,
    pub operation_id: Uuid,
}

/// Records (or re-records) a resource as present.
pub async fn record(
    db: impl PgExecutor<'_>,
    owner: Owner<'_>,
    kind: &str,
    resource_id: &str,
    arn: Option<&str>,
    role: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cluster_resources
             (cluster_id, org_id, region, kind, resource_id, arn, role, state, operation_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'present', $8)
         ON CONFLICT (cluster_id, kind, resource_id) DO UPDATE
         SET arn = EXCLUDED.arn, role = EXCLUDED.role, state = 'present', purge_after = NULL,
             updated_at = now()",
    )
    .bind(owner.cluster_id)
    .bind(owner.org_id)
    .bind(owner.region)
    .bind(kind)
    .bind(resource_id)
    .bind(arn)
    .bind(role)
    .bind(owner.operation_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Moves every not-yet-deleted resource of `kind` to `new_state`.
pub async fn set_kind_state(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    kind: &str,
    new_state: &str,
    purge_after: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE cluster_resources SET state = $3, purge_after = $4, updated_at = now()
         WHERE cluster_id = $1 AND kind = $2 AND state <> 'deleted'",
    )
    .bind(cluster_id)
    .bind(kind)
    .bind(new_state)
    .bind(purge_after)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_state(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    kind: &str,
    resource_id: &str,
    new_state: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE cluster_resources SET state = $4, updated_at = now()
         WHERE cluster_id = $1 AND kind = $2 AND resource_id = $3",
    )
    .bind(cluster_id)
    .bind(kind)
    .bind(resource_id)
    .bind(new_state)
    .execute(db)
    .await?;
    Ok(())
}

/// Every resource of the cluster, deleted ones included, in a stable order.
pub async fn list(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
) -> Result<Vec<ResourceRow>, StoreError> {
    let rows = sqlx::query_as::<_, ResourceRow>(
        "SELECT kind, resource_id, arn, role, state FROM cluster_resources
         WHERE cluster_id = $1 ORDER BY kind, role, resource_id",
    )
    .bind(cluster_id)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// A retained bucket whose retention has ended.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueBucket {
    pub cluster_id: Uuid,
    pub org_id: Uuid,
    pub region: String,
    pub resource_id: String,
    pub role: Option<String>,
}

/// Locks one bucket due for purging (skipping ones another replica is purging). Use inside a
/// transaction held for the purge, then [`set_state`] to `deleted` and commit.
pub async fn lock_due_bucket(db: impl PgExecutor<'_>) -> Result<Option<DueBucket>, StoreError> {
    let row = sqlx::query_as::<_, DueBucket>(
        "SELECT cluster_id, org_id, region, resource_id, role FROM cluster_resources
         WHERE state = 'retained' AND kind = 'bucket' AND purge_after <= now()
         ORDER BY purge_after LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(db)
    .await?;
    Ok(row)
}
