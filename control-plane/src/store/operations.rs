//! Operations and their step plans.
//!
//! Contract with the provisioning engine (a later component that executes operations):
//! - claim work with `SELECT ... FROM operations WHERE state = 'pending' ORDER BY created_at
//!   FOR UPDATE SKIP LOCKED`, then set `state = 'running', started_at = now()`;
//! - drive `operation_steps` in `position` order (`attempt` counts retries, `error` holds the
//!   last failure), and write the cluster's observed fields (`clusters.state`, `address`);
//! - finish with `state = 'succeeded' | 'failed'`, `finished_at`, and for failures
//!   `error_code` / `error_message` (shown to customers, so no internal detail).
//!
//! Every such UPDATE fires the `coffer_operation_changed` NOTIFY (see the migration), which
//! wakes `GET .../operations/{id}/wait` callers on every API replica.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OperationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub cluster_id: Uuid,
    pub kind: String,
    pub state: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepRow {
    pub name: String,
    pub state: String,
    pub attempt: i32,
    pub error: Option<String>,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
}

/// An operation with its steps in execution order.
#[derive(Debug, Clone)]
pub struct Operation {
    pub op: OperationRow,
    pub steps: Vec<StepRow>,
}

const COLUMNS: &str = "id, org_id, cluster_id, kind, state, error_code, error_message,
    created_at, updated_at, started_at, finished_at";

/// Records a pending operation and its planned steps (all pending).
pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    org_id: Uuid,
    cluster_id: Uuid,
    kind: &str,
    steps: &[&str],
) -> Result<Operation, StoreError> {
    let sql = format!(
        "INSERT INTO operations (id, org_id, cluster_id, kind, state)
         VALUES ($1, $2, $3, $4, 'pending') RETURNING {COLUMNS}"
    );
    let op = sqlx::query_as::<_, OperationRow>(&sql)
        .bind(id)
        .bind(org_id)
        .bind(cluster_id)
        .bind(kind)
        .fetch_one(&mut *conn)
        .await?;
    let positions: Vec<i32> = (0..steps.len() as i32).collect();
    sqlx::query(
        "INSERT INTO operation_steps (operation_id, position, name, state)
         SELECT $1, p, n, 'pending' FROM UNNEST($2::int4[], $3::text[]) AS s(p, n)",
    )
    .bind(id)
    .bind(&positions)
    .bind(steps)
    .execute(&mut *conn)
    .await?;
    let steps = steps
        .iter()
        .map(|name| StepRow {
            name: (*name).to_owned(),
            state: "pending".to_owned(),
            attempt: 0,
            error: None,
            started_at: None,
            finished_at: None,
        })
        .collect();
    Ok(Operation { op, steps })
}

pub async fn get(
    conn: &mut PgConnection,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<Operation>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM operations WHERE org_id = $1 AND id = $2");
    let Some(op) = sqlx::query_as::<_, OperationRow>(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let steps = steps(&mut *conn, id).await?;
    Ok(Some(Operation { op, steps }))
}

/// The cluster's newest unfinished operation, if any (the one a person watching the cluster
/// wants to see progress on). Uses `operations_cluster_idx`.
pub async fn active_for_cluster(
    conn: &mut PgConnection,
    org_id: Uuid,
    cluster_id: Uuid,
) -> Result<Option<Operation>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM operations
         WHERE cluster_id = $1 AND org_id = $2 AND state IN ('pending', 'running')
         ORDER BY created_at DESC LIMIT 1"
    );
    let Some(op) = sqlx::query_as::<_, OperationRow>(&sql)
        .bind(cluster_id)
        .bind(org_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let steps = steps(&mut *conn, op.id).await?;
    Ok(Some(Operation { op, steps }))
}

async fn steps(db: impl PgExecutor<'_>, id: Uuid) -> Result<Vec<StepRow>, StoreError> {
    let rows = sqlx::query_as::<_, StepRow>(
        "SELECT name, state, attempt, error, started_at, finished_at FROM operation_steps
         WHERE operation_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    Ok(rows)
}
