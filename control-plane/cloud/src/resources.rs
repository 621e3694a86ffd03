//! The values `Cloud` calls take and return: plain data, no provider SDK types, so the
//! workflow engine can persist them and tests can build them without AWS.

use crate::bootstrap::BootstrapDocument;
use crate::cluster::BucketPurpose;

/// The cluster's KMS key (symmetric, rotation on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKey {
    pub key_id: String,
    pub arn: String,
    pub alias: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub purpose: BucketPurpose,
    pub name: String,
    pub arn: String,
}

/// The nodes' IAM role and the instance profile that carries it onto EC2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRole {
    pub role_name: String,
    pub role_arn: String,
    pub instance_profile_name: String,
    pub instance_profile_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    pub group_id: String,
    pub group_name: String,
    pub vpc_id: String,
}

/// Who may reach the cluster's API port (8200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiAccess {
    /// Anyone (`0.0.0.0/0`).
    Public,
    /// Only these CIDR blocks (IPv4 or IPv6). Empty means node-to-node traffic only.
    AllowList(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingress {
    /// `None`: the region's default VPC.
    pub vpc_id: Option<String>,
    pub access: ApiAccess,
}

/// Where instances go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The default subnets of the region's default VPC, one per availability zone.
    DefaultVpc,
    /// These subnets (normally one per AZ). Node `i` gets `subnets[i % len]`.
    Subnets(Vec<String>),
}

/// One node's instance. Everything the launch needs, so `ensure_instance` is a pure function of
/// its inputs and the current AWS state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// The workflow operation launching the node. With `node_index` it forms the RunInstances
    /// client token: a retried step cannot launch a second instance, while a later operation
    /// (replacing a terminated node) gets a fresh token.
    pub operation_id: String,
    pub node_index: u32,
    pub image_id: String,
    pub instance_type: String,
    pub security_group_id: String,
    pub instance_profile_arn: String,
    /// Encrypts the root and data volumes.
    pub kms_key_arn: String,
    pub root_volume_gib: i32,
    pub data_volume_gib: i32,
    pub placement: Placement,
    /// Becomes the instance's user data (JSON).
    pub bootstrap: BootstrapDocument,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
    Unknown,
}

impl InstanceState {
    pub fn parse(raw: &str) -> InstanceState {
        match raw {
            "pending" => InstanceState::Pending,
            "running" => InstanceState::Running,
            "shutting-down" => InstanceState::ShuttingDown,
            "terminated" => InstanceState::Terminated,
            "stopping" => InstanceState::Stopping,
            "stopped" => InstanceState::Stopped,
            _ => InstanceState::Unknown,
        }
    }

    /// Still occupies a node slot (anything short of going away).
    pub fn is_live(self) -> bool {
        !matches!(self, InstanceState::ShuttingDown | InstanceState::Terminated)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub instance_id: String,
    /// From the `coffer:node-index` tag; `None` if the tag is missing or malformed.
    pub node_index: Option<u32>,
    pub state: InstanceState,
    pub availability_zone: Option<String>,
    pub subnet_id: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
}

/// Kinds of resource the sweeper looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    KmsKey,
    Bucket,
    IamRole,
    InstanceProfile,
    SecurityGroup,
    Instance,
    Volume,
}

/// A Coffer-tagged resource found by `list_tagged_resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedResource {
    pub kind: ResourceKind,
    /// Key id, bucket name, role / profile name, group / instance / volume id.
    pub id: String,
    /// `None` for global resources (IAM), which every region's listing includes.
    pub region: Option<String>,
    /// Raw tag values: a planted or damaged resource may carry anything.
    pub cluster_id: Option<String>,
    pub org_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_states() {
        let check = |raw: &str, state: InstanceState, live: bool| {
            assert_eq!(InstanceState::parse(raw), state);
            assert_eq!(state.is_live(), live, "{raw}");
        };
        check("pending", InstanceState::Pending, true);
        check("running", InstanceState::Running, true);
        check("stopping", InstanceState::Stopping, true);
        check("stopped", InstanceState::Stopped, true);
        check("shutting-down", InstanceState::ShuttingDown, false);
        check("terminated", InstanceState::Terminated, false);
        check("weird", InstanceState::Unknown, true);
    }
}
