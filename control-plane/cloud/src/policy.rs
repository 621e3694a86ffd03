//! The IAM-language documents Coffer attaches to its resources, built as pure functions.
//!
//! Keeping them apart from the SDK calls lets tests pin the least-privilege shape (who may do
//! what to which ARN) without AWS, and gives one place to review when permissions change.

use serde_json::{json, Value};

use crate::cluster::BucketPurpose;
use crate::resources::Bucket;

const VERSION: &str = "2012-10-17";

/// What the node may do with the cluster key: envelope encryption for the seal and snapshots.
pub const NODE_KMS_ACTIONS: &[&str] =
    &["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"];

/// Key administration for the control plane; deliberately no Encrypt/Decrypt of its own, so the
/// control plane can manage the key's life but never read what nodes seal with it.
pub const ADMIN_KMS_ACTIONS: &[&str] = &[
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
];

/// What EC2 needs, acting for the control plane at RunInstances, to create encrypted volumes.
const EBS_KMS_ACTIONS: &[&str] = &[
    "kms:CreateGrant",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:DescribeKey",
];

/// The cluster key's policy: the control plane administers (and lets EBS use the key for the
/// volumes it launches); only the node role uses it. Without a node role yet (the key is made
/// first, the role later) the use statement is left out and added on the next ensure.
pub fn kms_key_policy(admin_arn: &str, node_role_arn: Option<&str>, region: &str) -> Value {
    let mut statements = vec![
        json!({
            "Sid": "ControlPlaneAdministers",
            "Effect": "Allow",
            "Principal": { "AWS": admin_arn },
            "Action": ADMIN_KMS_ACTIONS,
            "Resource": "*",
        }),
        json!({
            "Sid": "ControlPlaneLaunchesEncryptedVolumes",
            "Effect": "Allow",
            "Principal": { "AWS": admin_arn },
            "Action": EBS_KMS_ACTIONS,
            "Resource": "*",
            "Condition": { "StringEquals": { "kms:ViaService": format!("ec2.{region}.amazonaws.com") } },
        }),
    ];
    if let Some(node) = node_role_arn {
        statements.push(json!({
            "Sid": "NodesUseKey",
            "Effect": "Allow",
            "Principal": { "AWS": node },
            "Action": NODE_KMS_ACTIONS,
            "Resource": "*",
        }));
    }
    json!({ "Version": VERSION, "Id": "coffer-cluster-key", "Statement": statements })
}

/// Refuses every request to the bucket that does not use TLS.
pub fn bucket_policy(bucket_arn: &str) -> Value {
    json!({
        "Version": VERSION,
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, format!("{bucket_arn}/*")],
            "Condition": { "Bool": { "aws:SecureTransport": "false" } },
        }],
    })
}

/// EC2 may hand the node role to instances; nothing else may assume it.
pub fn node_trust_policy() -> Value {
    json!({
        "Version": VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "ec2.amazonaws.com" },
            "Action": "sts:AssumeRole",
        }],
    })
}

