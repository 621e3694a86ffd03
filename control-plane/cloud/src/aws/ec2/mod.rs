//! EC2: the cluster's security group and instances. Only this folder touches `aws_sdk_ec2`.
//!
//! EC2 has no names, only ids, so "find what an earlier run made" is always a describe with
//! tag filters; the helpers here build those filters and tags the same way for every call.

pub(crate) mod instances;
pub(super) mod sg;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use aws_sdk_ec2::Client;

use super::sdk_error::SdkResultExt;
use crate::cluster::{ClusterRef, MANAGED_BY_VALUE, TAG_CLUSTER_ID, TAG_MANAGED_BY, TAG_ORG_ID};
use crate::error::CloudError;
use crate::resources::{ResourceKind, TaggedResource};

fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
}

fn cluster_filter(c: &ClusterRef) -> Filter {
    Filter::builder().name(format!("tag:{TAG_CLUSTER_ID}")).values(c.id()).build()
}

fn managed_filter() -> Filter {
    filter(&format!("tag:{TAG_MANAGED_BY}"), &[MANAGED_BY_VALUE])
}

fn tags(c: &ClusterRef, name: &str, extra: &[(&'static str, String)]) -> Vec<Tag> {
    c.tags(name)
        .into_iter()
        .chain(extra.iter().cloned())
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn tag_spec(kind: ResourceType, tags: Vec<Tag>) -> TagSpecification {
    TagSpecification::builder().resource_type(kind).set_tags(Some(tags)).build()
}

fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(Tag::value)
}

fn tagged(
    kind: ResourceKind,
    id: Option<&str>,
    region: &str,
    tags: &[Tag],
) -> Option<TaggedResource> {
    Some(TaggedResource {
        kind,
        id: id?.to_owned(),
        region: Some(region.to_owned()),
        cluster_id: tag_value(tags, TAG_CLUSTER_ID).map(str::to_owned),
        org_id: tag_value(tags, TAG_ORG_ID).map(str::to_owned),
    })
}

async fn default_vpc(ec2: &Client) -> Result<String, CloudError> {
    let out = ec2
        .describe_vpcs()
        .filters(filter("is-default", &["true"]))
        .send()
        .await
        .op("ec2:DescribeVpcs")?;
    out.vpcs().iter().find_map(|v| v.vpc_id()).map(str::to_owned).ok_or_else(|| {
        CloudError::invalid("ec2:DescribeVpcs", "the region has no default VPC; pass a VPC id")
    })
}

/// Coffer security groups, instances (not terminated) and volumes in the client's region.
pub(super) async fn list_tagged(
    ec2: &Client,
    region: &str,
) -> Result<Vec<TaggedResource>, CloudError> {
    let mut out = sg::list_tagged(ec2, region).await?;
    out.extend(instances::list_tagged(ec2, region).await?);
    Ok(out)
}
