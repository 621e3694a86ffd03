use std::collections::BTreeSet;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
use coffer_cloud::{ApiAccess, Cloud, ClusterRef, Ingress};

use super::support::{cloud, cluster, ec2, expected_tags, sorted};

/// Every ingress rule of the group as (protocol, from, to, source), flattened.
async fn rules(
    client: &aws_sdk_ec2::Client,
    group_id: &str,
) -> BTreeSet<(String, i32, i32, String)> {
    let out = client.describe_security_groups().group_ids(group_id).send().await.unwrap();
    let mut set = BTreeSet::new();
    for p in out.security_groups()[0].ip_permissions() {
        let proto = p.ip_protocol().unwrap().to_owned();
        let (from, to) = (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1));
        for r in p.ip_ranges() {
            set.insert((proto.clone(), from, to, r.cidr_ip().unwrap().to_owned()));
        }
        for r in p.ipv6_ranges() {
            set.insert((proto.clone(), from, to, r.cidr_ipv6().unwrap().to_owned()));
        }
        for g in p.user_id_group_pairs() {
            set.insert((proto.clone(), from, to, g.group_id().unwrap().to_owned()));
        }
    }
    set
}

fn expect(group_id: &str, api_sources: &[&str]) -> BTreeSet<(String, i32, i32, String)> {
    let mut set: BTreeSet<_> =
        api_sources.iter().map(|s| ("tcp".to_owned(), 8200, 8200, (*s).to_owned())).collect();
    set.insert(("-1".to_owned(), -1, -1, group_id.to_owned()));
    set
}

fn allow(cidrs: &[&str]) -> Ingress {
    Ingress {
        vpc_id: None,
        access: ApiAccess::AllowList(cidrs.iter().map(|s| (*s).to_owned()).collect()),
    }
}

async fn groups_named(client: &aws_sdk_ec2::Client, c: &ClusterRef) -> usize {
    let f = Filter::builder().name("group-name").values(c.security_group_name()).build();
    client.describe_security_groups().filters(f).send().await.unwrap().security_groups().len()
}

#[tokio::test]
async fn rules_are_rewritten_to_match_exactly() {
    let cloud = cloud().await;
    let c = cluster("eu-central-1");
    let client = ec2("eu-central-1").await;

    let sg =
        cloud.ensure_security_group(&c, &allow(&["10.0.0.0/8", "192.168.0.0/16"])).await.unwrap();
    assert_eq!(sg.group_name, format!("coffer-{}", c.cluster_id));
    let vpcs = client
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await;
    assert_eq!(vpcs.unwrap().vpcs()[0].vpc_id(), Some(sg.vpc_id.as_str()));
    assert_eq!(
        rules(&client, &sg.group_id).await,
        expect(&sg.group_id, &["10.0.0.0/8", "192.168.0.0/16"])
    );

    let described = client.describe_security_groups().group_ids(&sg.group_id).send().await.unwrap();
    let tags = described.security_groups()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    assert_eq!(sorted(tags), expected_tags(&c, &sg.group_name, &[]));

    // Someone opens SSH by hand; the next ensure takes it away along with the old allow list.
    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    client
        .authorize_security_group_ingress()
        .group_id(&sg.group_id)
        .ip_permissions(ssh)
        .send()
        .await
        .unwrap();
    let updated =
        cloud.ensure_security_group(&c, &allow(&["172.16.0.0/12", "2001:db8::/32"])).await.unwrap();
    assert_eq!(updated, sg);
    assert_eq!(
        rules(&client, &sg.group_id).await,
        expect(&sg.group_id, &["172.16.0.0/12", "2001:db8::/32"])
    );

    // Same input again: no change, no duplicate group.
    assert_eq!(
        cloud.ensure_security_group(&c, &allow(&["172.16.0.0/12", "2001:db8::/32"])).await.unwrap(),
        sg
    );
    assert_eq!(
        rules(&client, &sg.group_id).await,
        expect(&sg.group_id, &["172.16.0.0/12", "2001:db8::/32"])
    );
    assert_eq!(groups_named(&client, &c).await, 1);

    let public = Ingress { vpc_id: Some(sg.vpc_id.clone()), access: ApiAccess::Public };
    assert_eq!(cloud.ensure_security_group(&c, &public).await.unwrap(), sg);
    assert_eq!(rules(&client, &sg.group_id).await, expect(&sg.group_id, &["0.0.0.0/0"]));
    assert!(rules(&client, &sg.group_id).await.iter().all(|(_, from, _, _)| *from != 22));

    // Bad input is refused before touching the group.
    let e = cloud.ensure_security_group(&c, &allow(&["10.0.0.0/99"])).await.unwrap_err();
    assert!(!e.retryable());
    assert_eq!(rules(&client, &sg.group_id).await, expect(&sg.group_id, &["0.0.0.0/0"]));

    cloud.delete_security_group(&c).await.unwrap();
    assert_eq!(groups_named(&client, &c).await, 0);
    cloud.delete_security_group(&c).await.unwrap();
}
