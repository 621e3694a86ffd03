//! Organisation memberships. A member whose user has no password yet is "invited".

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{fetch_page, keyset, Keyed, Page, StoreError};
use crate::domain::{PageSize, PageToken};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: Uuid,
    pub email: String,
    pub role: String,
    /// False while the invited user has not signed up.
    pub active: bool,
    pub created_at: OffsetDateTime,
}

impl Keyed for MemberRow {
    fn key(&self) -> PageToken {
        PageToken { created_at: self.created_at, id: self.user_id }
    }
}

const SELECT: &str = "SELECT m.user_id, u.email, m.role, (u.password_hash IS NOT NULL) AS active,
        m.created_at
    FROM org_members m JOIN users u ON u.id = m.user_id";

/// Adds a membership; `Conflict` if the user is already a member.
pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    user_id: Uuid,
    role: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, $3)")
        .bind(org_id)
        .bind(user_id)
        .bind(role)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<Option<MemberRow>, StoreError> {
    let sql = format!("{SELECT} WHERE m.org_id = $1 AND m.user_id = $2");
    let row =
        sqlx::query_as::<_, MemberRow>(&sql).bind(org_id).bind(user_id).fetch_optional(db).await?;
    Ok(row)
}

/// The caller's role in an org, only for users who have signed up.
pub async fn role_of(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<Option<String>, StoreError> {
    let role = sqlx::query_scalar::<_, String>(
        "SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(role)
}

pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    size: PageSize,
    token: Option<PageToken>,
) -> Result<Page<MemberRow>, StoreError> {
    let sql =
        format!("{SELECT} WHERE m.org_id = $1 AND {}", keyset("m.created_at", "m.user_id", 2));
    fetch_page(db, sqlx::query_as(&sql).bind(org_id), size, token).await
}

/// Locks the org's owner rows and returns how many there are. Call inside the transaction
/// that demotes or removes an owner so two concurrent changes cannot remove the last two.
pub async fn lock_owners(db: impl PgExecutor<'_>, org_id: Uuid) -> Result<usize, StoreError> {
    let ids = sqlx::query_scalar::<_, Uuid>(
        "SELECT user_id FROM org_members WHERE org_id = $1 AND role = 'owner' FOR UPDATE",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?;
    Ok(ids.len())
}

pub async fn set_role(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    user_id: Uuid,
    role: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE org_members SET role = $3 WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .bind(role)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM org_members WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
