//! One empty database per test on the server named by `COFFER_TEST_DATABASE_URL`; the control
//! plane under test migrates it on start. A direct pool lets tests read the engine's tables
//! (step attempts, tracked resources) that the API does not show in full.

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

pub fn admin_url() -> String {
    std::env::var("COFFER_TEST_DATABASE_URL")
        .expect("set COFFER_TEST_DATABASE_URL (./dev test does) to a PostgreSQL admin URL")
}

/// Replaces the database name (the URL path) of a Postgres URL, keeping any query string.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A fresh database: its URL and a small lazy pool on it.
pub async fn fresh() -> (String, PgPool) {
    let admin = admin_url();
    let name = format!("coffer_engt_{}", Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin).await.expect("connect to the admin database");
    sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    let _ = conn.close().await;
    let url = with_database(&admin, &name);
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

#[test]
fn with_database_replaces_only_the_path() {
    let check =
        |input: &str, expect: &str| assert_eq!(with_database(input, "t1"), expect, "{input}");
    check("postgres://postgres@db.local:5432/postgres", "postgres://postgres@db.local:5432/t1");
    check("postgres://u:p@h:1/db?sslmode=disable", "postgres://u:p@h:1/t1?sslmode=disable");
    check("postgres://h:1", "postgres://h:1/t1");
}
