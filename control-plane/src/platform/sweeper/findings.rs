//! Reading what the sweeper found: the operator-facing listing and the metrics text.

use time::OffsetDateTime;
use uuid::Uuid;

use super::store::{self, FindingRow};
use super::OrphanReason;
use crate::domain::{PageSize, PageToken};
use crate::platform::{Platform, PlatformError};

/// A resource the latest sweeps found without a live owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanFinding {
    pub id: Uuid,
    /// `kms_key`, `bucket`, `iam_role`, `instance_profile`, `security_group`, `instance`, `volume`.
    pub kind: String,
    pub resource_id: String,
    /// `None` for global (IAM) resources.
    pub region: Option<String>,
    /// The raw `coffer:cluster-id` / `coffer:org-id` tag values.
    pub cluster_id: Option<String>,
    pub org_id: Option<String>,
    pub reason: OrphanReason,
    pub first_seen: OffsetDateTime,
    pub last_seen: OffsetDateTime,
}

pub struct OrphanPage {
    pub items: Vec<OrphanFinding>,
    pub next: Option<PageToken>,
}

impl TryFrom<FindingRow> for OrphanFinding {
    type Error = PlatformError;

    fn try_from(r: FindingRow) -> Result<Self, Self::Error> {
        // The table's CHECK constraint makes this unreachable unless the schema and the code
        // disagree, which is an internal error, not something to hide.
        let reason = OrphanReason::parse(&r.reason).ok_or_else(|| {
            PlatformError::Internal(format!("unknown orphan reason {:?}", r.reason))
        })?;
        Ok(OrphanFinding {
            id: r.id,
            kind: r.kind,
            resource_id: r.resource_id,
            region: r.region,
            cluster_id: r.cluster_id,
            org_id: r.org_id,
            reason,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
        })
    }
}

impl Platform {
    /// The current findings, oldest first, one page at a time.
    pub async fn list_orphans(
        &self,
        size: PageSize,
        token: Option<PageToken>,
    ) -> Result<OrphanPage, PlatformError> {
        let page = store::list(&self.pool, size, token).await?;
        let items =
            page.items.into_iter().map(OrphanFinding::try_from).collect::<Result<_, _>>()?;
        Ok(OrphanPage { items, next: page.next })
    }

    /// Prometheus text: this process's sweeper counters and the shared orphan gauge.
    pub async fn metrics_text(&self) -> Result<String, PlatformError> {
        let by_kind = store::count_by_kind(&self.pool).await?;
        Ok(self.metrics.render(&by_kind))
    }
}
