//! The cluster's instances and their volumes.
//!
//! Launch is idempotent twice over: a describe by (cluster, node index) tags finds a node an
//! earlier run launched, and the RunInstances client token makes a retried launch whose
//! response was lost return the same instance instead of a second one.

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, HttpTokensState, IamInstanceProfileSpecification,
    Instance as SdkInstance, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest,
    InstanceType, ResourceType, VolumeType,
};
use aws_sdk_ec2::Client;
use sha2::{Digest, Sha256};

use super::{cluster_filter, filter, managed_filter, tag_spec, tag_value, tagged, tags};
use crate::aws::sdk_error::{ignore_not_found, SdkResultExt};
use crate::cluster::{ClusterRef, TAG_NODE_INDEX};
use crate::error::{CloudError, ErrorKind};
use crate::resources::{
    Instance, InstanceSpec, InstanceState, Placement, ResourceKind, TaggedResource,
};

/// States that still hold (or will hold) the node's slot.
const LIVE_STATES: &[&str] = &["pending", "running", "stopping", "stopped"];
/// Everything short of gone, for listing and termination.
const NOT_TERMINATED: &[&str] = &["pending", "running", "shutting-down", "stopping", "stopped"];

/// The data volume's device; the root device comes from the image.
pub const DATA_DEVICE: &str = "/dev/sdf";

/// RunInstances client token: at most 64 ASCII characters, stable for (operation, cluster, node).
pub fn client_token(operation_id: &str, c: &ClusterRef, node_index: u32) -> String {
    let mut h = Sha256::new();
    h.update(operation_id.as_bytes());
    h.update([0]);
    h.update(c.cluster_id.as_bytes());
    h.update(node_index.to_be_bytes());
    hex::encode(h.finalize())
}

fn to_instance(i: &SdkInstance) -> Option<Instance> {
    Some(Instance {
        instance_id: i.instance_id()?.to_owned(),
        node_index: tag_value(i.tags(), TAG_NODE_INDEX).and_then(|v| v.parse().ok()),
        state: i
            .state()
            .and_then(|s| s.name())
            .map_or(InstanceState::Unknown, |n| InstanceState::parse(n.as_str())),
        availability_zone: i.placement().and_then(|p| p.availability_zone()).map(str::to_owned),
        subnet_id: i.subnet_id().map(str::to_owned),
        private_ip: i.private_ip_address().map(str::to_owned),
        public_ip: i.public_ip_address().map(str::to_owned),
    })
}

async fn describe(
    ec2: &Client,
    c: &ClusterRef,
    node: Option<u32>,
    states: &[&str],
) -> Result<Vec<Instance>, CloudError> {
    let mut req = ec2
        .describe_instances()
        .filters(cluster_filter(c))
        .filters(filter("instance-state-name", states));
    if let Some(n) = node {
        req = req.filters(filter(&format!("tag:{TAG_NODE_INDEX}"), &[&n.to_string()]));
    }
    let mut pages = req.into_paginator().items().send();
    let mut out = Vec::new();
    while let Some(reservation) = pages.next().await {
        let reservation = reservation.op("ec2:DescribeInstances")?;
        out.extend(reservation.instances().iter().filter_map(to_instance));
    }
    out.sort_by(|a, b| (a.node_index, &a.instance_id).cmp(&(b.node_index, &b.instance_id)));
    Ok(out)
}

pub(in crate::aws) async fn describe_cluster(
    ec2: &Client,
    c: &ClusterRef,
) -> Result<Vec<Instance>, CloudError> {
    describe(ec2, c, None, NOT_TERMINATED).await
}

pub(in crate::aws) async fn ensure(
    ec2: &Client,
    c: &ClusterRef,
    spec: &InstanceSpec,
) -> Result<Instance, CloudError> {
    if let Some(existing) =
        describe(ec2, c, Some(spec.node_index), LIVE_STATES).await?.into_iter().next()
    {
        return Ok(existing);
    }
    if spec.root_volume_gib < 1 || spec.data_volume_gib < 1 {
        return Err(CloudError::invalid("ec2:RunInstances", "volume sizes must be at least 1 GiB"));
    }
    let user_data = spec.bootstrap.to_user_data_base64()?;
    let subnet = subnet_for(ec2, &spec.placement, spec.node_index).await?;
    let root_device = root_device(ec2, &spec.image_id).await?;

    let volume = |gib: i32| {
        EbsBlockDevice::builder()
            .volume_size(gib)
            .volume_type(VolumeType::Gp3)
            .encrypted(true)
            .kms_key_id(&spec.kms_key_arn)
            .delete_on_termination(true)
            .build()
    };
    let name = c.instance_name(spec.node_index);
    let node_tag = [(TAG_NODE_INDEX, spec.node_index.to_string())];
    let metadata = InstanceMetadataOptionsRequest::builder()
        .http_endpoint(InstanceMetadataEndpointState::Enabled)
        .http_tokens(HttpTokensState::Required)
        // One hop: a container on the node cannot reach the metadata service (and the role).
        .http_put_response_hop_limit(1)
        .build();
    let r =
        ec2.run_instances()
            .image_id(&spec.image_id)
            .instance_type(InstanceType::from(spec.instance_type.as_str()))
            .min_count(1)
            .max_count(1)
            .client_token(client_token(&spec.operation_id, c, spec.node_index))
            .subnet_id(subnet)
            .security_group_ids(&spec.security_group_id)
            .iam_instance_profile(
                IamInstanceProfileSpecification::builder().arn(&spec.instance_profile_arn).build(),
            )
            .user_data(user_data)
            .metadata_options(metadata)
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name(root_device)
                    .ebs(volume(spec.root_volume_gib))
                    .build(),
            )
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name(DATA_DEVICE)
                    .ebs(volume(spec.data_volume_gib))
                    .build(),
            )
            .tag_specifications(tag_spec(ResourceType::Instance, tags(c, &name, &node_tag)))
            .tag_specifications(tag_spec(ResourceType::Volume, tags(c, &name, &node_tag)))
            // One attempt: EC2 de-duplicates retries by ClientToken, but not every EC2-compatible
            // endpoint does (moto doesn't), and a blind retry after a timeout would launch a second
            // node. A lost answer surfaces as a transient error instead, and the caller's retry
            // finds the instance by its tags before launching again.
            .customize()
            .config_override(aws_sdk_ec2::config::Builder::default().retry_config(
                aws_sdk_ec2::config::retry::RetryConfig::standard().with_max_attempts(1),
            ))
            .send()
            .await
            .op("ec2:RunInstances")
            .map_err(profile_not_propagated)?;
    r.instances()
        .iter()
        .find_map(to_instance)
        .ok_or_else(|| CloudError::unexpected("ec2:RunInstances", "no instance in response"))
}

