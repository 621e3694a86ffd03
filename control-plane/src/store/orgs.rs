//! Organisations: the tenancy boundary every other resource hangs off.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{fetch_page, keyset, Keyed, Page, StoreError};
use crate::domain::{PageSize, PageToken};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// An org as seen by one caller, with the caller's role in it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgWithRole {
    pub id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub role: String,
}

impl Keyed for OrgWithRole {
    fn key(&self) -> PageToken {
        PageToken { created_at: self.created_at, id: self.id }
    }
}

pub async fn insert(db: impl PgExecutor<'_>, name: &str) -> Result<OrgRow, StoreError> {
    let row = sqlx::query_as::<_, OrgRow>(
        "INSERT INTO orgs (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(name)
    .fetch_one(db)
    .await?;
    Ok(row)
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<OrgRow>, StoreError> {
    let row = sqlx::query_as::<_, OrgRow>("SELECT id, name, created_at FROM orgs WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row)
}

/// Orgs the user is a member of, in creation order.
pub async fn list_for_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    size: PageSize,
    token: Option<PageToken>,
) -> Result<Page<OrgWithRole>, StoreError> {
    let sql = format!(
        "SELECT o.id, o.name, o.created_at, m.role
         FROM org_members m JOIN orgs o ON o.id = m.org_id
         WHERE m.user_id = $1 AND {}",
        keyset("o.created_at", "o.id", 2)
    );
    fetch_page(db, sqlx::query_as(&sql).bind(user_id), size, token).await
}
