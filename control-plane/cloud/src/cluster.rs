//! Which cluster a resource belongs to, and the names and tags that follow from it.
//!
//! Names are derived, never stored: every `ensure_*` can find what an earlier (possibly crashed)
//! run created from the cluster id alone, and the sweeper can tie any resource back to its
//! cluster through the tags. All naming rules live here so they cannot drift between services.

use uuid::Uuid;

use crate::error::CloudError;

/// Tag keys on every Coffer resource.
pub const TAG_CLUSTER_ID: &str = "coffer:cluster-id";
pub const TAG_ORG_ID: &str = "coffer:org-id";
pub const TAG_MANAGED_BY: &str = "coffer:managed-by";
pub const MANAGED_BY_VALUE: &str = "coffer";
pub const TAG_NODE_INDEX: &str = "coffer:node-index";
pub const TAG_NAME: &str = "Name";

/// IAM path for roles and instance profiles, so the sweeper lists only ours.
pub const IAM_PATH: &str = "/coffer/";

/// The cluster a call acts for. Drives every name and tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRef {
    pub cluster_id: Uuid,
    pub org_id: Uuid,
    /// AWS region, e.g. `eu-west-1`.
    pub region: String,
}

impl ClusterRef {
    pub fn new(cluster_id: Uuid, org_id: Uuid, region: impl Into<String>) -> Self {
        ClusterRef { cluster_id, org_id, region: region.into() }
    }

    /// Lowercase hyphenated id: valid in S3, IAM, KMS and EC2 names alike.
    pub fn id(&self) -> String {
        self.cluster_id.hyphenated().to_string()
    }

    pub fn kms_alias(&self) -> String {
        format!("alias/coffer/{}", self.id())
    }

    pub fn node_role_name(&self) -> String {
        format!("coffer-node-{}", self.id())
    }

    pub fn security_group_name(&self) -> String {
        format!("coffer-{}", self.id())
    }

    pub fn instance_name(&self, node_index: u32) -> String {
        format!("coffer-{}-{node_index}", self.id())
    }

    /// `coffer:cluster-id`, `coffer:org-id`, `coffer:managed-by` and `Name`.
    pub fn tags(&self, name: &str) -> Vec<(&'static str, String)> {
        vec![
            (TAG_CLUSTER_ID, self.id()),
            (TAG_ORG_ID, self.org_id.hyphenated().to_string()),
            (TAG_MANAGED_BY, MANAGED_BY_VALUE.to_owned()),
            (TAG_NAME, name.to_owned()),
        ]
    }

    /// Rejects a region that could not name an AWS endpoint before any client is built for it.
    pub(crate) fn check_region(region: &str) -> Result<(), CloudError> {
        let ok = !region.is_empty()
            && region.len() <= 32
            && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !region.starts_with('-')
            && !region.ends_with('-');
        if ok {
            Ok(())
        } else {
            Err(CloudError::invalid("region", format!("{region:?} is not an AWS region name")))
        }
    }
}

/// What a cluster bucket holds. Each purpose is a separate bucket with its own node permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketPurpose {
    /// Raft snapshots: the node reads, writes and prunes them.
    Snapshots,
    /// Shipped audit logs: the node may only add objects, never read back or delete.
    Audit,
}

impl BucketPurpose {
    pub const ALL: [BucketPurpose; 2] = [BucketPurpose::Snapshots, BucketPurpose::Audit];

    pub fn as_str(self) -> &'static str {
        match self {
            BucketPurpose::Snapshots => "snapshots",
            BucketPurpose::Audit => "audit",
        }
    }

    pub fn parse(raw: &str) -> Option<BucketPurpose> {
        BucketPurpose::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// `coffer-<cluster_id>-<purpose>`: 7 + 36 + at most 10 characters, inside S3's 63.
    pub fn bucket_name(self, c: &ClusterRef) -> String {
        format!("coffer-{}-{}", c.id(), self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> ClusterRef {
        ClusterRef::new(
            Uuid::parse_str("0190F3A2-7B1C-7D3E-8F00-123456789ABC").unwrap(),
            Uuid::nil(),
            "eu-west-1",
        )
    }

    #[test]
    fn names_are_lowercase_and_fit_aws_limits() {
        let c = cluster();
        let check = |name: String, expect: &str, limit: usize| {
            assert_eq!(name, expect);
            assert!(name.len() <= limit, "{name} longer than {limit}");
        };
        check(
            BucketPurpose::Snapshots.bucket_name(&c),
            "coffer-0190f3a2-7b1c-7d3e-8f00-123456789abc-snapshots",
            63,
        );
        check(
            BucketPurpose::Audit.bucket_name(&c),
            "coffer-0190f3a2-7b1c-7d3e-8f00-123456789abc-audit",
            63,
        );
        check(c.node_role_name(), "coffer-node-0190f3a2-7b1c-7d3e-8f00-123456789abc", 64);
        check(c.kms_alias(), "alias/coffer/0190f3a2-7b1c-7d3e-8f00-123456789abc", 256);
        check(c.security_group_name(), "coffer-0190f3a2-7b1c-7d3e-8f00-123456789abc", 255);
        check(c.instance_name(2), "coffer-0190f3a2-7b1c-7d3e-8f00-123456789abc-2", 255);
    }

    #[test]
    fn tags_carry_cluster_org_and_owner() {
        let tags = cluster().tags("n");
        let get = |k: &str| tags.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
        assert_eq!(get(TAG_CLUSTER_ID), Some("0190f3a2-7b1c-7d3e-8f00-123456789abc"));
        assert_eq!(get(TAG_ORG_ID), Some("00000000-0000-0000-0000-000000000000"));
        assert_eq!(get(TAG_MANAGED_BY), Some("coffer"));
        assert_eq!(get(TAG_NAME), Some("n"));
    }

    #[test]
    fn region_check() {
        let check = |r: &str, ok: bool| assert_eq!(ClusterRef::check_region(r).is_ok(), ok, "{r}");
        check("us-east-1", true);
        check("ap-southeast-2", true);
        check("", false);
        check("US-EAST-1", false);
        check("us-east-1.evil.com", false);
        check("-us", false);
    }

    #[test]
    fn purposes_round_trip() {
        for p in BucketPurpose::ALL {
            assert_eq!(BucketPurpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(BucketPurpose::parse("logs"), None);
    }
}
