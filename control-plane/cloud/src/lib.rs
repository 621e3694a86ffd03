//! Coffer's per-cluster AWS resources (KMS key, S3 buckets, IAM node role, security group,
//! EC2 instances) behind a small interface of our own.
//!
//! Why a separate crate: the control plane's workflow engine and sweeper reason in terms of
//! "ensure this cluster has X" and "is this error worth retrying"; keeping AWS SDK types behind
//! [`Cloud`] lets them be tested against a fake and keeps the SDK's long compile out of crates
//! that do not need it. Layout: plain data ([`cluster`], [`resources`], [`bootstrap`]), pure
//! decisions ([`policy`], [`sg_rules`]), the interface ([`cloud`]) and its AWS implementation
//! ([`aws`]), whose service modules are the only code touching SDK types.
#![forbid(unsafe_code)]

pub mod aws;
pub mod bootstrap;
pub mod cloud;
pub mod cluster;
pub mod error;
pub mod objects;
pub mod policy;
pub mod resources;
pub mod sg_rules;

pub use aws::{AwsCloud, AwsSettings, CredentialSource};
pub use bootstrap::{BootstrapDocument, JoinToken};
pub use cloud::Cloud;
pub use cluster::{BucketPurpose, ClusterRef};
pub use error::{CloudError, ErrorKind};
pub use objects::{BucketLocation, ListQuery, ObjectHead, ObjectPage, ObjectStore, ObjectSummary};
pub use resources::{
    ApiAccess, Bucket, Ingress, Instance, InstanceSpec, InstanceState, KmsKey, NodeRole, Placement,
    ResourceKind, SecurityGroup, TaggedResource,
};
