//! The releases catalog: versions a cluster may be created with or upgraded to.

use sqlx::PgExecutor;

use super::StoreError;

pub async fn latest(db: impl PgExecutor<'_>) -> Result<Option<String>, StoreError> {
    let v = sqlx::query_scalar::<_, String>(
        "SELECT version FROM releases ORDER BY released_at DESC, version DESC LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    Ok(v)
}

pub async fn exists(db: impl PgExecutor<'_>, version: &str) -> Result<bool, StoreError> {
    let found =
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM releases WHERE version = $1)")
            .bind(version)
            .fetch_one(db)
            .await?;
    Ok(found)
}
