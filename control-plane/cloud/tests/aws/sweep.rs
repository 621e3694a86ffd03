use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use coffer_cloud::{BucketPurpose, Cloud, ResourceKind, TaggedResource};

use super::support::{cloud, cluster, ec2};

fn find<'a>(all: &'a [TaggedResource], kind: ResourceKind, id: &str) -> Option<&'a TaggedResource> {
    all.iter().find(|r| r.kind == kind && r.id == id)
}

#[tokio::test]
async fn sweeper_listing_finds_planted_and_managed_resources_only() {
    let region = "ap-southeast-2";
    let cloud = cloud().await;
    let client = ec2(region).await;
    let c = cluster(region);

    // Resources made through the interface.
    let key = cloud.ensure_kms_key(&c, None).await.unwrap();
    let bucket = cloud.ensure_bucket(&c, BucketPurpose::Audit, &key.arn).await.unwrap();
    let role = cloud.ensure_node_role(&c, &key.arn, std::slice::from_ref(&bucket)).await.unwrap();

    // A planted orphan: a group tagged for a cluster the control plane no longer knows.
    let ghost = uuid::Uuid::new_v4().to_string();
    let tags = |managed: bool| {
        let mut spec = TagSpecification::builder()
            .resource_type(ResourceType::SecurityGroup)
            .tags(Tag::builder().key("coffer:cluster-id").value(&ghost).build());
        if managed {
            spec = spec.tags(Tag::builder().key("coffer:managed-by").value("coffer").build());
        }
        spec.build()
    };
    let planted = client
        .create_security_group()
        .group_name(format!("planted-{ghost}"))
        .description("planted")
        .tag_specifications(tags(true))
        .send()
        .await
        .unwrap();
    let unmanaged = client
        .create_security_group()
        .group_name(format!("unmanaged-{ghost}"))
        .description("not ours")
        .tag_specifications(tags(false))
        .send()
        .await
        .unwrap();

    let all = cloud.list_tagged_resources(region).await.unwrap();
    let sg = find(&all, ResourceKind::SecurityGroup, planted.group_id().unwrap())
        .expect("planted group listed");
    assert_eq!(sg.cluster_id.as_deref(), Some(ghost.as_str()));
    assert_eq!(sg.region.as_deref(), Some(region));
    assert!(find(&all, ResourceKind::SecurityGroup, unmanaged.group_id().unwrap()).is_none());

    let check = |kind, id: &str, region: Option<&str>| {
        let r = find(&all, kind, id).unwrap_or_else(|| panic!("{kind:?} {id} not listed"));
        assert_eq!(r.cluster_id.as_deref(), Some(c.id().as_str()), "{kind:?}");
        assert_eq!(r.org_id.as_deref(), Some(c.org_id.to_string().as_str()), "{kind:?}");
        assert_eq!(r.region.as_deref(), region, "{kind:?}");
    };
    check(ResourceKind::KmsKey, &key.key_id, Some(region));
    check(ResourceKind::Bucket, &bucket.name, Some(region));
    check(ResourceKind::IamRole, &role.role_name, None);
    check(ResourceKind::InstanceProfile, &role.instance_profile_name, None);

    // Another region's listing does not include this region's resources.
    let elsewhere = cloud.list_tagged_resources("sa-east-1").await.unwrap();
    assert!(find(&elsewhere, ResourceKind::Bucket, &bucket.name).is_none());
    assert!(find(&elsewhere, ResourceKind::KmsKey, &key.key_id).is_none());

    // A key scheduled for deletion is no longer an orphan to chase.
    cloud.schedule_kms_key_deletion(&c, &key.key_id, 7).await.unwrap();
    let all = cloud.list_tagged_resources(region).await.unwrap();
    assert!(find(&all, ResourceKind::KmsKey, &key.key_id).is_none());

    cloud.delete_bucket(&c, BucketPurpose::Audit).await.unwrap();
    cloud.delete_node_role(&c).await.unwrap();
}
