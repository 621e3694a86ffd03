//! The sweeper's SQL: what the database says about the clusters named by resource tags, and the
//! `orphan_findings` table (upsert of a sweep's findings, removal of resolved ones, listing).

use std::collections::HashMap;

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::classify::Record;
use crate::domain::{PageSize, PageToken};
use crate::store::{fetch_page, keyset, Keyed, Page, StoreError};

/// `true` for each cluster that exists and is `deleted`, `false` for other existing ones.
pub(super) async fn cluster_deleted(
    db: impl PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, bool>, StoreError> {
    let rows = sqlx::query_as::<_, (Uuid, bool)>(
        "SELECT id, state = 'deleted' FROM clusters WHERE id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}

/// `(cluster id, kind, resource id)` of a `cluster_resources` row.
pub(super) type RecordKey = (Uuid, String, String);

/// The engine's records of the resources of these clusters.
pub(super) async fn records(
    db: impl PgExecutor<'_>,
    cluster_ids: &[Uuid],
) -> Result<HashMap<RecordKey, Record>, StoreError> {
    if cluster_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query_as::<_, (Uuid, String, String, String, Option<OffsetDateTime>)>(
        "SELECT cluster_id, kind, resource_id, state, purge_after
         FROM cluster_resources WHERE cluster_id = ANY($1)",
    )
    .bind(cluster_ids)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(c, kind, id, state, purge_after)| {
            ((c, kind, id), Record::parse(&state, purge_after))
        })
        .collect())
}

/// One orphan as a sweep found it.
#[derive(Debug, Clone)]
pub(super) struct NewFinding {
    pub kind: &'static str,
    pub resource_id: String,
    pub region: Option<String>,
    pub cluster_id: Option<String>,
    pub org_id: Option<String>,
    pub reason: &'static str,
}

/// Records `findings` as seen at `seen`. Returns the ones not previously recorded, so each new
/// orphan is announced once, even with several replicas sweeping (the insert decides).
pub(super) async fn upsert(
    db: impl PgExecutor<'_>,
    findings: &[NewFinding],
    seen: OffsetDateTime,
) -> Result<Vec<(String, String)>, StoreError> {
    if findings.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = findings.iter().map(|_| Uuid::new_v4()).collect();
    let kinds: Vec<&str> = findings.iter().map(|f| f.kind).collect();
    let resource_ids: Vec<&str> = findings.iter().map(|f| f.resource_id.as_str()).collect();
    let regions: Vec<Option<&str>> = findings.iter().map(|f| f.region.as_deref()).collect();
    let clusters: Vec<Option<&str>> = findings.iter().map(|f| f.cluster_id.as_deref()).collect();
    let orgs: Vec<Option<&str>> = findings.iter().map(|f| f.org_id.as_deref()).collect();
    let reasons: Vec<&str> = findings.iter().map(|f| f.reason).collect();
    // `xmax = 0` only for a row this statement inserted (an updated row has a deleting xid).
    // GREATEST keeps a slower, older sweep from moving last_seen backwards.
    let rows = sqlx::query_as::<_, (String, String, bool)>(
        "INSERT INTO orphan_findings
             (id, kind, resource_id, region, cluster_id, org_id, reason, first_seen, last_seen)
         SELECT u.id, u.kind, u.resource_id, u.region, u.cluster_id, u.org_id, u.reason, $8, $8
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[]) AS u(id, kind, resource_id, region, cluster_id, org_id, reason)
         ON CONFLICT (kind, resource_id) DO UPDATE SET
             last_seen = GREATEST(orphan_findings.last_seen, EXCLUDED.last_seen),
             region = EXCLUDED.region, cluster_id = EXCLUDED.cluster_id,
             org_id = EXCLUDED.org_id, reason = EXCLUDED.reason
         RETURNING kind, resource_id, (xmax = 0)",
    )
    .bind(&ids)
    .bind(&kinds)
    .bind(&resource_ids)
    .bind(&regions)
    .bind(&clusters)
    .bind(&orgs)
    .bind(&reasons)
    .bind(seen)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().filter(|(_, _, inserted)| *inserted).map(|(k, id, _)| (k, id)).collect())
}

/// Removes findings a sweep started at `sweep_started` no longer saw, but only in the regions
/// it listed successfully (`global`: whether global resources were listed): a region that
/// failed to list keeps its findings rather than pretending they were resolved.
pub(super) async fn delete_resolved(
    db: impl PgExecutor<'_>,
    sweep_started: OffsetDateTime,
    listed_regions: &[String],
    global: bool,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM orphan_findings WHERE last_seen < $1
             AND (region = ANY($2) OR (region IS NULL AND $3))",
    )
    .bind(sweep_started)
    .bind(listed_regions)
    .bind(global)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FindingRow {
    pub id: Uuid,
    pub kind: String,
    pub resource_id: String,
    pub region: Option<String>,
    pub cluster_id: Option<String>,
    pub org_id: Option<String>,
    pub reason: String,
    pub first_seen: OffsetDateTime,
    pub last_seen: OffsetDateTime,
}

impl Keyed for FindingRow {
    fn key(&self) -> PageToken {
        PageToken { created_at: self.first_seen, id: self.id }
    }
}

/// Current findings, oldest first.
pub(super) async fn list(
    db: impl PgExecutor<'_>,
    size: PageSize,
    token: Option<PageToken>,
) -> Result<Page<FindingRow>, StoreError> {
    let sql = format!(
        "SELECT id, kind, resource_id, region, cluster_id, org_id, reason, first_seen, last_seen
         FROM orphan_findings WHERE {}",
        keyset("first_seen", "id", 1)
    );
    fetch_page(db, sqlx::query_as(&sql), size, token).await
}

/// Number of current findings per kind, for the metrics gauge.
pub(super) async fn count_by_kind(
    db: impl PgExecutor<'_>,
) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query_as::<_, (String, i64)>(
        "SELECT kind, count(*) FROM orphan_findings GROUP BY kind ORDER BY kind",
    )
    .fetch_all(db)
    .await?;
    Ok(rows)
}
