use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use coffer_cloud::{BucketPurpose, Cloud, ClusterRef};

use super::support::{cloud, cluster, expected_tags, policy_json, s3, sorted};

async fn check_bucket(client: &aws_sdk_s3::Client, c: &ClusterRef, name: &str, key_arn: &str) {
    let enc = client.get_bucket_encryption().bucket(name).send().await.unwrap();
    let rules = enc.server_side_encryption_configuration().unwrap().rules();
    assert_eq!(rules.len(), 1);
    let by_default = rules[0].apply_server_side_encryption_by_default().unwrap();
    assert_eq!(by_default.sse_algorithm(), &ServerSideEncryption::AwsKms);
    assert_eq!(by_default.kms_master_key_id(), Some(key_arn));
    assert_eq!(rules[0].bucket_key_enabled(), Some(true));

    let pab = client.get_public_access_block().bucket(name).send().await.unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );

    let policy = client.get_bucket_policy().bucket(name).send().await.unwrap();
    let policy = policy_json(policy.policy().unwrap());
    let deny = &policy["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
    assert_eq!(
        deny["Resource"],
        serde_json::json!([format!("arn:aws:s3:::{name}"), format!("arn:aws:s3:::{name}/*")])
    );

    let lc = client.get_bucket_lifecycle_configuration().bucket(name).send().await.unwrap();
    assert_eq!(lc.rules().len(), 1);
    let rule = &lc.rules()[0];
    assert_eq!(rule.id(), Some("coffer-retention"));
    assert_eq!(rule.noncurrent_version_expiration().and_then(|n| n.noncurrent_days()), Some(30));

    let tags = client.get_bucket_tagging().bucket(name).send().await.unwrap();
    let tags = tags.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    assert_eq!(sorted(tags), expected_tags(c, name, &[]));
}

#[tokio::test]
async fn buckets_are_configured_idempotently_and_purged_on_delete() {
    let cloud = cloud().await;
    // us-east-1 takes no location constraint; eu-west-1 needs one. Cover both.
    for region in ["eu-west-1", "us-east-1"] {
        let c = cluster(region);
        let client = s3(region).await;
        let key = cloud.ensure_kms_key(&c, None).await.unwrap();

        for purpose in BucketPurpose::ALL {
            let bucket = cloud.ensure_bucket(&c, purpose, &key.arn).await.unwrap();
            assert_eq!(bucket.name, format!("coffer-{}-{}", c.cluster_id, purpose.as_str()));
            assert_eq!(bucket.arn, format!("arn:aws:s3:::{}", bucket.name));
            check_bucket(&client, &c, &bucket.name, &key.arn).await;
            // Twice: same bucket, configuration re-applied, still one bucket of that name.
            assert_eq!(cloud.ensure_bucket(&c, purpose, &key.arn).await.unwrap(), bucket);
            check_bucket(&client, &c, &bucket.name, &key.arn).await;
        }
        let listed = client.list_buckets().send().await.unwrap();
        let ours = listed
            .buckets()
            .iter()
            .filter(|b| b.name().is_some_and(|n| n.contains(&c.id())))
            .count();
        assert_eq!(ours, 2, "{region}");

        let loc = client
            .get_bucket_location()
            .bucket(BucketPurpose::Snapshots.bucket_name(&c))
            .send()
            .await
            .unwrap();
        let loc = loc.location_constraint().map(|l| l.as_str().to_owned()).unwrap_or_default();
        assert_eq!(if loc.is_empty() { "us-east-1" } else { loc.as_str() }, region);

        // Versions and a delete marker: a plain DeleteBucket would fail on them.
        let name = BucketPurpose::Snapshots.bucket_name(&c);
        // moto applies the TLS-only Deny to every object request whatever its condition, and
        // these requests are plain HTTP anyway: confirm it bites, then lift it to plant objects.
        let denied = client
            .put_object()
            .bucket(&name)
            .key("k")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await;
        assert!(denied.is_err(), "the deny-insecure-transport policy refuses plain HTTP");
        client.delete_bucket_policy().bucket(&name).send().await.unwrap();
        for body in ["one", "two"] {
            client
                .put_object()
                .bucket(&name)
                .key("snap")
                .body(ByteStream::from_static(body.as_bytes()))
                .send()
                .await
                .unwrap();
        }
        client
            .put_object()
            .bucket(&name)
            .key("other")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
        client.delete_object().bucket(&name).key("other").send().await.unwrap();
        let versions = client.list_object_versions().bucket(&name).send().await.unwrap();
        assert_eq!(versions.versions().len() + versions.delete_markers().len(), 4);

        for purpose in BucketPurpose::ALL {
            cloud.delete_bucket(&c, purpose).await.unwrap();
            let head = client.head_bucket().bucket(purpose.bucket_name(&c)).send().await;
            assert!(head.is_err(), "{region} {purpose:?} still exists");
            // Deleting what is gone succeeds.
            cloud.delete_bucket(&c, purpose).await.unwrap();
        }
    }
}

/// A stack whose S3 endpoint is plain HTTP (moto on loopback) turns the TLS-only policy off, so
/// nodes and the control plane can reach the buckets; everything else is configured the same.
#[tokio::test]
async fn tls_only_policy_can_be_left_off_for_a_plain_http_endpoint() {
    let cloud = cloud().await.with_tls_only_bucket_policy(false);
    let c = cluster("eu-west-1");
    let client = s3("eu-west-1").await;
    let key = cloud.ensure_kms_key(&c, None).await.unwrap();
    let bucket = cloud.ensure_bucket(&c, BucketPurpose::Audit, &key.arn).await.unwrap();
    assert!(client.get_bucket_policy().bucket(&bucket.name).send().await.is_err(), "no policy");
    let enc = client.get_bucket_encryption().bucket(&bucket.name).send().await.unwrap();
    let rules = enc.server_side_encryption_configuration().unwrap().rules();
    let by_default = rules[0].apply_server_side_encryption_by_default().unwrap();
    assert_eq!(by_default.kms_master_key_id(), Some(key.arn.as_str()));
    client
        .put_object()
        .bucket(&bucket.name)
        .key("audit/x")
        .body(ByteStream::from_static(b"{}\n"))
        .send()
        .await
        .unwrap();
    for purpose in BucketPurpose::ALL {
        cloud.delete_bucket(&c, purpose).await.unwrap();
    }
}
