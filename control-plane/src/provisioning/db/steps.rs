//! Step progress: which step runs, its attempt count and last error, as the operations API
//! shows them.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::store::StoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepRow {
    pub position: i32,
    pub name: String,
    pub state: String,
    pub attempt: i32,
}

pub async fn load(db: impl PgExecutor<'_>, op: Uuid) -> Result<Vec<StepRow>, StoreError> {
    let rows = sqlx::query_as::<_, StepRow>(
        "SELECT position, name, state, attempt FROM operation_steps
         WHERE operation_id = $1 ORDER BY position",
    )
    .bind(op)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// Starts a try: `running`, attempt + 1 (the last error stays visible until the step ends).
/// `None` when the lease is gone.
pub async fn begin_attempt(
    db: impl PgExecutor<'_>,
    op: Uuid,
    owner: Uuid,
    position: i32,
) -> Result<Option<i32>, StoreError> {
    let attempt = sqlx::query_scalar::<_, i32>(
        "UPDATE operation_steps SET state = 'running', attempt = attempt + 1,
             started_at = COALESCE(started_at, now())
         WHERE operation_id = $1 AND position = $3
           AND EXISTS (SELECT 1 FROM operations
                       WHERE id = $1 AND lease_owner = $2 AND state = 'running')
         RETURNING attempt",
    )
    .bind(op)
    .bind(owner)
    .bind(position)
    .fetch_optional(db)
    .await?;
    Ok(attempt)
}

/// Records the last (customer-safe) error of a try that will be retried, or the reason a step
/// is waiting. `false` when the lease is gone.
pub async fn set_error(
    db: impl PgExecutor<'_>,
    op: Uuid,
    owner: Uuid,
    position: i32,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE operation_steps SET error = $4
         WHERE operation_id = $1 AND position = $3
           AND EXISTS (SELECT 1 FROM operations
                       WHERE id = $1 AND lease_owner = $2 AND state = 'running')",
    )
    .bind(op)
    .bind(owner)
    .bind(position)
    .bind(error)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the step (`succeeded` or `failed`). Call inside a transaction after `leases::fence`.
pub async fn finish(
    conn: &mut PgConnection,
    op: Uuid,
    position: i32,
    state: &str,
    error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE operation_steps SET state = $3, error = $4, finished_at = now(),
             started_at = COALESCE(started_at, now())
         WHERE operation_id = $1 AND position = $2",
    )
    .bind(op)
    .bind(position)
    .bind(state)
    .bind(error)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks the steps that will never run (after a failure) as skipped.
pub async fn skip_pending(conn: &mut PgConnection, op: Uuid) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE operation_steps SET state = 'skipped' WHERE operation_id = $1 AND state = 'pending'",
    )
    .bind(op)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
