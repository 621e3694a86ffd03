//! Service principals: machine identities of one org, authenticated by client credentials.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{fetch_page, keyset, Keyed, Page, StoreError};
use crate::domain::{PageSize, PageToken};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServicePrincipalRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub role: String,
    pub client_id: String,
    pub created_at: OffsetDateTime,
}

impl Keyed for ServicePrincipalRow {
    fn key(&self) -> PageToken {
        PageToken { created_at: self.created_at, id: self.id }
    }
}

const COLUMNS: &str = "id, org_id, name, role, client_id, created_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    name: &str,
    role: &str,
    client_id: &str,
    secret_hash: &[u8],
) -> Result<ServicePrincipalRow, StoreError> {
    let sql = format!(
        "INSERT INTO service_principals (id, org_id, name, role, client_id, secret_hash)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    );
    let row = sqlx::query_as::<_, ServicePrincipalRow>(&sql)
        .bind(Uuid::now_v7())
        .bind(org_id)
        .bind(name)
        .bind(role)
        .bind(client_id)
        .bind(secret_hash)
        .fetch_one(db)
        .await?;
    Ok(row)
}

pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    size: PageSize,
    token: Option<PageToken>,
) -> Result<Page<ServicePrincipalRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM service_principals WHERE org_id = $1 AND {}",
        keyset("created_at", "id", 2)
    );
    fetch_page(db, sqlx::query_as(&sql).bind(org_id), size, token).await
}

/// The principal's id and secret hash for a client id, for the token endpoint.
pub async fn credentials(
    db: impl PgExecutor<'_>,
    client_id: &str,
) -> Result<Option<(Uuid, Vec<u8>)>, StoreError> {
    let row = sqlx::query_as::<_, (Uuid, Vec<u8>)>(
        "SELECT id, secret_hash FROM service_principals WHERE client_id = $1",
    )
    .bind(client_id)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

/// Deletes the principal; its tokens go with it (ON DELETE CASCADE).
pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM service_principals WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
