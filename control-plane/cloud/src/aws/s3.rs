//! S3: the cluster's snapshot and audit buckets. The only module that touches `aws_sdk_s3` types.
//!
//! Every ensure re-applies the full configuration rather than checking it first: each Put is a
//! single idempotent call, and re-applying repairs drift (someone loosening a policy by hand).

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CreateBucketConfiguration, Delete, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use aws_sdk_s3::Client;

use super::sdk_error::{ignore_not_found, skip_unreadable, BuildResultExt, SdkResultExt};
use crate::cluster::{
    BucketPurpose, ClusterRef, MANAGED_BY_VALUE, TAG_CLUSTER_ID, TAG_MANAGED_BY, TAG_ORG_ID,
};
use crate::error::{CloudError, ErrorKind};
use crate::policy::bucket_policy;
use crate::resources::{Bucket, ResourceKind, TaggedResource};

/// How long superseded and deleted snapshots stay recoverable.
pub const NONCURRENT_RETENTION_DAYS: i32 = 30;
const ABORT_MULTIPART_DAYS: i32 = 7;
pub const LIFECYCLE_RULE_ID: &str = "coffer-retention";

/// S3's limit on keys per DeleteObjects call.
const DELETE_BATCH: usize = 1000;

pub(super) fn bucket_arn(partition: &str, name: &str) -> String {
    format!("arn:{partition}:s3:::{name}")
}

pub(super) async fn ensure_bucket(
    s3: &Client,
    c: &ClusterRef,
    partition: &str,
    purpose: BucketPurpose,
    kms_key_arn: &str,
    tls_only_policy: bool,
) -> Result<Bucket, CloudError> {
    let name = purpose.bucket_name(c);
    create(s3, &name, &c.region).await?;

    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id(kms_key_arn)
        .build()
        .built("s3:PutBucketEncryption")?;
    // The bucket key cuts KMS calls (and cost) per object by caching a bucket-level data key.
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(by_default)
        .bucket_key_enabled(true)
        .build();
    let sse = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .built("s3:PutBucketEncryption")?;
    s3.put_bucket_encryption()
        .bucket(&name)
        .server_side_encryption_configuration(sse)
        .send()
        .await
        .op("s3:PutBucketEncryption")?;

    let block = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(&name)
        .public_access_block_configuration(block)
        .send()
        .await
        .op("s3:PutPublicAccessBlock")?;

    let versioning =
        VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    s3.put_bucket_versioning()
        .bucket(&name)
        .versioning_configuration(versioning)
        .send()
        .await
        .op("s3:PutBucketVersioning")?;

    let arn = bucket_arn(partition, &name);
    if tls_only_policy {
        s3.put_bucket_policy()
            .bucket(&name)
            .policy(bucket_policy(&arn).to_string())
            .send()
            .await
            .op("s3:PutBucketPolicy")?;
    }

    s3.put_bucket_lifecycle_configuration()
        .bucket(&name)
        .lifecycle_configuration(lifecycle()?)
        .send()
        .await
        .op("s3:PutBucketLifecycleConfiguration")?;

    let tag_set = c
        .tags(&name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().built("s3:PutBucketTagging"))
        .collect::<Result<Vec<_>, _>>()?;
    let tagging =
        Tagging::builder().set_tag_set(Some(tag_set)).build().built("s3:PutBucketTagging")?;
    s3.put_bucket_tagging()
        .bucket(&name)
        .tagging(tagging)
        .send()
        .await
        .op("s3:PutBucketTagging")?;

    Ok(Bucket { purpose, name, arn })
}

