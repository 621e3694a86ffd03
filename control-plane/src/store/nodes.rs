//! Join tokens and registered nodes.
//!
//! The provisioning engine issues a join token per node before launching its instance (the
//! token travels in the instance's user data), then binds it to the instance id once the
//! instance exists. The node trades it, once, for a long-lived node credential. Only SHA-256
//! hashes of either secret are stored.
//!
//! A retried launch step may issue a second token for the same node while the instance from
//! the first try (carrying the first token) is found by its client token; so every unexpired
//! token of a (cluster, node index, operation) stays valid until one of them is used, and using
//! one consumes all of them.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JoinTokenRow {
    pub cluster_id: Uuid,
    pub operation_id: Uuid,
    pub node_index: i32,
    pub instance_id: Option<String>,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    /// `expires_at <= now()` by the database clock, so replicas agree.
    pub expired: bool,
}

pub async fn insert_join_token(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    cluster_id: Uuid,
    operation_id: Uuid,
    node_index: i32,
    ttl_secs: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO join_tokens (token_hash, cluster_id, operation_id, node_index, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(token_hash)
    .bind(cluster_id)
    .bind(operation_id)
    .bind(node_index)
    .bind(ttl_secs as f64)
    .execute(db)
    .await?;
    Ok(())
}

/// Binds the unused tokens of a node (for one operation) to the instance that now exists.
pub async fn bind_join_tokens(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    operation_id: Uuid,
    node_index: i32,
    instance_id: &str,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE join_tokens SET instance_id = $4
         WHERE cluster_id = $1 AND operation_id = $2 AND node_index = $3 AND used_at IS NULL",
    )
    .bind(cluster_id)
    .bind(operation_id)
    .bind(node_index)
    .bind(instance_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// The token row, locked for the rest of the transaction so two registrations with the same
/// token serialise and only the first succeeds.
pub async fn lock_join_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<JoinTokenRow>, StoreError> {
    let row = sqlx::query_as::<_, JoinTokenRow>(
        "SELECT cluster_id, operation_id, node_index, instance_id, expires_at, used_at,
                expires_at <= now() AS expired
         FROM join_tokens WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// Consumes every token of the node issued by the operation (see the module docs).
pub async fn consume_join_tokens(
    conn: &mut PgConnection,
    cluster_id: Uuid,
    operation_id: Uuid,
    node_index: i32,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE join_tokens SET used_at = now()
         WHERE cluster_id = $1 AND operation_id = $2 AND node_index = $3 AND used_at IS NULL",
    )
    .bind(cluster_id)
    .bind(operation_id)
    .bind(node_index)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records (or replaces, for a relaunched node) the node in its slot.
pub async fn upsert_node(
    conn: &mut PgConnection,
    cluster_id: Uuid,
    node_index: i32,
    instance_id: &str,
    credential_hash: &[u8],
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cluster_nodes (cluster_id, node_index, instance_id, credential_hash)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (cluster_id, node_index) DO UPDATE
         SET instance_id = EXCLUDED.instance_id, credential_hash = EXCLUDED.credential_hash,
             registered_at = now()",
    )
    .bind(cluster_id)
    .bind(node_index)
    .bind(instance_id)
    .bind(credential_hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NodeRow {
    pub node_index: i32,
    pub instance_id: String,
    pub registered_at: OffsetDateTime,
}

pub async fn list_nodes(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
) -> Result<Vec<NodeRow>, StoreError> {
    let rows = sqlx::query_as::<_, NodeRow>(
        "SELECT node_index, instance_id, registered_at FROM cluster_nodes
         WHERE cluster_id = $1 ORDER BY node_index",
    )
    .bind(cluster_id)
    .fetch_all(db)
    .await?;
    Ok(rows)
}
