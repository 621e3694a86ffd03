//! The release image catalog: which machine image runs a release in a region.

use sqlx::PgExecutor;

use crate::store::StoreError;

pub async fn image_for(
    db: impl PgExecutor<'_>,
    version: &str,
    region: &str,
) -> Result<Option<String>, StoreError> {
    let id = sqlx::query_scalar::<_, String>(
        "SELECT image_id FROM release_images WHERE version = $1 AND region = $2",
    )
    .bind(version)
    .bind(region)
    .fetch_optional(db)
    .await?;
    Ok(id)
}

/// Adds or replaces a catalog entry (operators and tests load the catalog with this).
pub async fn put_image(
    db: impl PgExecutor<'_>,
    version: &str,
    region: &str,
    image_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO release_images (version, region, image_id) VALUES ($1, $2, $3)
         ON CONFLICT (version, region) DO UPDATE SET image_id = EXCLUDED.image_id",
    )
    .bind(version)
    .bind(region)
    .bind(image_id)
    .execute(db)
    .await?;
    Ok(())
}
