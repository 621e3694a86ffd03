//! Access tokens and console sessions, stored only as SHA-256 hashes.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

/// Who a presented token belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenOwner {
    pub user_id: Option<Uuid>,
    pub service_principal_id: Option<Uuid>,
    /// Org and role of the service principal (NULL for users).
    pub sp_org_id: Option<Uuid>,
    pub sp_role: Option<String>,
    pub csrf_hash: Option<Vec<u8>>,
}

pub struct NewToken<'a> {
    pub hash: &'a [u8],
    pub user_id: Option<Uuid>,
    pub service_principal_id: Option<Uuid>,
    pub csrf_hash: Option<&'a [u8]>,
    pub expires_at: OffsetDateTime,
}

pub async fn insert(db: impl PgExecutor<'_>, t: NewToken<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_tokens (token_hash, user_id, service_principal_id, csrf_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(t.hash)
    .bind(t.user_id)
    .bind(t.service_principal_id)
    .bind(t.csrf_hash)
    .bind(t.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Resolves an unexpired token. Tokens of deleted service principals are gone by cascade.
pub async fn lookup(
    db: impl PgExecutor<'_>,
    hash: &[u8],
) -> Result<Option<TokenOwner>, StoreError> {
    let row = sqlx::query_as::<_, TokenOwner>(
        "SELECT t.user_id, t.service_principal_id, sp.org_id AS sp_org_id, sp.role AS sp_role,
                t.csrf_hash
         FROM access_tokens t LEFT JOIN service_principals sp ON sp.id = t.service_principal_id
         WHERE t.token_hash = $1 AND t.expires_at > now()",
    )
    .bind(hash)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

/// Drops expired tokens; called opportunistically when new tokens are issued.
pub async fn purge_expired(db: impl PgExecutor<'_>) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM access_tokens WHERE token_hash IN
            (SELECT token_hash FROM access_tokens WHERE expires_at < now() LIMIT 1000)",
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes the token with this hash and, when `everywhere`, every other token of the same
/// user (all their sessions). Service-principal tokens are only ever revoked one by one: a
/// principal's other holders (parallel CI jobs) must not be signed out by one of them.
/// Returns how many tokens were revoked (0 when the token was unknown or expired).
pub async fn revoke(
    db: impl PgExecutor<'_>,
    hash: &[u8],
    everywhere: bool,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "WITH me AS (
             SELECT token_hash, user_id FROM access_tokens
             WHERE token_hash = $1 AND expires_at > now()
         )
         DELETE FROM access_tokens t
         WHERE t.token_hash = (SELECT token_hash FROM me)
            OR ($2 AND t.user_id IS NOT NULL AND t.user_id = (SELECT user_id FROM me))",
    )
    .bind(hash)
    .bind(everywhere)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
