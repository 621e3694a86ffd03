//! Audit logs: list and download what the cluster's nodes shipped to its audit bucket.
//!
//! The nodes write gzip'd JSON-lines objects under
//! `audit/{cluster_id}/node-{index}/{YYYY}/{MM}/{DD}/{HH}/{start:020}-{end:020}.jsonl.gz`, the
//! hour being that of the object's first line, with `first-time` / `last-time` metadata. The
//! time partition in the key lets a listing seek straight to the requested range instead of
//! walking the bucket; only objects that can overlap are HEADed for their exact times. The
//! bucket is always the cluster's own, from `cluster_resources`: a caller names a cluster and
//! a time range, never a bucket or a key.

use std::sync::Arc;
use std::time::Duration;

use coffer_cloud::{BucketLocation, ListQuery, ObjectStore};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Caller, ControlPlane, ServiceError};
use crate::domain::Action;
use crate::store::clusters;
use crate::store::snapshots::{cluster_bucket, ClusterBucket};

mod lines;

/// Bucket role (in `cluster_resources`) of the audit bucket.
const AUDIT_BUCKET: &str = "audit";
/// Concurrent S3 requests per API call.
const S3_CONCURRENCY: usize = 16;
/// Keys per ListObjectsV2 page.
const LIST_PAGE: i32 = 1000;

/// The `[audit_logs]` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditLogSettings {
    /// Read audit buckets with the `provisioning.aws` connection even when the engine is off
    /// (it is always on when `provisioning.enabled`).
    pub enabled: bool,
    /// Longest `to - from` a request may ask for.
    pub max_range_secs: u64,
    /// Most objects one listing returns (the rest: `truncated`); a download refuses more.
    pub max_objects: usize,
    /// Most bytes a download reads, compressed and decompressed alike.
    pub max_download_bytes: u64,
    /// How far before `from` an object may have started and still reach into the range: the
    /// longest span between an object's first and last line that the shipper produces.
    pub object_span_secs: u64,
}

impl Default for AuditLogSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            max_range_secs: 7 * 24 * 3600,
            max_objects: 1000,
            max_download_bytes: 64 * 1024 * 1024,
            object_span_secs: 24 * 3600,
        }
    }
}

impl AuditLogSettings {
    /// Range checks; `None` when valid, else what is wrong.
    pub fn problem(&self) -> Option<&'static str> {
        if !(60..=31 * 24 * 3600).contains(&self.max_range_secs) {
            return Some("audit_logs.max_range_secs must be between 60 and 31 days");
        }
        if !(1..=100_000).contains(&self.max_objects) {
            return Some("audit_logs.max_objects must be between 1 and 100000");
        }
        if !(1024..=1 << 32).contains(&self.max_download_bytes) {
            return Some("audit_logs.max_download_bytes must be between 1 KiB and 4 GiB");
        }
        if !(3600..=7 * 24 * 3600).contains(&self.object_span_secs) {
            return Some("audit_logs.object_span_secs must be between 3600 and 7 days");
        }
        None
    }
}

/// Audit-log reading state a [`ControlPlane`] carries.
#[derive(Clone, Default)]
pub struct AuditLogs {
    settings: AuditLogSettings,
    store: Option<Arc<dyn ObjectStore>>,
}

/// `[from, to)`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
}

impl TimeRange {
    /// Parses RFC 3339 bounds; `from < to`, at most `max` apart.
    pub fn parse(from: &str, to: &str, max: Duration) -> Result<TimeRange, ServiceError> {
        let parse = |name: &str, v: &str| {
            OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                ServiceError::Invalid(format!(
                    "{name} must be an RFC 3339 time such as 2026-11-22T10:00:00Z"
                ))
            })
        };
        let (from, to) = (parse("from", from)?, parse("to", to)?);
        if from >= to {
            return Err(ServiceError::Invalid("from must be earlier than to".into()));
        }
        if to - from > max {
            return Err(ServiceError::Invalid(format!(
                "the range may span at most {} hours; request shorter ranges",
                max.as_secs() / 3600
            )));
        }
        Ok(TimeRange { from, to })
    }

    fn overlaps(&self, start: OffsetDateTime, end: OffsetDateTime) -> bool {
        start < self.to && end >= self.from
    }
}

