//! Published operator-policy (MSP) bundles: the exact signed payload and signature per
//! version, so a node that registers later receives byte-for-byte what the others did.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

/// Advisory-lock key naming "the MSP bundle version sequence" (arbitrary, unique in the app).
const VERSION_LOCK: i64 = 0x636f_6666_6d73_7001;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BundleRow {
    pub version: i64,
    pub payload: String,
    pub signature: String,
    pub published_by: Uuid,
    pub created_at: OffsetDateTime,
}

/// Serialises publishers (a transaction-scoped advisory lock), so `max + 1` is never handed
/// to two of them; released at commit or rollback.
pub async fn lock_versions(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(VERSION_LOCK).execute(&mut *conn).await?;
    Ok(())
}

/// The newest published version, 0 when none.
pub async fn max_version(db: impl PgExecutor<'_>) -> Result<i64, StoreError> {
    let (v,): (i64,) =
        sqlx::query_as("SELECT COALESCE(max(version), 0) FROM msp_bundles").fetch_one(db).await?;
    Ok(v)
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    version: i64,
    payload: &str,
    signature: &str,
    published_by: Uuid,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO msp_bundles (version, payload, signature, published_by)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(version)
    .bind(payload)
    .bind(signature)
    .bind(published_by)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get(db: impl PgExecutor<'_>, version: i64) -> Result<Option<BundleRow>, StoreError> {
    let row = sqlx::query_as::<_, BundleRow>(
        "SELECT version, payload, signature, published_by, created_at
         FROM msp_bundles WHERE version = $1",
    )
    .bind(version)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

pub async fn latest(db: impl PgExecutor<'_>) -> Result<Option<BundleRow>, StoreError> {
    let row = sqlx::query_as::<_, BundleRow>(
        "SELECT version, payload, signature, published_by, created_at
         FROM msp_bundles ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    Ok(row)
}
