//! The cluster security group and the reconciliation of its ingress rules.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroup as SdkGroup,
    UserIdGroupPair,
};
use aws_sdk_ec2::Client;

use super::{cluster_filter, default_vpc, filter, managed_filter, tag_spec, tagged, tags};
use crate::aws::sdk_error::{ignore_not_found, SdkResultExt};
use crate::cluster::ClusterRef;
use crate::error::{CloudError, ErrorKind};
use crate::resources::{Ingress, ResourceKind, SecurityGroup, TaggedResource};
use crate::sg_rules::{api_rules, diff, with_node_traffic, Rule, RuleSource};

pub(in crate::aws) async fn ensure(
    ec2: &Client,
    c: &ClusterRef,
    ingress: &Ingress,
) -> Result<SecurityGroup, CloudError> {
    let api = api_rules(&ingress.access)?;
    let vpc_id = match &ingress.vpc_id {
        Some(v) => v.clone(),
        None => default_vpc(ec2).await?,
    };
    let name = c.security_group_name();
    let (group_id, current) = match find(ec2, &name, &vpc_id).await? {
        Some(g) => {
            let id = g.group_id().ok_or_else(|| {
                CloudError::unexpected("ec2:DescribeSecurityGroups", "group without id")
            })?;
            // Converge tags too: cheap, and the sweeper depends on them.
            ec2.create_tags()
                .resources(id)
                .set_tags(Some(tags(c, &name, &[])))
                .send()
                .await
                .op("ec2:CreateTags")?;
            (id.to_owned(), current_rules(&g))
        }
        None => (create(ec2, c, &name, &vpc_id).await?, BTreeSet::new()),
    };

    let desired = with_node_traffic(api, &group_id);
    let change = diff(&current, &desired);
    if !change.revoke.is_empty() {
        let perms = change.revoke.iter().map(to_permission).collect();
        let r = ec2
            .revoke_security_group_ingress()
            .group_id(&group_id)
            .set_ip_permissions(Some(perms))
            .send()
            .await;
        r.op("ec2:RevokeSecurityGroupIngress").map_err(just_created)?;
    }
    if !change.authorize.is_empty() {
        let perms = change.authorize.iter().map(to_permission).collect();
        let r = ec2
            .authorize_security_group_ingress()
            .group_id(&group_id)
            .set_ip_permissions(Some(perms))
            .send()
            .await;
        match r.op("ec2:AuthorizeSecurityGroupIngress") {
            Ok(_) => {}
            // A concurrent run added the same rule.
            Err(e) if e.has_code("InvalidPermission.Duplicate") => {}
            Err(e) => return Err(just_created(e)),
        }
    }
    Ok(SecurityGroup { group_id, group_name: name, vpc_id })
}

/// EC2 is eventually consistent: a group we just found or made can briefly be "not found".
fn just_created(e: CloudError) -> CloudError {
    if e.is_not_found() {
        e.with_kind(ErrorKind::Transient)
    } else {
        e
    }
}

async fn find(ec2: &Client, name: &str, vpc_id: &str) -> Result<Option<SdkGroup>, CloudError> {
    let out = ec2
        .describe_security_groups()
        .filters(filter("group-name", &[name]))
        .filters(filter("vpc-id", &[vpc_id]))
        .send()
        .await
        .op("ec2:DescribeSecurityGroups")?;
    Ok(out.security_groups.and_then(|mut g| g.pop()))
}

async fn create(
    ec2: &Client,
    c: &ClusterRef,
    name: &str,
    vpc_id: &str,
) -> Result<String, CloudError> {
    let r = ec2
        .create_security_group()
        .group_name(name)
        .description(format!("Coffer cluster {}", c.id()))
        .vpc_id(vpc_id)
        .tag_specifications(tag_spec(ResourceType::SecurityGroup, tags(c, name, &[])))
        .send()
        .await
        .op("ec2:CreateSecurityGroup");
    match r {
        Ok(out) => out
            .group_id
            .ok_or_else(|| CloudError::unexpected("ec2:CreateSecurityGroup", "no group id")),
        Err(e) if e.has_code("InvalidGroup.Duplicate") => {
            let g = find(ec2, name, vpc_id).await?;
            g.and_then(|g| g.group_id).ok_or_else(|| {
                CloudError::new(
                    ErrorKind::Transient,
                    "ec2:DescribeSecurityGroups",
                    None,
                    "group not visible yet",
                )
            })
        }
        Err(e) => Err(e),
    }
}

/// Flattens EC2's grouped permissions into one rule per source.
fn current_rules(g: &SdkGroup) -> BTreeSet<Rule> {
    let mut rules = BTreeSet::new();
    for p in g.ip_permissions() {
        let proto = p.ip_protocol().unwrap_or("-1");
        let mut add = |source| {
            rules.insert(Rule::new(proto, p.from_port(), p.to_port(), source));
        };
        p.ip_ranges()
            .iter()
            .filter_map(IpRange::cidr_ip)
            .for_each(|c| add(RuleSource::Ipv4(c.to_owned())));
        p.ipv6_ranges()
            .iter()
            .filter_map(Ipv6Range::cidr_ipv6)
            .for_each(|c| add(RuleSource::Ipv6(c.to_owned())));
        p.user_id_group_pairs()
            .iter()
            .filter_map(UserIdGroupPair::group_id)
            .for_each(|g| add(RuleSource::Group(g.to_owned())));
        p.prefix_list_ids()
            .iter()
            .filter_map(PrefixListId::prefix_list_id)
            .for_each(|l| add(RuleSource::PrefixList(l.to_owned())));
    }
    rules
}

fn to_permission(r: &Rule) -> IpPermission {
    let mut b = IpPermission::builder().ip_protocol(&r.protocol);
    if let Some((from, to)) = r.ports {
        b = b.from_port(from).to_port(to);
    }
    match &r.source {
        RuleSource::Ipv4(c) => b.ip_ranges(IpRange::builder().cidr_ip(c).build()),
        RuleSource::Ipv6(c) => b.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).build()),
        RuleSource::Group(g) => {
            b.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).build())
        }
        RuleSource::PrefixList(l) => {
            b.prefix_list_ids(PrefixListId::builder().prefix_list_id(l).build())
        }
    }
    .build()
}

/// Deletes the cluster's group in every VPC of the region (the name is unique to the cluster).
pub(in crate::aws) async fn delete(ec2: &Client, c: &ClusterRef) -> Result<(), CloudError> {
    let out = ec2
        .describe_security_groups()
        .filters(filter("group-name", &[&c.security_group_name()]))
        .filters(cluster_filter(c))
        .send()
        .await
        .op("ec2:DescribeSecurityGroups")?;
    for id in out.security_groups().iter().filter_map(SdkGroup::group_id) {
        ignore_not_found(
            ec2.delete_security_group().group_id(id).send().await.op("ec2:DeleteSecurityGroup"),
        )?;
    }
    Ok(())
}

pub(super) async fn list_tagged(
    ec2: &Client,
    region: &str,
) -> Result<Vec<TaggedResource>, CloudError> {
    let mut groups =
        ec2.describe_security_groups().filters(managed_filter()).into_paginator().items().send();
    let mut out = Vec::new();
    while let Some(g) = groups.next().await {
        let g = g.op("ec2:DescribeSecurityGroups")?;
        out.extend(tagged(ResourceKind::SecurityGroup, g.group_id(), region, g.tags()));
    }
    Ok(out)
}
