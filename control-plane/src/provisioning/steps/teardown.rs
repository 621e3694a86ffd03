//! Delete steps after the instances are gone: security group, node role, buckets, key.

use coffer_cloud::{BucketPurpose, ClusterRef};
use time::OffsetDateTime;

use super::create::tracked;
use super::{Progress, StepCtx};
use crate::provisioning::db::resources::{self, kind, state};
use crate::provisioning::error::StepError;

pub async fn security_group(ctx: &StepCtx) -> Result<Progress, StepError> {
    // Transient while terminated instances still hold their interfaces; the runner retries.
    ctx.cloud.delete_security_group(&ctx.cref).await?;
    resources::set_kind_state(
        &ctx.pool,
        ctx.cluster.id,
        kind::SECURITY_GROUP,
        state::DELETED,
        None,
    )
    .await?;
    Ok(Progress::Done)
}

pub async fn iam_role(ctx: &StepCtx) -> Result<Progress, StepError> {
    ctx.cloud.delete_node_role(&ctx.cref).await?;
    for k in [kind::INSTANCE_PROFILE, kind::IAM_ROLE] {
        resources::set_kind_state(&ctx.pool, ctx.cluster.id, k, state::DELETED, None).await?;
    }
    Ok(Progress::Done)
}

/// Keeps the buckets (snapshots and audit logs outlive the cluster for the retention period);
/// the engine's purger deletes them once it ends. With no retention they go at once.
pub async fn buckets(ctx: &StepCtx) -> Result<Progress, StepError> {
    let days = ctx.settings.bucket_retention_days;
    if days == 0 {
        for purpose in BucketPurpose::ALL {
            ctx.cloud.delete_bucket(&ctx.cref, purpose).await?;
        }
        resources::set_kind_state(&ctx.pool, ctx.cluster.id, kind::BUCKET, state::DELETED, None)
            .await?;
    } else {
        let until = OffsetDateTime::now_utc() + time::Duration::days(i64::from(days));
        resources::set_kind_state(
            &ctx.pool,
            ctx.cluster.id,
            kind::BUCKET,
            state::RETAINED,
            Some(until),
        )
        .await?;
    }
    Ok(Progress::Done)
}

pub async fn kms_key(ctx: &StepCtx) -> Result<Progress, StepError> {
    let window = ctx.settings.kms_deletion_window_days;
    // Keys we recorded, plus any other key tagged for this cluster: `kms:CreateKey` has no
    // idempotency token, so a lost answer retried by the SDK can leave a second, untracked key.
    // Never the alias alone: `ensure_kms_key` would create a key just to delete it.
    let mut keys: Vec<String> =
        tracked(ctx, kind::KMS_KEY).await?.into_iter().map(|k| k.resource_id).collect();
    for found in ctx.cloud.list_cluster_kms_keys(&ctx.cref).await? {
        if !keys.contains(&found) {
            // Tracked first, so a crash before scheduling still leaves it on record.
            resources::record(&ctx.pool, ctx.owner(), kind::KMS_KEY, &found, None, None).await?;
            keys.push(found);
        }
    }
    for key in keys {
        ctx.cloud.schedule_kms_key_deletion(&ctx.cref, &key, window).await?;
        resources::set_state(&ctx.pool, ctx.cluster.id, kind::KMS_KEY, &key, state::DELETING)
            .await?;
    }
    Ok(Progress::Done)
}

/// Purges a retained bucket whose retention ended (called by the engine's purger).
pub async fn purge_bucket(
    cloud: &dyn coffer_cloud::Cloud,
    cref: &ClusterRef,
    purpose: Option<&str>,
) -> Result<(), StepError> {
    let purpose = purpose.and_then(BucketPurpose::parse).ok_or_else(|| {
        StepError::permanent("internal", "retained bucket without a known purpose")
    })?;
    cloud.delete_bucket(cref, purpose).await?;
    Ok(())
}
