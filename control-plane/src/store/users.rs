//! Users: login identities. A row without a password is an invitation placeholder.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub created_at: OffsetDateTime,
}

/// Registers `email`, or claims its invitation placeholder. Returns `None` when the email
/// already belongs to a registered user.
pub async fn register(
    db: impl PgExecutor<'_>,
    email: &str,
    password_hash: &str,
) -> Result<Option<UserRow>, StoreError> {
    // The conditional upsert makes concurrent sign-ups for one email race-free: exactly one
    // of them finds the password still NULL.
    let row = sqlx::query_as::<_, UserRow>(
        "INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, created_at = now()
             WHERE users.password_hash IS NULL
         RETURNING id, email, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(email)
    .bind(password_hash)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

/// Login lookup: the user id and password hash of a registered user.
pub async fn credentials(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<Option<(Uuid, String)>, StoreError> {
    let row = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT id, password_hash FROM users WHERE email = $1 AND password_hash IS NOT NULL",
    )
    .bind(email)
    .fetch_optional(db)
    .await?;
    Ok(row)
}

/// The user for `email`, creating an invitation placeholder if nobody has that address.
pub async fn find_or_invite(db: impl PgExecutor<'_>, email: &str) -> Result<Uuid, StoreError> {
    // The no-op update makes RETURNING yield the existing row on conflict.
    let id = sqlx::query_scalar::<_, Uuid>(
        "INSERT INTO users (id, email) VALUES ($1, $2)
         ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(email)
    .fetch_one(db)
    .await?;
    Ok(id)
}
