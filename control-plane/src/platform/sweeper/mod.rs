//! The orphan sweeper: periodically lists every Coffer-tagged cloud resource in every
//! supported region and records the ones no live cluster owns.
//!
//! Why: a crashed workflow, a bug or a manual change can leave resources behind that cost money
//! and may hold customer data (keys, buckets). The sweeper only reports; deciding to delete
//! stays with a human, because a wrong "orphan" verdict must never destroy a customer's data.
//!
//! One sweep: list every region concurrently through [`Cloud::list_tagged_resources`] (global
//! IAM resources appear in each listing and are de-duplicated), *then* read the clusters the
//! tags name — in that order, so a resource created by the engine during the listing always
//! finds its cluster row already there. Each resource is judged by [`classify`]; findings are
//! upserted into `orphan_findings` (first_seen kept, last_seen moved), each new orphan is logged
//! once, and findings no longer seen are removed for the regions that listed successfully.
//! Sweeps in one process are serialised; concurrent sweeps from several replicas are safe (the
//! upsert is monotonic in last_seen and removal only affects rows older than the sweep).

pub mod classify;
mod findings;
mod metrics;
mod store;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coffer_cloud::{Cloud, ResourceKind, TaggedResource};
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use classify::{ClusterStatus, OrphanReason, Record};
pub use findings::{OrphanFinding, OrphanPage};
pub use metrics::SweeperMetrics;

use super::{PlatformError, SweeperSettings};
use store::NewFinding;

/// The `cluster_resources.kind` / `orphan_findings.kind` spelling of a resource kind.
pub fn kind_str(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::KmsKey => "kms_key",
        ResourceKind::Bucket => "bucket",
        ResourceKind::IamRole => "iam_role",
        ResourceKind::InstanceProfile => "instance_profile",
        ResourceKind::SecurityGroup => "security_group",
        ResourceKind::Instance => "instance",
        ResourceKind::Volume => "volume",
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Distinct tagged resources listed.
    pub resources: usize,
    /// Orphans found by this sweep.
    pub orphans: usize,
    /// Of those, the ones not recorded before.
    pub new_orphans: usize,
    /// Findings removed because their resource is gone or owned again.
    pub resolved: u64,
    /// Regions whose listing failed (their findings were kept as they were).
    pub failed_regions: Vec<String>,
}

struct Inner {
    pool: PgPool,
    cloud: Arc<dyn Cloud>,
    regions: Vec<String>,
    interval: Duration,
    metrics: Arc<SweeperMetrics>,
    /// Serialises sweeps in this process (the periodic task and explicit `sweep_once` calls).
    running: tokio::sync::Mutex<()>,
}

/// Handle to the sweeper. Cheap to clone.
#[derive(Clone)]
pub struct Sweeper {
    inner: Arc<Inner>,
}