/// The node role's only permissions: its cluster's key and its cluster's buckets.
pub fn node_role_policy(kms_key_arn: &str, buckets: &[Bucket]) -> Value {
    let mut statements = vec![json!({
        "Sid": "ClusterKey",
        "Effect": "Allow",
        "Action": NODE_KMS_ACTIONS,
        "Resource": kms_key_arn,
    })];
    for b in buckets {
        let objects = format!("{}/*", b.arn);
        match b.purpose {
            BucketPurpose::Snapshots => {
                statements.push(json!({
                    "Sid": "SnapshotBucket",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"],
                    "Resource": b.arn,
                }));
                statements.push(json!({
                    "Sid": "SnapshotObjects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": objects,
                }));
            }
            BucketPurpose::Audit => {
                // Append-only: a compromised node cannot read back or erase the audit trail.
                statements.push(json!({
                    "Sid": "AuditBucket",
                    "Effect": "Allow",
                    "Action": ["s3:GetBucketLocation"],
                    "Resource": b.arn,
                }));
                statements.push(json!({
                    "Sid": "AuditObjects",
                    "Effect": "Allow",
                    "Action": ["s3:PutObject"],
                    "Resource": objects,
                }));
            }
        }
    }
    json!({ "Version": VERSION, "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement<'a>(doc: &'a Value, sid: &str) -> Option<&'a Value> {
        doc["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == sid)
    }

    #[test]
    fn key_policy_grants_use_only_to_the_node_role() {
        let admin = "arn:aws:iam::123456789012:role/control-plane";
        let node = "arn:aws:iam::123456789012:role/coffer/coffer-node-x";
        let without = kms_key_policy(admin, None, "eu-west-1");
        assert!(statement(&without, "NodesUseKey").is_none());
        let with = kms_key_policy(admin, Some(node), "eu-west-1");
        let use_stmt = statement(&with, "NodesUseKey").unwrap();
        assert_eq!(use_stmt["Principal"]["AWS"], node);
        assert_eq!(use_stmt["Action"], json!(NODE_KMS_ACTIONS));
        let admin_stmt = statement(&with, "ControlPlaneAdministers").unwrap();
        assert_eq!(admin_stmt["Principal"]["AWS"], admin);
        let actions: Vec<&str> =
            admin_stmt["Action"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(!actions.contains(&"kms:Decrypt") && !actions.contains(&"kms:Encrypt"));
        let ebs = statement(&with, "ControlPlaneLaunchesEncryptedVolumes").unwrap();
        assert_eq!(
            ebs["Condition"]["StringEquals"]["kms:ViaService"],
            "ec2.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn bucket_policy_denies_plain_http_on_bucket_and_objects() {
        let p = bucket_policy("arn:aws:s3:::b");
        let s = statement(&p, "DenyInsecureTransport").unwrap();
        assert_eq!(s["Effect"], "Deny");
        assert_eq!(s["Resource"], json!(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]));
        assert_eq!(s["Condition"]["Bool"]["aws:SecureTransport"], "false");
    }

    #[test]
    fn node_policy_is_scoped_to_key_and_buckets() {
        let buckets = [
            Bucket {
                purpose: BucketPurpose::Snapshots,
                name: "s".into(),
                arn: "arn:aws:s3:::s".into(),
            },
            Bucket {
                purpose: BucketPurpose::Audit,
                name: "a".into(),
                arn: "arn:aws:s3:::a".into(),
            },
        ];
        let p = node_role_policy("arn:aws:kms:r:1:key/k", &buckets);
        let check = |sid: &str, resource: &str, has: &str, lacks: &str| {
            let s = statement(&p, sid).unwrap_or_else(|| panic!("{sid} missing"));
            assert_eq!(s["Resource"], resource, "{sid}");
            let actions = s["Action"].as_array().unwrap();
            assert!(actions.iter().any(|a| a == has), "{sid} lacks {has}");
            assert!(!actions.iter().any(|a| a == lacks), "{sid} has {lacks}");
        };
        check("ClusterKey", "arn:aws:kms:r:1:key/k", "kms:Decrypt", "kms:ScheduleKeyDeletion");
        check("SnapshotBucket", "arn:aws:s3:::s", "s3:ListBucket", "s3:DeleteBucket");
        check("SnapshotObjects", "arn:aws:s3:::s/*", "s3:GetObject", "s3:PutBucketPolicy");
        check("AuditBucket", "arn:aws:s3:::a", "s3:GetBucketLocation", "s3:ListBucket");
        check("AuditObjects", "arn:aws:s3:::a/*", "s3:PutObject", "s3:DeleteObject");
        // Nothing is granted on "*".
        assert!(p["Statement"].as_array().unwrap().iter().all(|s| s["Resource"] != "*"));
    }

    #[test]
    fn trust_policy_admits_only_ec2() {
        let p = node_trust_policy();
        assert_eq!(p["Statement"][0]["Principal"], json!({ "Service": "ec2.amazonaws.com" }));
        assert_eq!(p["Statement"].as_array().unwrap().len(), 1);
    }
}
