//! Observed cluster state, as the engine learns it.

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::store::StoreError;

/// Sets the observed state. Unless `force`, a cluster being deleted keeps that state: a create
/// or update finishing late must not hide a pending teardown.
pub async fn set_state(
    db: impl PgExecutor<'_>,
    id: Uuid,
    state: &str,
    force: bool,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE clusters SET state = $2, updated_at = now()
         WHERE id = $1 AND ($3 OR state NOT IN ('deleting', 'deleted'))",
    )
    .bind(id)
    .bind(state)
    .bind(force)
    .execute(db)
    .await?;
    Ok(())
}

/// The address from the instances' IPs: a fallback until a node reports its own. Once any node
/// of the cluster has heartbeated an `api_address`, heartbeats own the cluster address (the
/// leader's), so the engine no longer overwrites it.
pub async fn set_address(
    db: impl PgExecutor<'_>,
    id: Uuid,
    address: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE clusters SET address = $2, updated_at = now()
         WHERE id = $1 AND NOT EXISTS (
             SELECT 1 FROM cluster_nodes WHERE cluster_id = $1 AND api_address IS NOT NULL)",
    )
    .bind(id)
    .bind(address)
    .execute(db)
    .await?;
    Ok(())
}
