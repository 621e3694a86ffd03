use coffer_cloud::{Bucket, BucketPurpose, Cloud};

use super::support::{cloud, cluster, expected_tags, iam, policy_json, sorted};

#[tokio::test]
async fn node_role_profile_and_policy_converge_and_delete() {
    let cloud = cloud().await;
    let c = cluster("eu-west-1");
    let client = iam().await;
    let key_arn = format!("arn:aws:kms:eu-west-1:123456789012:key/{}", c.cluster_id);
    let buckets: Vec<Bucket> = BucketPurpose::ALL
        .into_iter()
        .map(|p| Bucket {
            purpose: p,
            name: p.bucket_name(&c),
            arn: format!("arn:aws:s3:::{}", p.bucket_name(&c)),
        })
        .collect();

    let role = cloud.ensure_node_role(&c, &key_arn, &buckets).await.unwrap();
    let name = format!("coffer-node-{}", c.cluster_id);
    assert_eq!(role.role_name, name);
    assert_eq!(role.instance_profile_name, name);

    let got = client.get_role().role_name(&name).send().await.unwrap().role.unwrap();
    assert_eq!(got.arn(), role.role_arn);
    assert_eq!(got.path(), "/coffer/");
    let trust = policy_json(got.assume_role_policy_document().unwrap());
    assert_eq!(trust["Statement"][0]["Principal"]["Service"], "ec2.amazonaws.com");
    assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRole");
    let tags = client.list_role_tags().role_name(&name).send().await.unwrap();
    let tags = tags.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    assert_eq!(sorted(tags), expected_tags(&c, &name, &[]));

    let policies = client.list_role_policies().role_name(&name).send().await.unwrap();
    assert_eq!(policies.policy_names(), ["coffer-node"]);
    let doc =
        client.get_role_policy().role_name(&name).policy_name("coffer-node").send().await.unwrap();
    let doc = policy_json(doc.policy_document());
    assert_eq!(doc, coffer_cloud::policy::node_role_policy(&key_arn, &buckets));
    let attached = client.list_attached_role_policies().role_name(&name).send().await.unwrap();
    assert!(attached.attached_policies().is_empty());

    let profile = client.get_instance_profile().instance_profile_name(&name).send().await.unwrap();
    let profile = profile.instance_profile.unwrap();
    assert_eq!(profile.arn(), role.instance_profile_arn);
    let roles: Vec<&str> = profile.roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(roles, [name.as_str()]);

    // Twice: same ARNs, still one role in the profile, policy rewritten (not appended).
    assert_eq!(cloud.ensure_node_role(&c, &key_arn, &buckets).await.unwrap(), role);
    let profile = client.get_instance_profile().instance_profile_name(&name).send().await.unwrap();
    assert_eq!(profile.instance_profile.unwrap().roles().len(), 1);
    let policies = client.list_role_policies().role_name(&name).send().await.unwrap();
    assert_eq!(policies.policy_names(), ["coffer-node"]);

    cloud.delete_node_role(&c).await.unwrap();
    let gone = client.get_role().role_name(&name).send().await.unwrap_err();
    assert_eq!(aws_sdk_iam::error::ProvideErrorMetadata::code(&gone), Some("NoSuchEntity"));
    assert!(client.get_instance_profile().instance_profile_name(&name).send().await.is_err());
    cloud.delete_node_role(&c).await.unwrap();
}
