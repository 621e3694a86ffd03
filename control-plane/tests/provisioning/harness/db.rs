//! One empty database per test on the server named by `COFFER_TEST_DATABASE_URL`; the control
//! plane under test migrates it on start. A direct pool lets tests read the engine's tables
//! (step attempts, tracked resources) that the API does not show in full.

use coffer_test_support::pg;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use uuid::Uuid;

/// A fresh database: its URL and a small lazy pool on it.
pub async fn fresh() -> (String, PgPool) {
    let url = pg::fresh_database(&pg::admin_url()).await.url;
    let pool = PgPoolOptions::new().max_connections(4).connect_lazy(&url).expect("test pool");
    (url, pool)
}

/// Makes `image` the machine image of every seeded release in `region` (the catalog is empty
/// by default; each deployment loads its own). Call after the control plane has migrated.
pub async fn put_image(pool: &PgPool, region: &str, image: &str) {
    sqlx::query(
        "INSERT INTO release_images (version, region, image_id) \
         SELECT version, $1, $2 FROM releases ON CONFLICT (version, region) DO NOTHING",
    )
    .bind(region)
    .bind(image)
    .execute(pool)
    .await
    .expect("seed the image catalog");
}

/// `(step name, state, attempt)` of an operation's steps, in plan order.
pub async fn steps(pool: &PgPool, op: Uuid) -> Vec<(String, String, i32)> {
    sqlx::query_as(
        "SELECT name, state, attempt FROM operation_steps WHERE operation_id = $1 ORDER BY position",
    )
    .bind(op)
    .fetch_all(pool)
    .await
    .expect("read steps")
}