async fn create(s3: &Client, name: &str, region: &str) -> Result<(), CloudError> {
    let mut req = s3.create_bucket().bucket(name);
    // us-east-1 is the one region that rejects an explicit location constraint.
    if region != "us-east-1" {
        let cfg = CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region))
            .build();
        req = req.create_bucket_configuration(cfg);
    }
    match req.send().await.op("s3:CreateBucket") {
        Ok(_) => Ok(()),
        Err(e) if e.has_code("BucketAlreadyOwnedByYou") => Ok(()),
        Err(e) if e.has_code("BucketAlreadyExists") => {
            // us-east-1 (and moto) say "exists" even to the owner. A bucket we can read the
            // metadata of is ours; one owned by another account answers 403 here.
            s3.head_bucket().bucket(name).send().await.op("s3:HeadBucket").map_err(|_| e)?;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn lifecycle() -> Result<BucketLifecycleConfiguration, CloudError> {
    let rule = LifecycleRule::builder()
        .id(LIFECYCLE_RULE_ID)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(NONCURRENT_RETENTION_DAYS)
                .build(),
        )
        // Once the last noncurrent version expires, drop the delete marker left behind.
        .expiration(LifecycleExpiration::builder().expired_object_delete_marker(true).build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(ABORT_MULTIPART_DAYS)
                .build(),
        )
        .build()
        .built("s3:PutBucketLifecycleConfiguration")?;
    BucketLifecycleConfiguration::builder()
        .rules(rule)
        .build()
        .built("s3:PutBucketLifecycleConfiguration")
}

pub(super) async fn delete_bucket(
    s3: &Client,
    c: &ClusterRef,
    purpose: BucketPurpose,
) -> Result<(), CloudError> {
    let name = purpose.bucket_name(c);
    // Each stage treats "no such bucket" as done: a previous run may have finished the job.
    if ignore_not_found(purge_versions(s3, &name).await)?.is_none() {
        return Ok(());
    }
    if ignore_not_found(abort_uploads(s3, &name).await)?.is_none() {
        return Ok(());
    }
    ignore_not_found(s3.delete_bucket().bucket(&name).send().await.op("s3:DeleteBucket"))?;
    Ok(())
}

async fn purge_versions(s3: &Client, bucket: &str) -> Result<(), CloudError> {
    let mut key_marker = None;
    let mut version_marker = None;
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .send()
            .await
            .op("s3:ListObjectVersions")?;
        let mut ids = Vec::with_capacity(page.versions().len() + page.delete_markers().len());
        for (key, version) in page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(page.delete_markers().iter().map(|m| (m.key(), m.version_id())))
        {
            let Some(key) = key else { continue };
            let id =
                ObjectIdentifier::builder().key(key).set_version_id(version.map(str::to_owned));
            ids.push(id.build().built("s3:DeleteObjects")?);
        }
        for chunk in ids.chunks(DELETE_BATCH) {
            let delete = Delete::builder()
                .set_objects(Some(chunk.to_vec()))
                .quiet(true)
                .build()
                .built("s3:DeleteObjects")?;
            let out = s3
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .op("s3:DeleteObjects")?;
            if let Some(err) = out.errors().first() {
                let code = err.code().map(str::to_owned);
                let message = err.message().unwrap_or_default().to_owned();
                return Err(CloudError::new(
                    ErrorKind::Transient,
                    "s3:DeleteObjects",
                    code,
                    message,
                ));
            }
        }
        if page.is_truncated != Some(true) {
            return Ok(());
        }
        key_marker = page.next_key_marker;
        version_marker = page.next_version_id_marker;
    }
}

async fn abort_uploads(s3: &Client, bucket: &str) -> Result<(), CloudError> {
    loop {
        let page = s3
            .list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .op("s3:ListMultipartUploads")?;
        let uploads = page.uploads();
        for u in uploads {
            if let (Some(key), Some(id)) = (u.key(), u.upload_id()) {
                let r =
                    s3.abort_multipart_upload().bucket(bucket).key(key).upload_id(id).send().await;
                ignore_not_found(r.op("s3:AbortMultipartUpload"))?;
            }
        }
        // Aborted uploads disappear from the listing, so re-list from the start until empty.
        if uploads.is_empty() || page.is_truncated != Some(true) {
            return Ok(());
        }
    }
}

/// `us-east-1` buckets report no location constraint; `EU` is the legacy name of eu-west-1.
fn location_region(constraint: Option<&str>) -> &str {
    match constraint {
        None | Some("") => "us-east-1",
        Some("EU") => "eu-west-1",
        Some(r) => r,
    }
}

/// Coffer buckets whose region is `region`.
pub(super) async fn list_tagged(
    s3: &Client,
    region: &str,
) -> Result<Vec<TaggedResource>, CloudError> {
    let listing = s3.list_buckets().prefix("coffer-").send().await.op("s3:ListBuckets")?;
    let mut out = Vec::new();
    for b in listing.buckets() {
        let Some(name) = b.name().filter(|n| n.starts_with("coffer-")) else { continue };
        let bucket_region = match b.bucket_region() {
            Some(r) => r.to_owned(),
            None => {
                let loc = skip_unreadable(
                    s3.get_bucket_location().bucket(name).send().await.op("s3:GetBucketLocation"),
                )?;
                let Some(loc) = loc else { continue };
                location_region(loc.location_constraint().map(|c| c.as_str())).to_owned()
            }
        };
        if bucket_region != region {
            continue;
        }
        let Some(tags) = skip_unreadable(
            s3.get_bucket_tagging().bucket(name).send().await.op("s3:GetBucketTagging"),
        )?
        else {
            continue;
        };
        let tag = |key: &str| {
            tags.tag_set().iter().find(|t| t.key() == key).map(|t| t.value().to_owned())
        };
        if tag(TAG_MANAGED_BY).as_deref() != Some(MANAGED_BY_VALUE) {
            continue;
        }
        out.push(TaggedResource {
            kind: ResourceKind::Bucket,
            id: name.to_owned(),
            region: Some(bucket_region),
            cluster_id: tag(TAG_CLUSTER_ID),
            org_id: tag(TAG_ORG_ID),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_constraints_name_regions() {
        let check = |c: Option<&str>, expect: &str| assert_eq!(location_region(c), expect);
        check(None, "us-east-1");
        check(Some(""), "us-east-1");
        check(Some("EU"), "eu-west-1");
        check(Some("ap-south-1"), "ap-south-1");
    }
}
