//! Postgres persistence, one repository module per aggregate.
//!
//! What is persisted and why:
//! - `users`, `orgs`, `org_members`: identities and tenancy; invited-but-unregistered users are
//!   placeholder rows without a password so a membership can reference them by id;
//! - `access_tokens`: SHA-256 hashes of bearer tokens and console sessions, with expiry;
//! - `service_principals`: machine identities with a hashed client secret;
//! - `clusters`: desired spec (intent) plus observed state written by the provisioning engine;
//! - `operations`, `operation_steps`: the requested workflow and its progress, so work survives
//!   restarts and is visible to clients;
//! - `idempotency_keys`: replay protection for cluster creation;
//! - `releases`: the catalog of versions a cluster may run;
//! - `node_commands`, `node_health`, `msp`: the node channel (queued commands and results,
//!   heartbeats) and published operator-policy bundles;
//! - `snapshots`: each snapshot object of a cluster and the node command working on it.
//!
//! Repositories take any executor (pool or transaction) so use-cases decide transaction
//! boundaries. Database errors are classified in exactly one place, [`StoreError::from`].

pub mod clusters;
pub mod idempotency;
pub mod members;
pub mod msp;
pub mod node_commands;
pub mod node_health;
pub mod nodes;
pub mod operations;
pub mod orgs;
pub mod releases;
pub mod service_principals;
pub mod snapshots;
pub mod tokens;
pub mod users;

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgArguments, PgPoolOptions, PgRow};
use sqlx::query::QueryAs;
use sqlx::{PgPool, Postgres};

use crate::config::DatabaseSettings;
use crate::domain::{PageSize, PageToken};

/// The schema migrations, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated; carries the constraint name.
    #[error("conflict on {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict(db.constraint().unwrap_or("unique").to_owned());
            }
        }
        StoreError::Database(e)
    }
}

/// Opens the pool lazily-verified: the first connection is made here so a wrong URL fails fast.
pub async fn connect(settings: &DatabaseSettings) -> Result<PgPool, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(settings.connect_timeout_secs))
        .connect(settings.url.expose_secret())
        .await?;
    Ok(pool)
}

pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

pub async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// One page of results plus the token for the next one.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<PageToken>,
}

/// Rows with a keyset position.
pub trait Keyed {
    fn key(&self) -> PageToken;
}

/// Queries fetch `size + 1` rows; the extra row only tells us another page exists.
fn paginate<T: Keyed>(mut rows: Vec<T>, size: PageSize) -> Page<T> {
    let size = size.get() as usize;
    let next = if rows.len() > size {
        rows.truncate(size);
        rows.last().map(Keyed::key)
    } else {
        None
    };
    Page { items: rows, next }
}

/// The keyset tail of a page query ordered by the `(ts, id)` columns, whose parameters start
/// at `$first`: `(ts, id) > ($first, $first+1) ORDER BY ts, id LIMIT $first+2`. Bind them with
/// [`fetch_page`].
pub(crate) fn keyset(ts: &str, id: &str, first: u8) -> String {
    let (a, b, c) = (first, first + 1, first + 2);
    format!("({ts}, {id}) > (${a}, ${b}) ORDER BY {ts}, {id} LIMIT ${c}")
}

/// Runs a page query whose SQL ends in [`keyset`]: binds the position after the query's own
/// parameters, fetches one row more than the page holds and pages the rows.
pub(crate) async fn fetch_page<'q, 'c, T, E>(
    db: E,
    query: QueryAs<'q, Postgres, T, PgArguments>,
    size: PageSize,
    token: Option<PageToken>,
) -> Result<Page<T>, StoreError>
where
    T: Keyed + Send + Unpin + for<'r> sqlx::FromRow<'r, PgRow> + 'q,
    E: sqlx::Executor<'c, Database = Postgres> + 'q,
    'c: 'q,
{
    let (ts, id) = after(token);
    let rows = query.bind(ts).bind(id).bind(i64::from(size.get()) + 1).fetch_all(db).await?;
    Ok(paginate(rows, size))
}

/// Lower bound for a keyset query: the position after which to start.
fn after(token: Option<PageToken>) -> (time::OffsetDateTime, uuid::Uuid) {
    match token {
        Some(t) => (t.created_at, t.id),
        None => (time::OffsetDateTime::UNIX_EPOCH, uuid::Uuid::nil()),
    }
}