/// One shipped audit object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditObject {
    pub key: String,
    pub node_index: u32,
    /// Time of its first and last line.
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    /// Compressed size in bytes.
    pub size: u64,
    pub lines: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditListing {
    /// Ordered by start time, then key.
    pub objects: Vec<AuditObject>,
    /// More objects overlap the range than one listing returns.
    pub truncated: bool,
}

impl ControlPlane {
    /// Reads audit objects through `store` with `settings`.
    pub fn with_audit_logs(
        mut self,
        settings: AuditLogSettings,
        store: Option<Arc<dyn ObjectStore>>,
    ) -> Self {
        self.audit = AuditLogs { settings, store };
        self
    }

    pub fn audit_log_settings(&self) -> &AuditLogSettings {
        &self.audit.settings
    }

    /// The range parsed against this deployment's limit.
    pub fn audit_range(&self, from: &str, to: &str) -> Result<TimeRange, ServiceError> {
        TimeRange::parse(from, to, Duration::from_secs(self.audit.settings.max_range_secs))
    }

    /// Authorizes (admins only: audit logs are cluster data), then finds the cluster's audit
    /// bucket (`None`: never provisioned, so nothing was shipped) and parses the range, in
    /// that order, so outsiders learn nothing from validation errors.
    async fn audit_target(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
        from: &str,
        to: &str,
    ) -> Result<(Option<(ClusterBucket, &dyn ObjectStore)>, TimeRange), ServiceError> {
        self.authorize(caller, org_id, Action::AccessClusterData).await?;
        clusters::get(&self.pool, org_id, cluster_id)
            .await?
            .ok_or(ServiceError::NotFound("cluster"))?;
        let range = self.audit_range(from, to)?;
        let Some(bucket) = cluster_bucket(&self.pool, cluster_id, AUDIT_BUCKET).await? else {
            return Ok((None, range));
        };
        let store = self.audit.store.as_deref().ok_or_else(|| {
            ServiceError::Internal("audit logs requested but no object store is configured".into())
        })?;
        Ok((Some((bucket, store)), range))
    }

    /// The audit objects overlapping `[from, to)` (RFC 3339).
    pub async fn list_audit_logs(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
        from: &str,
        to: &str,
    ) -> Result<AuditListing, ServiceError> {
        match self.audit_target(caller, org_id, cluster_id, from, to).await? {
            (Some((bucket, store)), range) => {
                list(store, &self.audit.settings, &bucket, cluster_id, range).await
            }
            (None, _) => Ok(AuditListing::default()),
        }
    }

    /// The lines of `[from, to)` from every node, decompressed, merged in time order, as JSON
    /// lines (each ending in `\n`).
    pub async fn download_audit_logs(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
        from: &str,
        to: &str,
    ) -> Result<Vec<u8>, ServiceError> {
        let (Some((bucket, store)), range) =
            self.audit_target(caller, org_id, cluster_id, from, to).await?
        else {
            return Ok(Vec::new());
        };
        let settings = &self.audit.settings;
        let listing = list(store, settings, &bucket, cluster_id, range).await?;
        if listing.truncated {
            return Err(ServiceError::Invalid(format!(
                "the range holds more than {} audit objects; download a shorter range",
                settings.max_objects
            )));
        }
        let at = BucketLocation { region: &bucket.region, bucket: &bucket.name };
        let cap = settings.max_download_bytes;
        let compressed: u64 = listing.objects.iter().map(|o| o.size).sum();
        if compressed > cap {
            return Err(too_much(cap));
        }
        let bodies: Vec<Vec<u8>> = futures::stream::iter(listing.objects)
            .map(|o| async move { store.get_object(at, &o.key, cap).await })
            .buffered(S3_CONCURRENCY)
            .try_collect()
            .await
            .map_err(|e| s3_failure("reading audit objects", &e))?;
        // Decompressing and merging up to `cap` bytes is CPU work: keep it off the runtime.
        let merged = tokio::task::spawn_blocking(move || lines::merge(&bodies, range, cap))
            .await
            .map_err(|e| ServiceError::Internal(format!("audit merge task: {e}")))?;
        merged.map_err(|e| match e {
            lines::MergeError::TooLarge => too_much(cap),
            lines::MergeError::Corrupt(detail) => {
                ServiceError::Internal(format!("undecodable audit object: {detail}"))
            }
        })
    }
}

