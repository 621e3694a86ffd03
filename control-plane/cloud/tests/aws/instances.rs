use std::collections::BTreeSet;

use aws_sdk_ec2::types::{
    Filter, HttpTokensState, InstanceAttributeName, ResourceType, Tag, TagSpecification, VolumeType,
};
use base64::Engine as _;
use coffer_cloud::bootstrap::BOOTSTRAP_VERSION;
use coffer_cloud::{
    ApiAccess, BootstrapDocument, BucketPurpose, Cloud, ClusterRef, Ingress, InstanceSpec,
    InstanceState, JoinToken, KmsKey, Placement, ResourceKind,
};

use super::support::{cloud, cluster, ec2, expected_tags, sorted};

const REGION: &str = "eu-west-1";

async fn any_image(client: &aws_sdk_ec2::Client) -> String {
    let images = client.describe_images().owners("amazon").send().await.unwrap();
    images
        .images()
        .iter()
        .find(|i| i.root_device_name().is_some())
        .and_then(|i| i.image_id())
        .expect("moto ships public images")
        .to_owned()
}

fn spec(
    c: &ClusterRef,
    node: u32,
    op: &str,
    key: &KmsKey,
    sg: &str,
    profile: &str,
    image: &str,
) -> InstanceSpec {
    InstanceSpec {
        operation_id: op.to_owned(),
        node_index: node,
        image_id: image.to_owned(),
        instance_type: "t3.small".to_owned(),
        security_group_id: sg.to_owned(),
        instance_profile_arn: profile.to_owned(),
        kms_key_arn: key.arn.clone(),
        root_volume_gib: 20,
        data_volume_gib: 50,
        placement: Placement::DefaultVpc,
        bootstrap: BootstrapDocument {
            version: BOOTSTRAP_VERSION,
            cluster_id: c.cluster_id,
            org_id: c.org_id,
            node_index: node,
            region: c.region.clone(),
            kms_key_arn: key.arn.clone(),
            snapshot_bucket: BucketPurpose::Snapshots.bucket_name(c),
            audit_bucket: BucketPurpose::Audit.bucket_name(c),
            control_plane_url: "https://control.example".to_owned(),
            control_plane_ca_pem: None,
            msp_public_key: None,
            join_token: Some(JoinToken::new(format!("join-{node}"))),
        },
    }
}

async fn cluster_volumes(
    client: &aws_sdk_ec2::Client,
    c: &ClusterRef,
) -> Vec<aws_sdk_ec2::types::Volume> {
    let f = Filter::builder().name("tag:coffer:cluster-id").values(c.id()).build();
    client.describe_volumes().filters(f).send().await.unwrap().volumes().to_vec()
}

#[tokio::test]
async fn instances_launch_once_per_node_hardened_and_spread() {
    let cloud = cloud().await;
    let c = cluster(REGION);
    let client = ec2(REGION).await;
    let key = cloud.ensure_kms_key(&c, None).await.unwrap();
    let role = cloud.ensure_node_role(&c, &key.arn, &[]).await.unwrap();
    let sg = cloud
        .ensure_security_group(&c, &Ingress { vpc_id: None, access: ApiAccess::Public })
        .await
        .unwrap();
    let image = any_image(&client).await;
    let spec = |n| spec(&c, n, "op-create", &key, &sg.group_id, &role.instance_profile_arn, &image);

    let mut launched = Vec::new();
    for n in 0..3 {
        let i = cloud.ensure_instance(&c, &spec(n)).await.unwrap();
        assert_eq!(i.node_index, Some(n));
        // Twice: found by tags, not launched again.
        assert_eq!(cloud.ensure_instance(&c, &spec(n)).await.unwrap().instance_id, i.instance_id);
        launched.push(i);
    }
    let described = cloud.describe_instances(&c).await.unwrap();
    assert_eq!(
        described.iter().map(|i| &i.instance_id).collect::<Vec<_>>(),
        launched.iter().map(|i| &i.instance_id).collect::<Vec<_>>()
    );
    let zones: BTreeSet<_> =
        described.iter().map(|i| i.availability_zone.clone().unwrap()).collect();
    assert_eq!(zones.len(), 3, "nodes spread over three AZs: {zones:?}");

    for (n, inst) in (0u32..).zip(&launched) {
        let id = inst.instance_id.as_str();
        let attr = client
            .describe_instance_attribute()
            .instance_id(id)
            .attribute(InstanceAttributeName::UserData);
        let attr = attr.send().await.unwrap();
        let raw = attr.user_data().and_then(|u| u.value()).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(raw).unwrap();
        assert_eq!(BootstrapDocument::from_user_data(&bytes).unwrap(), spec(n).bootstrap);

        let out = client.describe_instances().instance_ids(id).send().await.unwrap();
        let i = &out.reservations()[0].instances()[0];
        assert_eq!(i.key_name(), None, "no SSH key pair");
        let md = i.metadata_options().unwrap();
        assert_eq!(md.http_tokens(), Some(&HttpTokensState::Required));
        assert_eq!(md.http_put_response_hop_limit(), Some(1));
        assert!(i
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .is_some_and(|a| a == role.instance_profile_arn));
        assert_eq!(
            i.security_groups().iter().filter_map(|g| g.group_id()).collect::<Vec<_>>(),
            [sg.group_id.as_str()]
        );
        let tags = i
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
            .collect();
        let name = c.instance_name(n);
        assert_eq!(sorted(tags), expected_tags(&c, &name, &[("coffer:node-index", n.to_string())]));

        let f = Filter::builder().name("attachment.instance-id").values(id).build();
        let vols = client.describe_volumes().filters(f).send().await.unwrap();
        let mut sizes: Vec<i32> = vols.volumes().iter().filter_map(|v| v.size()).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [20, 50]);
        for v in vols.volumes() {
            assert_eq!(v.encrypted(), Some(true));
            assert_eq!(v.kms_key_id(), Some(key.arn.as_str()));
            assert_eq!(v.volume_type(), Some(&VolumeType::Gp3));
        }
    }

    // The sweeper's listing sees the instances and their volumes, tied to the cluster.
    let listed = cloud.list_tagged_resources(REGION).await.unwrap();
    for inst in &launched {
        let found =
            listed.iter().find(|r| r.kind == ResourceKind::Instance && r.id == inst.instance_id);
        assert_eq!(found.and_then(|r| r.cluster_id.clone()), Some(c.id()), "{}", inst.instance_id);
    }
    let volumes = listed
        .iter()
        .filter(|r| r.kind == ResourceKind::Volume && r.cluster_id == Some(c.id()))
        .count();
    assert_eq!(volumes, 6, "root and data volume per node");

    // A planted leftover volume of this cluster goes with the instances.
    let leftover = client
        .create_volume()
        .availability_zone(launched[0].availability_zone.clone().unwrap())
        .size(1)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Volume)
                .tags(Tag::builder().key("coffer:cluster-id").value(c.id()).build())
                .build(),
        )
        .send()
        .await
        .unwrap();

    cloud.terminate_instances(&c).await.unwrap();
    let after = cloud.describe_instances(&c).await.unwrap();
    assert!(after.iter().all(|i| !i.state.is_live()), "{after:?}");
    // Again, once everything is terminated: also sweeps volumes freed meanwhile.
    cloud.terminate_instances(&c).await.unwrap();
    let left: Vec<_> =
        cluster_volumes(&client, &c).await.into_iter().filter_map(|v| v.volume_id).collect();
    assert!(!left.contains(&leftover.volume_id.unwrap()), "{left:?}");
    assert!(cloud
        .describe_instances(&c)
        .await
        .unwrap()
        .iter()
        .all(|i| i.state != InstanceState::Running));
}

