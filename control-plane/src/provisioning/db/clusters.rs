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

pub async fn set_address(
    db: impl PgExecutor<'_>,
    id: Uuid,
    address: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE clusters SET address = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(address)
        .execute(db)
        .await?;
    Ok(())
}
