//! Documentation-only enums for string fields with a fixed set of values.
//!
//! The wire types keep these fields as strings (the domain layer parses them, with error
//! messages that list the valid values); these enums exist so the OpenAPI document tells
//! clients the allowed values. They are never constructed.

use utoipa::ToSchema;

#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Contributor,
    Admin,
    Owner,
}

#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Active,
    Invited,
}

#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Dev,
    Essentials,
    Standard,
}

#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    Small,
    Medium,
    Large,
}

#[allow(dead_code)]
#[derive(ToSchema)]
pub enum Region {
    #[serde(rename = "us-east-1")]
    UsEast1,
    #[serde(rename = "us-west-2")]
    UsWest2,
    #[serde(rename = "eu-west-1")]
    EuWest1,
    #[serde(rename = "eu-central-1")]
    EuCentral1,
    #[serde(rename = "ap-southeast-1")]
    ApSoutheast1,
    #[serde(rename = "ap-northeast-1")]
    ApNortheast1,
}

#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClusterState {
    Pending,
    Creating,
    Running,
    Updating,
    Deleting,
    Deleted,
    Failed,
}

#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OperationKind {
    Create,
    Update,
    Delete,
}

#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OperationState {
    Pending,
    Running,
    Succeeded,
    Failed,
}

#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
}