fn too_much(cap: u64) -> ServiceError {
    ServiceError::Invalid(format!(
        "the range holds more than {} KiB of audit logs; download a shorter range",
        cap / 1024
    ))
}

fn s3_failure(what: &str, e: &coffer_cloud::CloudError) -> ServiceError {
    ServiceError::Internal(format!("{what}: {e}"))
}

/// `YYYY/MM/DD/HH`, the time partition of keys written in that hour.
fn partition(t: OffsetDateTime) -> String {
    format!("{:04}/{:02}/{:02}/{:02}", t.year(), u8::from(t.month()), t.day(), t.hour())
}

/// The hour a key's partition names, from the part after the node prefix.
fn partition_start(rest: &str) -> Option<OffsetDateTime> {
    let mut parts = rest.splitn(5, '/');
    let mut num = || -> Option<u16> {
        parts.next().filter(|p| p.bytes().all(|b| b.is_ascii_digit()))?.parse().ok()
    };
    let (y, m, d, h) = (num()?, num()?, num()?, num()?);
    let small = |n: u16| u8::try_from(n).ok();
    let month = time::Month::try_from(small(m)?).ok()?;
    let date = time::Date::from_calendar_date(i32::from(y), month, small(d)?).ok()?;
    Some(date.with_hms(small(h)?, 0, 0).ok()?.assume_utc())
}

/// `node-{index}/` prefix of a node directory.
fn node_index(node_prefix: &str, cluster_prefix: &str) -> Option<u32> {
    node_prefix.strip_prefix(cluster_prefix)?.strip_prefix("node-")?.strip_suffix('/')?.parse().ok()
}

struct Candidate {
    key: String,
    node_index: u32,
    hour: OffsetDateTime,
    size: u64,
}

async fn list(
    store: &dyn ObjectStore,
    settings: &AuditLogSettings,
    bucket: &ClusterBucket,
    cluster_id: Uuid,
    range: TimeRange,
) -> Result<AuditListing, ServiceError> {
    let at = BucketLocation { region: &bucket.region, bucket: &bucket.name };
    let cluster_prefix = format!("audit/{cluster_id}/");
    let nodes = store
        .list_objects(
            at,
            ListQuery { prefix: &cluster_prefix, delimiter: Some("/"), ..ListQuery::default() },
        )
        .await
        .map_err(|e| s3_failure("listing audit nodes", &e))?;
    let earliest = range.from - Duration::from_secs(settings.object_span_secs);
    let seek = partition(earliest);
    let last_hour = partition(range.to);
    // HEADs are the expensive part; refuse a range that would need far more than one listing.
    let max_candidates = settings.max_objects.saturating_mul(4);
    let mut candidates = Vec::new();
    for node_prefix in &nodes.common_prefixes {
        let Some(index) = node_index(node_prefix, &cluster_prefix) else { continue };
        let mut after = format!("{node_prefix}{seek}");
        'pages: loop {
            let page = store
                .list_objects(
                    at,
                    ListQuery {
                        prefix: node_prefix,
                        start_after: Some(&after),
                        max_keys: Some(LIST_PAGE),
                        ..ListQuery::default()
                    },
                )
                .await
                .map_err(|e| s3_failure("listing audit objects", &e))?;
            for o in &page.objects {
                let rest = &o.key[node_prefix.len()..];
                // Keys are in time order: past the last hour of the range, this node is done.
                if rest.get(..13).is_some_and(|p| p > last_hour.as_str()) {
                    break 'pages;
                }
                let Some(hour) = partition_start(rest) else {
                    tracing::warn!(key = %o.key, "audit object key outside the layout; skipped");
                    continue;
                };
                candidates.push(Candidate {
                    key: o.key.clone(),
                    node_index: index,
                    hour,
                    size: o.size,
                });
                if candidates.len() > max_candidates {
                    return Err(ServiceError::Invalid(format!(
                        "the range holds more than {} audit objects; request a shorter range",
                        settings.max_objects
                    )));
                }
            }
            match (page.truncated, page.objects.last()) {
                (true, Some(last)) => after.clone_from(&last.key),
                _ => break,
            }
        }
    }
    let heads: Vec<Option<AuditObject>> = futures::stream::iter(candidates)
        .map(|c| async move {
            let head = store.head_object(at, &c.key).await?;
            Ok::<_, coffer_cloud::CloudError>(describe(c, &head.metadata))
        })
        .buffer_unordered(S3_CONCURRENCY)
        .try_collect()
        .await
        .map_err(|e| s3_failure("reading audit object metadata", &e))?;
    let mut objects: Vec<AuditObject> =
        heads.into_iter().flatten().filter(|o| range.overlaps(o.start, o.end)).collect();
    objects.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.key.cmp(&b.key)));
    let truncated = objects.len() > settings.max_objects;
    objects.truncate(settings.max_objects);
    Ok(AuditListing { objects, truncated })
}

