//! An empty PostgreSQL database per test on the server `./dev test` runs
//! (`COFFER_TEST_DATABASE_URL`, an admin URL): tests never see each other's rows and need no
//! cleanup order. The code under test migrates the database itself, as it does in production.

use sqlx::{Connection as _, PgConnection};
use uuid::Uuid;

/// A database made for one test.
#[derive(Debug, Clone)]
pub struct FreshDatabase {
    /// Its URL: the admin URL with the database name replaced.
    pub url: String,
    /// Its name, `coffer_test_<uuid>`.
    pub name: String,
}

/// `COFFER_TEST_DATABASE_URL`: a PostgreSQL URL whose user may create databases.
pub fn admin_url() -> String {
    std::env::var("COFFER_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("set COFFER_TEST_DATABASE_URL (./dev test does) to a PostgreSQL admin URL")
    })
}

/// Creates an empty database on the server of `admin_url`.
pub async fn fresh_database(admin_url: &str) -> FreshDatabase {
    let name = format!("coffer_test_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect to the admin database: {e}"));
    sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    // A failed goodbye leaves nothing behind that matters: the server drops the session.
    let _ = admin.close().await;
    FreshDatabase { url: with_database(admin_url, &name), name }
}

/// Replaces the database name (the URL path) of a Postgres URL, keeping any query string.
pub fn with_database(url: &str, database: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        let check =
            |input: &str, expect: &str| assert_eq!(with_database(input, "t1"), expect, "{input}");
        check("postgres://postgres@db.local:5432/postgres", "postgres://postgres@db.local:5432/t1");
        check("postgres://u:p@h:1/db?sslmode=disable", "postgres://u:p@h:1/t1?sslmode=disable");
        check("postgres://h:1", "postgres://h:1/t1");
        check("postgres://h:1?x=y", "postgres://h:1/t1?x=y");
    }

    /// Against the real server: two calls give two distinct, empty, connectable databases.
    #[tokio::test]
    async fn fresh_databases_are_distinct_and_empty() {
        let admin = admin_url();
        let a = fresh_database(&admin).await;
        let b = fresh_database(&admin).await;
        assert_ne!(a.name, b.name);
        assert!(a.url.contains(&a.name), "{}", a.name);
        let mut conn = PgConnection::connect(&a.url).await.expect("connect to the new database");
        let (db, tables): (String, i64) = sqlx::query_as(
            "SELECT current_database(), \
             (SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!((db.as_str(), tables), (a.name.as_str(), 0));
    }
}
