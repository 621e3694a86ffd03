//! Create steps for the cluster's foundations: key, buckets, node role, security group.
//!
//! Later steps read what earlier ones recorded; if a record is missing (an operator cleaned the
//! table, or an older engine version ran the earlier step) they fall back to the idempotent
//! `ensure_*` call, which finds the resource by name, instead of failing.

use coffer_cloud::{Bucket, BucketPurpose, KmsKey, NodeRole};

use super::{Progress, StepCtx};
use crate::provisioning::db::resources::{self, kind, state, ResourceRow};
use crate::provisioning::error::StepError;

/// Present resources of one kind.
pub(super) async fn tracked(ctx: &StepCtx, k: &str) -> Result<Vec<ResourceRow>, StepError> {
    let mut rows = resources::list(&ctx.pool, ctx.cluster.id).await?;
    rows.retain(|r| r.kind == k && r.state == state::PRESENT);
    Ok(rows)
}

async fn record_key(ctx: &StepCtx, key: &KmsKey) -> Result<(), StepError> {
    resources::record(&ctx.pool, ctx.owner(), kind::KMS_KEY, &key.key_id, Some(&key.arn), None)
        .await?;
    Ok(())
}

/// The node role's ARN if the role step already ran, so re-applying the key policy keeps it.
async fn node_role_arn(ctx: &StepCtx) -> Result<Option<String>, StepError> {
    Ok(tracked(ctx, kind::IAM_ROLE).await?.into_iter().find_map(|r| r.arn))
}

pub async fn kms_key(ctx: &StepCtx) -> Result<Progress, StepError> {
    let role = node_role_arn(ctx).await?;
    let key = ctx.cloud.ensure_kms_key(&ctx.cref, role.as_deref()).await?;
    record_key(ctx, &key).await?;
    Ok(Progress::Done)
}

/// `(key id, key ARN)` of the cluster key.
pub(super) async fn key(ctx: &StepCtx) -> Result<(String, String), StepError> {
    if let Some(row) = tracked(ctx, kind::KMS_KEY).await?.into_iter().next() {
        if let Some(arn) = row.arn {
            return Ok((row.resource_id, arn));
        }
    }
    let role = node_role_arn(ctx).await?;
    let key = ctx.cloud.ensure_kms_key(&ctx.cref, role.as_deref()).await?;
    record_key(ctx, &key).await?;
    Ok((key.key_id, key.arn))
}

async fn ensure_bucket(
    ctx: &StepCtx,
    purpose: BucketPurpose,
    key_arn: &str,
) -> Result<Bucket, StepError> {
    let bucket = ctx.cloud.ensure_bucket(&ctx.cref, purpose, key_arn).await?;
    resources::record(
        &ctx.pool,
        ctx.owner(),
        kind::BUCKET,
        &bucket.name,
        Some(&bucket.arn),
        Some(purpose.as_str()),
    )
    .await?;
    Ok(bucket)
}

pub async fn buckets(ctx: &StepCtx) -> Result<Progress, StepError> {
    let (_, key_arn) = key(ctx).await?;
    for purpose in BucketPurpose::ALL {
        ensure_bucket(ctx, purpose, &key_arn).await?;
    }
    Ok(Progress::Done)
}

/// The cluster's buckets, snapshots first.
pub(super) async fn cluster_buckets(ctx: &StepCtx) -> Result<Vec<Bucket>, StepError> {
    let rows = tracked(ctx, kind::BUCKET).await?;
    let mut out = Vec::with_capacity(BucketPurpose::ALL.len());
    for purpose in BucketPurpose::ALL {
        let found = rows.iter().find(|r| r.role.as_deref() == Some(purpose.as_str()));
        match found {
            Some(ResourceRow { resource_id, arn: Some(arn), .. }) => {
                out.push(Bucket { purpose, name: resource_id.clone(), arn: arn.clone() });
            }
            _ => {
                let (_, key_arn) = key(ctx).await?;
                out.push(ensure_bucket(ctx, purpose, &key_arn).await?);
            }
        }
    }
    Ok(out)
}

async fn ensure_role(ctx: &StepCtx) -> Result<NodeRole, StepError> {
    let (_, key_arn) = key(ctx).await?;
    let buckets = cluster_buckets(ctx).await?;
    let role = ctx.cloud.ensure_node_role(&ctx.cref, &key_arn, &buckets).await?;
    let owner = ctx.owner();
    resources::record(
        &ctx.pool,
        owner,
        kind::IAM_ROLE,
        &role.role_name,
        Some(&role.role_arn),
        None,
    )
    .await?;
    resources::record(
        &ctx.pool,
        owner,
        kind::INSTANCE_PROFILE,
        &role.instance_profile_name,
        Some(&role.instance_profile_arn),
        None,
    )
    .await?;
    Ok(role)
}

pub async fn iam_role(ctx: &StepCtx) -> Result<Progress, StepError> {
    let role = ensure_role(ctx).await?;
    // The key policy names the node role as a user; it can only do so once the role exists.
    let key = ctx.cloud.ensure_kms_key(&ctx.cref, Some(&role.role_arn)).await?;
    record_key(ctx, &key).await?;
    Ok(Progress::Done)
}

/// The instance profile ARN for launches.
pub(super) async fn instance_profile_arn(ctx: &StepCtx) -> Result<String, StepError> {
    if let Some(arn) = tracked(ctx, kind::INSTANCE_PROFILE).await?.into_iter().find_map(|r| r.arn) {
        return Ok(arn);
    }
    Ok(ensure_role(ctx).await?.instance_profile_arn)
}

/// Creates the group or rewrites its rules to match the desired spec (create and update).
pub async fn security_group(ctx: &StepCtx) -> Result<Progress, StepError> {
    security_group_id(ctx, true).await.map(|_| Progress::Done)
}

/// The group id; with `converge` the rules are rewritten even when the group is tracked.
pub(super) async fn security_group_id(ctx: &StepCtx, converge: bool) -> Result<String, StepError> {
    if !converge {
        if let Some(row) = tracked(ctx, kind::SECURITY_GROUP).await?.into_iter().next() {
            return Ok(row.resource_id);
        }
    }
    let sg = ctx.cloud.ensure_security_group(&ctx.cref, &ctx.ingress()).await?;
    resources::record(
        &ctx.pool,
        ctx.owner(),
        kind::SECURITY_GROUP,
        &sg.group_id,
        None,
        Some(&sg.vpc_id),
    )
    .await?;
    Ok(sg.group_id)
}
