//! The node channel's persistence: queued commands with their results, and node heartbeats.
//!
//! Commands are addressed to a node *slot* (cluster, node index), not to an instance, so a
//! node relaunched into the slot picks up what was queued for it. Delivery is at most once:
//! [`take_pending`] marks rows delivered in the same statement that returns them, with
//! `SKIP LOCKED` so two concurrent polls of one node never both get a command. Bodies and
//! results are stored as the wire JSON (`coffer_node_api`), which never holds a plaintext
//! secret (see the migration).

use serde_json::Value;
use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

/// Most commands handed out by one poll; the rest wait for the next one.
pub const MAX_BATCH: i64 = 16;

/// A command to queue.
pub struct NewCommand<'a> {
    pub id: Uuid,
    pub cluster_id: Uuid,
    pub node_index: i32,
    pub kind: &'a str,
    pub body: Value,
    pub msp_version: Option<i64>,
    pub ttl_secs: f64,
}

pub async fn insert(db: impl PgExecutor<'_>, c: NewCommand<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO node_commands (id, cluster_id, node_index, kind, body, msp_version, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))",
    )
    .bind(c.id)
    .bind(c.cluster_id)
    .bind(c.node_index)
    .bind(c.kind)
    .bind(c.body)
    .bind(c.msp_version)
    .bind(c.ttl_secs)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct DeliveredRow {
    pub id: Uuid,
    pub body: Value,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

/// Marks up to [`MAX_BATCH`] unexpired, undelivered commands of the node delivered and
/// returns them, oldest first.
pub async fn take_pending(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    node_index: i32,
) -> Result<Vec<DeliveredRow>, StoreError> {
    let mut rows = sqlx::query_as::<_, DeliveredRow>(
        "WITH picked AS (
             SELECT id FROM node_commands
             WHERE cluster_id = $1 AND node_index = $2 AND delivered_at IS NULL
               AND expires_at > now()
             ORDER BY created_at, id
             LIMIT $3
             FOR UPDATE SKIP LOCKED
         )
         UPDATE node_commands c SET delivered_at = now()
         FROM picked WHERE c.id = picked.id
         RETURNING c.id, c.body, c.expires_at, c.created_at",
    )
    .bind(cluster_id)
    .bind(node_index)
    .bind(MAX_BATCH)
    .fetch_all(db)
    .await?;
    // RETURNING does not keep the CTE's order.
    rows.sort_by_key(|r| (r.created_at, r.id));
    Ok(rows)
}

/// What storing a result did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    Stored,
    /// The command exists for this node but already has a result (the first one stays).
    AlreadyCompleted,
    /// The command exists for this node but was never handed out.
    NotDelivered,
    /// No such command for this node (another node's, or none at all).
    Unknown,
}

/// Stores the result of a delivered command of this node, once.
pub async fn complete(
    db: &sqlx::PgPool,
    id: Uuid,
    cluster_id: Uuid,
    node_index: i32,
    result: Value,
) -> Result<Completion, StoreError> {
    let done = sqlx::query(
        "UPDATE node_commands SET result = $4, completed_at = now()
         WHERE id = $1 AND cluster_id = $2 AND node_index = $3
           AND delivered_at IS NOT NULL AND completed_at IS NULL",
    )
    .bind(id)
    .bind(cluster_id)
    .bind(node_index)
    .bind(result)
    .execute(db)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(Completion::Stored);
    }
    let state: Option<(bool, bool)> = sqlx::query_as(
        "SELECT delivered_at IS NOT NULL, completed_at IS NOT NULL FROM node_commands
         WHERE id = $1 AND cluster_id = $2 AND node_index = $3",
    )
    .bind(id)
    .bind(cluster_id)
    .bind(node_index)
    .fetch_optional(db)
    .await?;
    Ok(match state {
        None => Completion::Unknown,
        Some((_, true)) => Completion::AlreadyCompleted,
        Some((false, _)) => Completion::NotDelivered,
        // Completed between the two statements by a concurrent post.
        Some((true, false)) => Completion::AlreadyCompleted,
    })
}

/// The stored result of a command; `None` if the command does not exist, `Some(None)` while
/// it has no result.
pub async fn result(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<Option<Value>>, StoreError> {
    let row: Option<(Option<Value>,)> =
        sqlx::query_as("SELECT result FROM node_commands WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(r,)| r))
}

/// Per-cluster state of the commands that carried MSP bundle `version`.
#[derive(Debug, sqlx::FromRow)]
pub struct MspCommandRow {
    pub cluster_id: Uuid,
    pub node_index: i32,
    pub result: Option<Value>,
    pub expired: bool,
    pub created_at: OffsetDateTime,
}

pub async fn msp_commands(
    db: impl PgExecutor<'_>,
    version: i64,
) -> Result<Vec<MspCommandRow>, StoreError> {
    let rows = sqlx::query_as::<_, MspCommandRow>(
        "SELECT cluster_id, node_index, result,
                (completed_at IS NULL AND expires_at <= now()) AS expired, created_at
         FROM node_commands WHERE msp_version = $1 ORDER BY cluster_id, node_index, created_at",
    )
    .bind(version)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// Deletes up to `limit` commands settled (`completed_at`) or, unanswered, expired
/// (`expires_at`) before `cutoff`; returns how many. Never a pending or in-flight command
/// (its expiry is in the future), one a creating/restoring snapshot still reconciles from,
/// or one carrying the newest MSP bundle (the bundle status view reads them). `SKIP LOCKED`:
/// replicas pruning at once split the work instead of waiting on each other.
pub async fn prune(
    db: impl PgExecutor<'_>,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM node_commands WHERE id IN (
             SELECT c.id FROM node_commands c
             WHERE COALESCE(c.completed_at, c.expires_at) < $1
               AND NOT EXISTS (
                   SELECT 1 FROM snapshots s
                   WHERE s.command_id = c.id AND s.state IN ('creating', 'restoring'))
               AND (c.msp_version IS NULL
                    OR c.msp_version < (SELECT COALESCE(max(version), 0) FROM msp_bundles))
             LIMIT $2
             FOR UPDATE OF c SKIP LOCKED)",
    )
    .bind(cutoff)
    .bind(limit)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
