//! SQL for operator accounts and operator tokens (tokens stored only as SHA-256 hashes).

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::StoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct OperatorRow {
    pub id: Uuid,
    pub email: String,
}

/// Inserts a new operator; `None` if the email is taken.
pub(super) async fn insert(
    db: impl PgExecutor<'_>,
    id: Uuid,
    email: &str,
    password_hash: &str,
) -> Result<Option<OperatorRow>, StoreError> {
    let row = sqlx::query_as::<_, OperatorRow>(
        "INSERT INTO operators (id, email, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO NOTHING RETURNING id, email",
    )
    .bind(id)
    .bind(email)
    .bind(password_hash)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

/// `(id, password_hash)` of the operator with this (normalised) email.
pub(super) async fn credentials(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<Option<(Uuid, String)>, StoreError> {
    let row = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT id, password_hash FROM operators WHERE email = $1",
    )
    .bind(email)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

pub(super) async fn insert_token(
    db: impl PgExecutor<'_>,
    hash: &[u8],
    operator_id: Uuid,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO operator_tokens (token_hash, operator_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(hash)
    .bind(operator_id)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The operator owning an unexpired token.
pub(super) async fn token_owner(
    db: impl PgExecutor<'_>,
    hash: &[u8],
) -> Result<Option<Uuid>, StoreError> {
    let row = sqlx::query_as::<_, (Uuid,)>(
        "SELECT operator_id FROM operator_tokens WHERE token_hash = $1 AND expires_at > now()",
    )
    .bind(hash)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// Drops a bounded batch of expired tokens; called when new tokens are issued.
pub(super) async fn purge_expired_tokens(db: impl PgExecutor<'_>) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM operator_tokens WHERE token_hash IN
            (SELECT token_hash FROM operator_tokens WHERE expires_at < now() LIMIT 1000)",
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