/// The object's time span from its metadata. Without readable metadata (not written by our
/// shipper), the span is taken to be its whole partition hour: it is still listed when that
/// hour overlaps, never silently dropped.
fn describe(c: Candidate, meta: &std::collections::HashMap<String, String>) -> Option<AuditObject> {
    let time = |k: &str| meta.get(k).and_then(|v| OffsetDateTime::parse(v, &Rfc3339).ok());
    let (start, end) = match (time("first-time"), time("last-time")) {
        (Some(s), Some(e)) if s <= e => (s, e),
        _ => {
            tracing::warn!(key = %c.key, "audit object without first-time/last-time metadata");
            (c.hour, c.hour + Duration::from_secs(3600) - Duration::from_nanos(1))
        }
    };
    let lines = meta.get("lines").and_then(|v| v.parse().ok());
    Some(AuditObject { key: c.key, node_index: c.node_index, start, end, size: c.size, lines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ranges() {
        let week = Duration::from_secs(7 * 24 * 3600);
        let check = |from: &str, to: &str, ok: bool| {
            assert_eq!(TimeRange::parse(from, to, week).is_ok(), ok, "{from} {to}");
        };
        check("2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z", true);
        check("2026-11-22T10:00:00+01:00", "2026-11-22T10:00:00Z", true);
        check("2026-11-22T10:00:00Z", "2026-11-22T10:00:00Z", false);
        check("2026-11-22T11:00:00Z", "2026-11-22T10:00:00Z", false);
        check("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z", true);
        check("2026-11-01T00:00:00Z", "2026-11-08T00:00:01Z", false);
        check("yesterday", "2026-11-22T10:00:00Z", false);
        check("2026-11-22", "2026-11-23", false);
    }

    #[test]
    fn partitions_round_trip() {
        let t = datetime!(2026-03-04 05:06:07 UTC);
        assert_eq!(partition(t), "2026/03/04/05");
        let check = |rest: &str, expect: Option<OffsetDateTime>| {
            assert_eq!(partition_start(rest), expect, "{rest}");
        };
        check(
            "2026/03/04/05/00000000000000000000-00000000000000000100.jsonl.gz",
            Some(datetime!(2026-03-04 05:00 UTC)),
        );
        check("2026/13/04/05/x", None);
        check("2026/03/04/25/x", None);
        check("2026/03/04", None);
        check("abcd/03/04/05/x", None);
    }

    #[test]
    fn node_prefixes() {
        let check =
            |p: &str, expect: Option<u32>| assert_eq!(node_index(p, "audit/c/"), expect, "{p}");
        check("audit/c/node-0/", Some(0));
        check("audit/c/node-12/", Some(12));
        check("audit/c/node-x/", None);
        check("audit/c/other/", None);
        check("audit/d/node-1/", None);
    }

    #[test]
    fn overlap_is_half_open() {
        let r = TimeRange {
            from: datetime!(2026-01-01 10:00 UTC),
            to: datetime!(2026-01-01 11:00 UTC),
        };
        let check = |s, e, expect: bool| assert_eq!(r.overlaps(s, e), expect, "{s} {e}");
        check(datetime!(2026-01-01 09:00 UTC), datetime!(2026-01-01 09:59 UTC), false);
        check(datetime!(2026-01-01 09:00 UTC), datetime!(2026-01-01 10:00 UTC), true);
        check(datetime!(2026-01-01 10:30 UTC), datetime!(2026-01-01 12:00 UTC), true);
        check(datetime!(2026-01-01 11:00 UTC), datetime!(2026-01-01 12:00 UTC), false);
    }
}