impl Sweeper {
    pub fn new(
        pool: PgPool,
        cloud: Arc<dyn Cloud>,
        settings: &SweeperSettings,
        metrics: Arc<SweeperMetrics>,
    ) -> Sweeper {
        Sweeper {
            inner: Arc::new(Inner {
                pool,
                cloud,
                regions: settings.regions(),
                interval: Duration::from_secs(settings.interval_secs.max(1)),
                metrics,
                running: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Sweeps at once, then every interval, until `shutdown`. A failed sweep is logged and
    /// counted; the next tick tries again.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.inner.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            // Listing many regions can take a while; shutdown must not wait for it.
            tokio::select! {
                _ = shutdown.cancelled() => break,
                result = self.sweep_once() => match result {
                    Ok(report) => tracing::info!(
                        resources = report.resources,
                        orphans = report.orphans,
                        new_orphans = report.new_orphans,
                        resolved = report.resolved,
                        failed_regions = report.failed_regions.len(),
                        "orphan sweep finished"
                    ),
                    Err(e) => {
                        self.inner.metrics.sweep_failed();
                        tracing::error!(error = %e, "orphan sweep failed");
                    }
                },
            }
        }
    }

    /// One complete sweep (see the module docs). Region listing failures are reported in the
    /// result; only database failures are errors.
    pub async fn sweep_once(&self) -> Result<SweepReport, PlatformError> {
        let inner = &*self.inner;
        let _running = inner.running.lock().await;
        let clock = Instant::now();
        let started = micros(OffsetDateTime::now_utc());

        let listings = futures::future::join_all(
            inner.regions.iter().map(|r| inner.cloud.list_tagged_resources(r)),
        )
        .await;
        let mut listed = Vec::new();
        let mut failed = Vec::new();
        let mut resources: BTreeMap<(ResourceKind, String), TaggedResource> = BTreeMap::new();
        for (region, listing) in inner.regions.iter().zip(listings) {
            match listing {
                Ok(found) => {
                    listed.push(region.clone());
                    for r in found {
                        resources.entry((r.kind, r.id.clone())).or_insert(r);
                    }
                }
                Err(e) => {
                    inner.metrics.region_failed();
                    tracing::warn!(region = %region, error = %e, "sweeper could not list a region");
                    failed.push(region.clone());
                }
            }
        }

        let findings = self.judge(resources.values(), started).await?;
        let new = store::upsert(&inner.pool, &findings, started).await?;
        let new_keys: HashSet<(&str, &str)> =
            new.iter().map(|(k, id)| (k.as_str(), id.as_str())).collect();
        for f in &findings {
            if new_keys.contains(&(f.kind, f.resource_id.as_str())) {
                tracing::warn!(
                    kind = f.kind,
                    resource_id = %f.resource_id,
                    region = f.region.as_deref().unwrap_or("global"),
                    cluster_id = f.cluster_id.as_deref().unwrap_or(""),
                    org_id = f.org_id.as_deref().unwrap_or(""),
                    reason = f.reason,
                    "orphaned cloud resource found"
                );
            }
        }
        let resolved =
            store::delete_resolved(&inner.pool, started, &listed, !listed.is_empty()).await?;

        inner.metrics.new_orphans(new.len() as u64);
        let elapsed = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        inner.metrics.sweep_finished(elapsed, failed.is_empty(), started.unix_timestamp());
        Ok(SweepReport {
            resources: resources.len(),
            orphans: findings.len(),
            new_orphans: new.len(),
            resolved,
            failed_regions: failed,
        })
    }

    /// Looks up the clusters the tags name and the engine's records of deleted clusters'
    /// resources, then classifies each resource.
    async fn judge<'a>(
        &self,
        resources: impl Iterator<Item = &'a TaggedResource> + Clone,
        now: OffsetDateTime,
    ) -> Result<Vec<NewFinding>, PlatformError> {
        let pool = &self.inner.pool;
        let parsed =
            |r: &TaggedResource| r.cluster_id.as_deref().and_then(|c| Uuid::parse_str(c).ok());
        let ids: Vec<Uuid> =
            resources.clone().filter_map(parsed).collect::<HashSet<_>>().into_iter().collect();
        let clusters = store::cluster_deleted(pool, &ids).await?;
        let deleted: Vec<Uuid> =
            clusters.iter().filter(|(_, deleted)| **deleted).map(|(id, _)| *id).collect();
        let records = store::records(pool, &deleted).await?;
        let mut out = Vec::new();
        for r in resources {
            let cluster = parsed(r);
            let status = match cluster.and_then(|id| clusters.get(&id)) {
                None => ClusterStatus::Unknown,
                Some(true) => ClusterStatus::Deleted,
                Some(false) => ClusterStatus::Live,
            };
            let record = cluster.and_then(|c| {
                records.get(&(c, kind_str(r.kind).to_owned(), r.id.clone())).copied()
            });
            if let Some(reason) = classify::classify(status, record, now) {
                out.push(NewFinding {
                    kind: kind_str(r.kind),
                    resource_id: r.id.clone(),
                    region: r.region.clone(),
                    cluster_id: r.cluster_id.clone(),
                    org_id: r.org_id.clone(),
                    reason: reason.as_str(),
                });
            }
        }
        Ok(out)
    }
}

/// Truncates to Postgres' microsecond precision, so a timestamp read back compares equal to
/// the one written (rounding up could make a row look older than the sweep that wrote it).
fn micros(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}
