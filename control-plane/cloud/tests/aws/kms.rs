use aws_sdk_kms::types::KeyState;
use coffer_cloud::{Cloud, ErrorKind};

use super::support::{cloud, cluster, expected_tags, kms, policy_json, sorted, ADMIN_ARN};

async fn key_state(client: &aws_sdk_kms::Client, key_id: &str) -> KeyState {
    let d = client.describe_key().key_id(key_id).send().await.unwrap();
    d.key_metadata.unwrap().key_state.unwrap()
}

#[tokio::test]
async fn key_is_created_once_with_alias_rotation_policy_and_tags() {
    let cloud = cloud().await;
    let c = cluster("eu-west-1");
    let client = kms("eu-west-1").await;

    let key = cloud.ensure_kms_key(&c, None).await.unwrap();
    assert_eq!(key.alias, format!("alias/coffer/{}", c.cluster_id));

    // The alias resolves to the key.
    let d = client.describe_key().key_id(&key.alias).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(d.key_id(), key.key_id);
    assert_eq!(d.arn(), Some(key.arn.as_str()));
    assert_eq!(d.key_state(), Some(&KeyState::Enabled));

    let rotation = client.get_key_rotation_status().key_id(&key.key_id).send().await.unwrap();
    assert!(rotation.key_rotation_enabled);

    let policy =
        client.get_key_policy().key_id(&key.key_id).policy_name("default").send().await.unwrap();
    let policy = policy_json(policy.policy().unwrap());
    let sids: Vec<&str> =
        policy["Statement"].as_array().unwrap().iter().filter_map(|s| s["Sid"].as_str()).collect();
    assert_eq!(sids, ["ControlPlaneAdministers", "ControlPlaneLaunchesEncryptedVolumes"]);
    assert_eq!(policy["Statement"][0]["Principal"]["AWS"], ADMIN_ARN);

    let tags = client.list_resource_tags().key_id(&key.key_id).send().await.unwrap();
    let tags =
        tags.tags().iter().map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned())).collect();
    assert_eq!(sorted(tags), expected_tags(&c, &key.alias, &[]));

    // Again, now naming the node role: same key, policy grows the node statement.
    let role = format!("arn:aws:iam::123456789012:role/coffer/coffer-node-{}", c.cluster_id);
    let again = cloud.ensure_kms_key(&c, Some(&role)).await.unwrap();
    assert_eq!(again, key);
    let policy =
        client.get_key_policy().key_id(&key.key_id).policy_name("default").send().await.unwrap();
    let policy = policy_json(policy.policy().unwrap());
    let node =
        policy["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == "NodesUseKey").unwrap();
    assert_eq!(node["Principal"]["AWS"], role.as_str());
    assert_eq!(
        node["Action"],
        serde_json::json!([
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:GenerateDataKey*",
            "kms:DescribeKey"
        ])
    );

    // Exactly one alias for the cluster, so no duplicate keys were made.
    let aliases = client.list_aliases().send().await.unwrap();
    let ours =
        aliases.aliases().iter().filter(|a| a.alias_name() == Some(key.alias.as_str())).count();
    assert_eq!(ours, 1);
}

#[tokio::test]
async fn deletion_is_idempotent_guarded_and_revivable() {
    let cloud = cloud().await;
    let c = cluster("eu-west-1");
    let client = kms("eu-west-1").await;
    let key = cloud.ensure_kms_key(&c, None).await.unwrap();

    // Someone else's cluster cannot delete this key.
    let other = cluster("eu-west-1");
    let e = cloud.schedule_kms_key_deletion(&other, &key.key_id, 7).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert_eq!(key_state(&client, &key.key_id).await, KeyState::Enabled);

    // Out-of-range windows are refused before calling KMS.
    for days in [0, 6, 31] {
        let e = cloud.schedule_kms_key_deletion(&c, &key.key_id, days).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permanent, "{days}");
    }

    cloud.schedule_kms_key_deletion(&c, &key.key_id, 7).await.unwrap();
    assert_eq!(key_state(&client, &key.key_id).await, KeyState::PendingDeletion);
    cloud.schedule_kms_key_deletion(&c, &key.key_id, 7).await.unwrap();
    // A key that never existed is already "deleted".
    cloud.schedule_kms_key_deletion(&c, "11111111-2222-3333-4444-555555555555", 7).await.unwrap();

    // The cluster is wanted again inside the window: the same key comes back.
    let revived = cloud.ensure_kms_key(&c, None).await.unwrap();
    assert_eq!(revived.key_id, key.key_id);
    assert_eq!(key_state(&client, &key.key_id).await, KeyState::Enabled);
}
