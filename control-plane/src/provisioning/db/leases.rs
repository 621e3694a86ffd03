//! Claiming operations and keeping them claimed.
//!
//! An operation is claimable when it is `pending`, or `running` with a lapsed lease (its
//! replica died), and no earlier unfinished operation exists for the same cluster: a cluster's
//! operations run one at a time in the order they were requested.

use std::time::Duration;

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::store::StoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub org_id: Uuid,
    pub cluster_id: Uuid,
    pub kind: String,
    /// Identifies this claim in `operations.lease_owner`; every write of the run is fenced by it.
    pub lease_id: Uuid,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Claims the oldest claimable operation under the new lease id `owner`, if any.
pub async fn claim(
    db: impl PgExecutor<'_>,
    owner: Uuid,
    lease: Duration,
) -> Result<Option<Claimed>, StoreError> {
    let row = sqlx::query_as::<_, Claimed>(
        "UPDATE operations SET state = 'running', started_at = COALESCE(started_at, now()),
             lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2 / 1000.0),
             heartbeat_at = now(), updated_at = now()
         WHERE id = (
             SELECT o.id FROM operations o
             WHERE (o.state = 'pending'
                    OR (o.state = 'running'
                        AND (o.lease_expires_at IS NULL OR o.lease_expires_at < now())))
               AND NOT EXISTS (
                   SELECT 1 FROM operations p
                   WHERE p.cluster_id = o.cluster_id AND p.state IN ('pending', 'running')
                     AND (p.created_at, p.id) < (o.created_at, o.id))
             ORDER BY o.created_at, o.id
             LIMIT 1
             FOR UPDATE SKIP LOCKED)
         RETURNING id, org_id, cluster_id, kind, lease_owner AS lease_id",
    )
    .bind(owner)
    .bind(millis(lease))
    .fetch_optional(db)
    .await?;
    Ok(row)
}

/// Extends the lease; `false` when `owner` no longer holds it.
pub async fn heartbeat(
    db: impl PgExecutor<'_>,
    id: Uuid,
    owner: Uuid,
    lease: Duration,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE operations SET lease_expires_at = now() + make_interval(secs => $3 / 1000.0),
             heartbeat_at = now()
         WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(owner)
    .bind(millis(lease))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the operation up (graceful shutdown) so another replica resumes it at once.
pub async fn release(db: impl PgExecutor<'_>, id: Uuid, owner: Uuid) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE operations SET lease_owner = NULL, lease_expires_at = now()
         WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(())
}

/// Locks the operation row inside a transaction and checks `owner` still holds it. Commits
/// made after this cannot race a takeover: claiming needs the same row lock.
pub async fn fence(conn: &mut PgConnection, id: Uuid, owner: Uuid) -> Result<bool, StoreError> {
    let held = sqlx::query_scalar::<_, bool>(
        "SELECT lease_owner IS NOT DISTINCT FROM $2 AND state = 'running'
         FROM operations WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .bind(owner)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(held.unwrap_or(false))
}

/// Marks the operation terminal and drops the lease. Call after [`fence`].
pub async fn finish(
    conn: &mut PgConnection,
    id: Uuid,
    state: &str,
    error: Option<(&str, &str)>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE operations SET state = $2, error_code = $3, error_message = $4,
             finished_at = now(), updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(error.map(|e| e.0))
    .bind(error.map(|e| e.1))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// True when a delete was requested after `op` for the same cluster: a create or update still
/// waiting for nodes gives way to it instead of blocking the teardown forever.
pub async fn superseded_by_delete(
    db: impl PgExecutor<'_>,
    op: Uuid,
    cluster_id: Uuid,
) -> Result<bool, StoreError> {
    let found = sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (
             SELECT 1 FROM operations d, operations o
             WHERE o.id = $1 AND d.cluster_id = $2 AND d.kind = 'delete' AND d.state = 'pending'
               AND (d.created_at, d.id) > (o.created_at, o.id))",
    )
    .bind(op)
    .bind(cluster_id)
    .fetch_one(db)
    .await?;
    Ok(found)
}
