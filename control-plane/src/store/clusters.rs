//! Clusters: desired spec (written by the API) and observed state (written by the engine).

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{fetch_page, keyset, Keyed, Page, StoreError};
use crate::domain::{PageSize, PageToken};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClusterRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub tier: String,
    pub size: String,
    pub region: String,
    pub version: String,
    pub state: String,
    pub address: Option<String>,
    pub public_endpoint: bool,
    pub ip_allow_list: Vec<String>,
    pub node_count: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Keyed for ClusterRow {
    fn key(&self) -> PageToken {
        PageToken { created_at: self.created_at, id: self.id }
    }
}

const COLUMNS: &str = "id, org_id, name, tier, size, region, version, state, address,
    public_endpoint, ip_allow_list, node_count, created_at, updated_at";

/// The desired spec of a new cluster.
pub struct NewCluster<'a> {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: &'a str,
    pub tier: &'a str,
    pub size: &'a str,
    pub region: &'a str,
    pub version: &'a str,
    pub public_endpoint: bool,
    pub ip_allow_list: &'a [String],
    pub node_count: i32,
}

/// Inserts in state `pending`; `Conflict` if a live cluster in the org has the name.
pub async fn insert(db: impl PgExecutor<'_>, c: NewCluster<'_>) -> Result<ClusterRow, StoreError> {
    let sql = format!(
        "INSERT INTO clusters (id, org_id, name, tier, size, region, version, public_endpoint,
             ip_allow_list, node_count, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending') RETURNING {COLUMNS}"
    );
    let row = sqlx::query_as::<_, ClusterRow>(&sql)
        .bind(c.id)
        .bind(c.org_id)
        .bind(c.name)
        .bind(c.tier)
        .bind(c.size)
        .bind(c.region)
        .bind(c.version)
        .bind(c.public_endpoint)
        .bind(c.ip_allow_list)
        .bind(c.node_count)
        .fetch_one(db)
        .await?;
    Ok(row)
}

pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<ClusterRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clusters WHERE org_id = $1 AND id = $2");
    let row =
        sqlx::query_as::<_, ClusterRow>(&sql).bind(org_id).bind(id).fetch_optional(db).await?;
    Ok(row)
}

/// Like [`get`] but locks the row for the rest of the transaction, serialising concurrent
/// updates and deletes of one cluster.
pub async fn get_for_update(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<ClusterRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clusters WHERE org_id = $1 AND id = $2 FOR UPDATE");
    let row =
        sqlx::query_as::<_, ClusterRow>(&sql).bind(org_id).bind(id).fetch_optional(db).await?;
    Ok(row)
}

pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    size: PageSize,
    token: Option<PageToken>,
) -> Result<Page<ClusterRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM clusters WHERE org_id = $1 AND {}",
        keyset("created_at", "id", 2)
    );
    fetch_page(db, sqlx::query_as(&sql).bind(org_id), size, token).await
}

/// Changes to the desired spec; `None` leaves a field as it is.
pub struct SpecChange<'a> {
    pub ip_allow_list: Option<&'a [String]>,
    pub public_endpoint: Option<bool>,
    pub version: Option<&'a str>,
}

pub async fn update_spec(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    c: SpecChange<'_>,
) -> Result<ClusterRow, StoreError> {
    let sql = format!(
        "UPDATE clusters SET ip_allow_list = COALESCE($3, ip_allow_list),
             public_endpoint = COALESCE($4, public_endpoint), version = COALESCE($5, version),
             updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    let row = sqlx::query_as::<_, ClusterRow>(&sql)
        .bind(org_id)
        .bind(id)
        .bind(c.ip_allow_list)
        .bind(c.public_endpoint)
        .bind(c.version)
        .fetch_one(db)
        .await?;
    Ok(row)
}

pub async fn set_state(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    id: Uuid,
    state: &str,
) -> Result<ClusterRow, StoreError> {
    let sql = format!(
        "UPDATE clusters SET state = $3, updated_at = now() WHERE org_id = $1 AND id = $2
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query_as::<_, ClusterRow>(&sql)
        .bind(org_id)
        .bind(id)
        .bind(state)
        .fetch_one(db)
        .await?;
    Ok(row)
}
