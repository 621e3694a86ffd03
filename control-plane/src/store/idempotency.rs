//! Idempotency keys: remember which cluster and operation a keyed create produced.

use sqlx::PgExecutor;
use uuid::Uuid;

use super::StoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdempotencyRow {
    pub request_hash: Vec<u8>,
    pub cluster_id: Uuid,
    pub operation_id: Uuid,
}

/// Claims `key` for this request. Returns false if the key is already taken; if another
/// transaction holds it uncommitted this waits for that one to finish first.
pub async fn claim(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    key: &str,
    request_hash: &[u8],
    cluster_id: Uuid,
    operation_id: Uuid,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (org_id, key, request_hash, cluster_id, operation_id)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(org_id)
    .bind(key)
    .bind(request_hash)
    .bind(cluster_id)
    .bind(operation_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    key: &str,
) -> Result<Option<IdempotencyRow>, StoreError> {
    let row = sqlx::query_as::<_, IdempotencyRow>(
        "SELECT request_hash, cluster_id, operation_id FROM idempotency_keys
         WHERE org_id = $1 AND key = $2",
    )
    .bind(org_id)
    .bind(key)
    .fetch_optional(db)
    .await?;
    Ok(row)
}
