//! Registered nodes as the node channel sees them: credential lookup, the latest heartbeat
//! per node, and health derived from the heartbeat's age by the database clock (so every
//! replica agrees on who is healthy).

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

/// The node a credential belongs to.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct NodeAuthRow {
    pub cluster_id: Uuid,
    pub org_id: Uuid,
    pub node_index: i32,
}

/// Resolves a node credential hash. Nodes of deleted clusters no longer authenticate.
pub async fn authenticate(
    db: impl PgExecutor<'_>,
    credential_hash: &[u8],
) -> Result<Option<NodeAuthRow>, StoreError> {
    let row = sqlx::query_as::<_, NodeAuthRow>(
        "SELECT n.cluster_id, c.org_id, n.node_index
         FROM cluster_nodes n JOIN clusters c ON c.id = n.cluster_id
         WHERE n.credential_hash = $1 AND c.state <> 'deleted'",
    )
    .bind(credential_hash)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

/// One heartbeat, as stored.
pub struct HeartbeatRow<'a> {
    pub api_address: &'a str,
    pub initialized: bool,
    pub sealed: bool,
    pub server_version: &'a str,
    pub agent_version: &'a str,
    pub leader: bool,
    pub msp_bundle_version: i64,
    pub audit_shipped_through: Option<i64>,
}

pub async fn record_heartbeat(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    node_index: i32,
    hb: &HeartbeatRow<'_>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE cluster_nodes SET api_address = $3, initialized = $4, sealed = $5,
             server_version = $6, agent_version = $7, leader = $8, msp_bundle_version = $9,
             audit_shipped_through = CASE WHEN $10::bigint IS NULL THEN audit_shipped_through
                                          ELSE to_timestamp($10::bigint) END,
             last_heartbeat_at = now()
         WHERE cluster_id = $1 AND node_index = $2",
    )
    .bind(cluster_id)
    .bind(node_index)
    .bind(hb.api_address)
    .bind(hb.initialized)
    .bind(hb.sealed)
    .bind(hb.server_version)
    .bind(hb.agent_version)
    .bind(hb.leader)
    .bind(hb.msp_bundle_version)
    .bind(hb.audit_shipped_through)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Points the cluster's customer-facing address at its leader; a no-op when unchanged, so a
/// heartbeat does not rewrite the cluster row every few seconds.
pub async fn set_cluster_address(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    address: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE clusters SET address = $2, updated_at = now()
         WHERE id = $1 AND address IS DISTINCT FROM $2",
    )
    .bind(cluster_id)
    .bind(address)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NodeHealthRow {
    pub node_index: i32,
    pub instance_id: String,
    pub api_address: Option<String>,
    pub initialized: Option<bool>,
    pub sealed: Option<bool>,
    pub server_version: Option<String>,
    pub agent_version: Option<String>,
    pub leader: Option<bool>,
    pub msp_bundle_version: Option<i64>,
    pub registered_at: OffsetDateTime,
    pub last_heartbeat_at: Option<OffsetDateTime>,
    /// A heartbeat arrived within the last `unhealthy_after_secs`.
    pub healthy: bool,
}

pub async fn list_health(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    unhealthy_after_secs: f64,
) -> Result<Vec<NodeHealthRow>, StoreError> {
    let rows = sqlx::query_as::<_, NodeHealthRow>(
        "SELECT node_index, instance_id, api_address, initialized, sealed, server_version,
                agent_version, leader, msp_bundle_version, registered_at, last_heartbeat_at,
                COALESCE(last_heartbeat_at > now() - make_interval(secs => $2), false) AS healthy
         FROM cluster_nodes WHERE cluster_id = $1 ORDER BY node_index",
    )
    .bind(cluster_id)
    .bind(unhealthy_after_secs)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// Whether a node has registered into the slot.
pub async fn is_registered(
    db: impl PgExecutor<'_>,
    cluster_id: Uuid,
    node_index: i32,
) -> Result<bool, StoreError> {
    let (found,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM cluster_nodes WHERE cluster_id = $1 AND node_index = $2)",
    )
    .bind(cluster_id)
    .bind(node_index)
    .fetch_one(db)
    .await?;
    Ok(found)
}

/// Clusters whose API node (index 0) has registered and that are not being deleted: the
/// targets of an MSP bundle.
pub async fn clusters_with_api_node(db: impl PgExecutor<'_>) -> Result<Vec<Uuid>, StoreError> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT n.cluster_id FROM cluster_nodes n JOIN clusters c ON c.id = n.cluster_id
         WHERE n.node_index = 0 AND c.state NOT IN ('deleting', 'deleted')
         ORDER BY n.cluster_id",
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