/// A just-created instance profile is rejected as an invalid parameter until IAM propagates it.
fn profile_not_propagated(e: CloudError) -> CloudError {
    if e.has_code("InvalidParameterValue") && e.message().contains("iamInstanceProfile") {
        e.with_kind(ErrorKind::Transient)
    } else {
        e
    }
}

/// Spreads nodes across AZs: node `i` takes the `i mod n`-th subnet, subnets ordered by AZ.
async fn subnet_for(
    ec2: &Client,
    placement: &Placement,
    node_index: u32,
) -> Result<String, CloudError> {
    let subnets = match placement {
        Placement::Subnets(s) => s.clone(),
        Placement::DefaultVpc => {
            let out = ec2
                .describe_subnets()
                .filters(filter("default-for-az", &["true"]))
                .filters(filter("state", &["available"]))
                .send()
                .await
                .op("ec2:DescribeSubnets")?;
            let mut by_az: Vec<(&str, &str)> = out
                .subnets()
                .iter()
                .filter_map(|s| Some((s.availability_zone()?, s.subnet_id()?)))
                .collect();
            by_az.sort_unstable();
            by_az.into_iter().map(|(_, id)| id.to_owned()).collect()
        }
    };
    if subnets.is_empty() {
        return Err(CloudError::invalid(
            "ec2:DescribeSubnets",
            "no subnet to place the instance in",
        ));
    }
    let i = usize::try_from(node_index).unwrap_or(usize::MAX) % subnets.len();
    Ok(subnets[i].clone())
}

async fn root_device(ec2: &Client, image_id: &str) -> Result<String, CloudError> {
    let out = ec2.describe_images().image_ids(image_id).send().await.op("ec2:DescribeImages")?;
    out.images().iter().find_map(|i| i.root_device_name()).map(str::to_owned).ok_or_else(|| {
        CloudError::invalid(
            "ec2:DescribeImages",
            format!("image {image_id} not found or has no root device"),
        )
    })
}

pub(in crate::aws) async fn terminate(ec2: &Client, c: &ClusterRef) -> Result<(), CloudError> {
    let ids: Vec<String> =
        describe(ec2, c, None, LIVE_STATES).await?.into_iter().map(|i| i.instance_id).collect();
    if !ids.is_empty() {
        let r = ec2.terminate_instances().set_instance_ids(Some(ids)).send().await;
        ignore_not_found(r.op("ec2:TerminateInstances"))?;
    }
    // Volumes detached from terminated instances (or left by a failed launch).
    let mut pages = ec2
        .describe_volumes()
        .filters(cluster_filter(c))
        .filters(filter("status", &["available"]))
        .into_paginator()
        .items()
        .send();
    let mut volumes = Vec::new();
    while let Some(v) = pages.next().await {
        volumes.extend(v.op("ec2:DescribeVolumes")?.volume_id);
    }
    for id in volumes {
        ignore_not_found(ec2.delete_volume().volume_id(id).send().await.op("ec2:DeleteVolume"))?;
    }
    Ok(())
}

pub(super) async fn list_tagged(
    ec2: &Client,
    region: &str,
) -> Result<Vec<TaggedResource>, CloudError> {
    let mut out = Vec::new();
    let mut pages = ec2
        .describe_instances()
        .filters(managed_filter())
        .filters(filter("instance-state-name", NOT_TERMINATED))
        .into_paginator()
        .items()
        .send();
    while let Some(r) = pages.next().await {
        for i in r.op("ec2:DescribeInstances")?.instances() {
            out.extend(tagged(ResourceKind::Instance, i.instance_id(), region, i.tags()));
        }
    }
    let mut pages =
        ec2.describe_volumes().filters(managed_filter()).into_paginator().items().send();
    while let Some(v) = pages.next().await {
        let v = v.op("ec2:DescribeVolumes")?;
        out.extend(tagged(ResourceKind::Volume, v.volume_id(), region, v.tags()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn client_token_is_stable_and_distinct() {
        let c = ClusterRef::new(Uuid::from_u128(1), Uuid::from_u128(2), "eu-west-1");
        let other = ClusterRef::new(Uuid::from_u128(3), Uuid::from_u128(2), "eu-west-1");
        let t = client_token("op-1", &c, 0);
        assert_eq!(t.len(), 64);
        assert!(t.is_ascii());
        assert_eq!(t, client_token("op-1", &c, 0));
        for different in [
            client_token("op-2", &c, 0),
            client_token("op-1", &c, 1),
            client_token("op-1", &other, 0),
        ] {
            assert_ne!(t, different);
        }
    }
}