/// moto records RunInstances client tokens but does not de-duplicate on them, so this checks
/// the token each launch carries: stable per (operation, node), distinct across nodes.
#[tokio::test]
async fn launches_carry_the_derived_client_token() {
    let cloud = cloud().await;
    let c = cluster(REGION);
    let client = ec2(REGION).await;
    let key = cloud.ensure_kms_key(&c, None).await.unwrap();
    let role = cloud.ensure_node_role(&c, &key.arn, &[]).await.unwrap();
    let sg = cloud
        .ensure_security_group(&c, &Ingress { vpc_id: None, access: ApiAccess::Public })
        .await
        .unwrap();
    let image = any_image(&client).await;

    for n in 0..2 {
        let s = spec(&c, n, "op-token", &key, &sg.group_id, &role.instance_profile_arn, &image);
        let launched = cloud.ensure_instance(&c, &s).await.unwrap();
        let out =
            client.describe_instances().instance_ids(&launched.instance_id).send().await.unwrap();
        let token = out.reservations()[0].instances()[0].client_token().map(str::to_owned);
        assert_eq!(token, Some(coffer_cloud::aws::client_token("op-token", &c, n)));
    }
    cloud.terminate_instances(&c).await.unwrap();
    cloud.delete_node_role(&c).await.unwrap();
}

/// With explicit subnets (a customer VPC), node `i` goes to subnet `i mod n`.
#[tokio::test]
async fn explicit_subnets_are_used_round_robin() {
    let cloud = cloud().await;
    let region = "us-west-2";
    let c = cluster(region);
    let client = ec2(region).await;
    let vpc = client.create_vpc().cidr_block("10.42.0.0/16").send().await.unwrap();
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_owned();
    let mut subnets = Vec::new();
    for (cidr, az) in [("10.42.1.0/24", "us-west-2a"), ("10.42.2.0/24", "us-west-2b")] {
        let s = client
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(cidr)
            .availability_zone(az)
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet().and_then(|s| s.subnet_id()).unwrap().to_owned());
    }
    let key = cloud.ensure_kms_key(&c, None).await.unwrap();
    let role = cloud.ensure_node_role(&c, &key.arn, &[]).await.unwrap();
    let ingress = Ingress {
        vpc_id: Some(vpc_id.clone()),
        access: ApiAccess::AllowList(vec!["10.0.0.0/8".into()]),
    };
    let sg = cloud.ensure_security_group(&c, &ingress).await.unwrap();
    assert_eq!(sg.vpc_id, vpc_id);
    let image = any_image(&client).await;

    let mut placed = Vec::new();
    for n in 0..3 {
        let mut s = spec(&c, n, "op-vpc", &key, &sg.group_id, &role.instance_profile_arn, &image);
        s.placement = Placement::Subnets(subnets.clone());
        placed.push(cloud.ensure_instance(&c, &s).await.unwrap().subnet_id.unwrap());
    }
    assert_eq!(placed, [subnets[0].clone(), subnets[1].clone(), subnets[0].clone()]);

    cloud.terminate_instances(&c).await.unwrap();
    cloud.delete_security_group(&c).await.unwrap();
    cloud.delete_node_role(&c).await.unwrap();
}
