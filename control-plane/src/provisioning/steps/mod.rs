//! Step implementations: each named step of a workflow converges one slice of the cluster's
//! AWS footprint toward its desired state through [`coffer_cloud::Cloud`].
//!
//! Contract every step keeps, so the runner may re-run any of them after a crash:
//! - idempotent: `Cloud::ensure_*`/`delete_*` find what an earlier try created (deterministic
//!   names, client tokens, tags) and converge it;
//! - every resource id is recorded in `cluster_resources` as soon as the call returning it
//!   completes, before the next AWS call;
//! - a step that must wait for the outside world (nodes registering, instances terminating)
//!   returns [`Progress::Waiting`]; the runner polls it again without counting an attempt.

mod create;
mod instances;
mod teardown;

pub(crate) use teardown::purge_bucket;

use std::sync::Arc;

use coffer_cloud::{ApiAccess, Cloud, ClusterRef, Ingress};
use sqlx::PgPool;
use uuid::Uuid;

use super::db::resources::Owner;
use super::error::StepError;
use super::settings::ProvisioningSettings;
use crate::store::clusters::ClusterRow;

/// The outcome of one run of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Done,
    /// Not finished; poll again later. The reason is shown on the step (customer-safe).
    Waiting(String),
}

/// Every step name the engine knows, as stored in `operation_steps.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepName {
    CreateKmsKey,
    CreateBuckets,
    CreateIamRole,
    CreateSecurityGroup,
    LaunchInstances,
    WaitForNodes,
    TerminateInstances,
    DeleteSecurityGroup,
    DeleteIamRole,
    DeleteBuckets,
    ScheduleKmsKeyDeletion,
    UpdateSecurityGroup,
    RollingUpgrade,
}

impl StepName {
    pub const ALL: [StepName; 13] = [
        StepName::CreateKmsKey,
        StepName::CreateBuckets,
        StepName::CreateIamRole,
        StepName::CreateSecurityGroup,
        StepName::LaunchInstances,
        StepName::WaitForNodes,
        StepName::TerminateInstances,
        StepName::DeleteSecurityGroup,
        StepName::DeleteIamRole,
        StepName::DeleteBuckets,
        StepName::ScheduleKmsKeyDeletion,
        StepName::UpdateSecurityGroup,
        StepName::RollingUpgrade,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepName::CreateKmsKey => "create_kms_key",
            StepName::CreateBuckets => "create_buckets",
            StepName::CreateIamRole => "create_iam_role",
            StepName::CreateSecurityGroup => "create_security_group",
            StepName::LaunchInstances => "launch_instances",
            StepName::WaitForNodes => "wait_for_nodes",
            StepName::TerminateInstances => "terminate_instances",
            StepName::DeleteSecurityGroup => "delete_security_group",
            StepName::DeleteIamRole => "delete_iam_role",
            StepName::DeleteBuckets => "delete_buckets",
            StepName::ScheduleKmsKeyDeletion => "schedule_kms_key_deletion",
            StepName::UpdateSecurityGroup => "update_security_group",
            StepName::RollingUpgrade => "rolling_upgrade",
        }
    }

    pub fn parse(raw: &str) -> Option<StepName> {
        StepName::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// What a step works on.
pub struct StepCtx {
    pub pool: PgPool,
    pub cloud: Arc<dyn Cloud>,
    pub settings: Arc<ProvisioningSettings>,
    pub cluster: ClusterRow,
    pub cref: ClusterRef,
    pub operation_id: Uuid,
}

impl StepCtx {
    pub fn owner(&self) -> Owner<'_> {
        Owner {
            cluster_id: self.cluster.id,
            org_id: self.cluster.org_id,
            region: &self.cluster.region,
            operation_id: self.operation_id,
        }
    }

    /// Who may reach port 8200, from the desired spec.
    pub fn ingress(&self) -> Ingress {
        let access = if self.cluster.public_endpoint {
            ApiAccess::Public
        } else {
            ApiAccess::AllowList(self.cluster.ip_allow_list.clone())
        };
        Ingress { vpc_id: None, access }
    }
}

/// Runs one step once.
pub async fn execute(step: StepName, ctx: &StepCtx) -> Result<Progress, StepError> {
    match step {
        StepName::CreateKmsKey => create::kms_key(ctx).await,
        StepName::CreateBuckets => create::buckets(ctx).await,
        StepName::CreateIamRole => create::iam_role(ctx).await,
        StepName::CreateSecurityGroup | StepName::UpdateSecurityGroup => {
            create::security_group(ctx).await
        }
        StepName::LaunchInstances => instances::launch(ctx).await,
        StepName::WaitForNodes => instances::wait_for_nodes(ctx).await,
        StepName::TerminateInstances => instances::terminate(ctx).await,
        StepName::DeleteSecurityGroup => teardown::security_group(ctx).await,
        StepName::DeleteIamRole => teardown::iam_role(ctx).await,
        StepName::DeleteBuckets => teardown::buckets(ctx).await,
        StepName::ScheduleKmsKeyDeletion => teardown::kms_key(ctx).await,
        // Replacing nodes image by image needs the node agent's health reporting (a later
        // issue) to keep quorum; until then the request fails visibly instead of pretending.
        StepName::RollingUpgrade => Err(StepError::permanent(
            "unsupported",
            "version upgrades of running clusters are not available yet; the cluster keeps \
             running its current version",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OperationKind, UpdatePlan};

    #[test]
    fn every_planned_step_has_an_implementation() {
        let plans = [
            OperationKind::Create.steps(UpdatePlan::default()),
            OperationKind::Delete.steps(UpdatePlan::default()),
            OperationKind::Update.steps(UpdatePlan { network: true, version: true }),
        ];
        for name in plans.iter().flatten() {
            let step = StepName::parse(name).unwrap_or_else(|| panic!("no step {name}"));
            assert_eq!(step.as_str(), *name);
        }
        assert_eq!(StepName::parse("reticulate_splines"), None);
    }
}
