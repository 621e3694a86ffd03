//! The rule deciding whether a Coffer-tagged resource is an orphan. Pure: the sweeper gathers
//! the facts (what the cluster table and `cluster_resources` say), this decides.
//!
//! A resource is an orphan when the cluster its tag names is unknown (no row, or the tag is
//! missing or not a cluster id), or when that cluster is `deleted` and the resource is neither
//! being deleted nor retained by policy (deleted clusters' buckets are kept for a retention
//! period). Resources of clusters in any other state are owned, even `failed` ones: the
//! customer or a retry still needs them.

use time::{Duration, OffsetDateTime};

/// How long a retained resource may outlive its purge date before it counts as an orphan: the
/// engine's purger runs periodically and may be behind (or down for a deploy); a day of slack
/// avoids flapping findings while still surfacing a purger that stopped working.
pub const RETENTION_GRACE: Duration = Duration::hours(24);

/// What the cluster table says about the cluster a resource's tag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterStatus {
    /// No such cluster (or the tag is absent or malformed).
    Unknown,
    /// Exists in a state other than `deleted`.
    Live,
    Deleted,
}

/// The resource's row in `cluster_resources`, if the engine recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    Present,
    /// Kept on purpose until `purge_after` (no date: kept until someone decides).
    Retained {
        purge_after: Option<OffsetDateTime>,
    },
    /// The engine is deleting it (e.g. a KMS key waiting out its deletion window).
    Deleting,
    /// The engine believes it is gone.
    Deleted,
}

impl Record {
    /// Parses `cluster_resources.state`; an unexpected value is treated as "no excuse".
    pub fn parse(state: &str, purge_after: Option<OffsetDateTime>) -> Record {
        match state {
            "retained" => Record::Retained { purge_after },
            "deleting" => Record::Deleting,
            "deleted" => Record::Deleted,
            _ => Record::Present,
        }
    }
}

/// Why a resource is an orphan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrphanReason {
    UnknownCluster,
    ClusterDeleted,
}

impl OrphanReason {
    pub fn as_str(self) -> &'static str {
        match self {
            OrphanReason::UnknownCluster => "unknown_cluster",
            OrphanReason::ClusterDeleted => "cluster_deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<OrphanReason> {
        match raw {
            "unknown_cluster" => Some(OrphanReason::UnknownCluster),
            "cluster_deleted" => Some(OrphanReason::ClusterDeleted),
            _ => None,
        }
    }
}

/// `Some(reason)` if the resource is an orphan at `now`.
pub fn classify(
    cluster: ClusterStatus,
    record: Option<Record>,
    now: OffsetDateTime,
) -> Option<OrphanReason> {
    match cluster {
        ClusterStatus::Live => None,
        ClusterStatus::Unknown => Some(OrphanReason::UnknownCluster),
        ClusterStatus::Deleted => match record {
            Some(Record::Deleting | Record::Retained { purge_after: None }) => None,
            Some(Record::Retained { purge_after: Some(t) }) if now < t + RETENTION_GRACE => None,
            _ => Some(OrphanReason::ClusterDeleted),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        let now = OffsetDateTime::now_utc();
        let check = |cluster, record, expect| {
            assert_eq!(classify(cluster, record, now), expect, "{cluster:?} {record:?}");
        };
        use ClusterStatus::{Deleted, Live, Unknown};
        use OrphanReason::{ClusterDeleted, UnknownCluster};
        let retained =
            |days: i64| Some(Record::Retained { purge_after: Some(now + Duration::days(days)) });

        check(Live, None, None);
        check(Live, Some(Record::Deleted), None);
        check(Unknown, None, Some(UnknownCluster));
        // Records cannot excuse a resource of an unknown cluster (they cascade away with it).
        check(Unknown, Some(Record::Deleting), Some(UnknownCluster));
        check(Deleted, None, Some(ClusterDeleted));
        check(Deleted, Some(Record::Present), Some(ClusterDeleted));
        check(Deleted, Some(Record::Deleted), Some(ClusterDeleted));
        check(Deleted, Some(Record::Deleting), None);
        check(Deleted, Some(Record::Retained { purge_after: None }), None);
        check(Deleted, retained(30), None);
        // Just past the purge date the purger gets a grace period...
        check(
            Deleted,
            Some(Record::Retained { purge_after: Some(now - Duration::hours(1)) }),
            None,
        );
        // ...but a resource long overdue for purging is reported.
        check(Deleted, retained(-2), Some(ClusterDeleted));
    }

    #[test]
    fn record_and_reason_strings() {
        let check =
            |raw: &str, expect: Record| assert_eq!(Record::parse(raw, None), expect, "{raw}");
        check("present", Record::Present);
        check("retained", Record::Retained { purge_after: None });
        check("deleting", Record::Deleting);
        check("deleted", Record::Deleted);
        check("weird", Record::Present);
        for r in [OrphanReason::UnknownCluster, OrphanReason::ClusterDeleted] {
            assert_eq!(OrphanReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(OrphanReason::parse("nope"), None);
    }
}
