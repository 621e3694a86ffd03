//! Node steps: launching instances, waiting for their agents to register, terminating them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use coffer_cloud::bootstrap::BOOTSTRAP_VERSION;
use coffer_cloud::{
    BootstrapDocument, BucketPurpose, Instance, InstanceSpec, JoinToken, Placement,
};
use rand::RngCore as _;

use super::create::{cluster_buckets, instance_profile_arn, key, security_group_id, tracked};
use super::{Progress, StepCtx};
use crate::provisioning::db::resources::{kind, state};
use crate::provisioning::db::{clusters, images, resources};
use crate::provisioning::error::StepError;
use crate::service::hash_token;
use crate::store::nodes;

/// Prefix of join tokens, so a leaked one is recognisable.
const JOIN_TOKEN_PREFIX: &str = "cfj_";
/// The API port every node serves.
const API_PORT: u16 = 8200;
const ROOT_VOLUME_GIB: i32 = 20;

/// Instance type and data volume size per cluster size.
pub fn machine(size: &str) -> Option<(&'static str, i32)> {
    match size {
        "small" => Some(("t3.medium", 20)),
        "medium" => Some(("m6i.large", 50)),
        "large" => Some(("m6i.xlarge", 100)),
        _ => None,
    }
}

fn new_join_token() -> JoinToken {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    JoinToken::new(format!("{JOIN_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

fn node_count(ctx: &StepCtx) -> u32 {
    u32::try_from(ctx.cluster.node_count).unwrap_or(0)
}

async fn record_instance(ctx: &StepCtx, index: u32, inst: &Instance) -> Result<(), StepError> {
    let role = index.to_string();
    resources::record(&ctx.pool, ctx.owner(), kind::INSTANCE, &inst.instance_id, None, Some(&role))
        .await?;
    nodes::bind_join_tokens(
        &ctx.pool,
        ctx.cluster.id,
        ctx.operation_id,
        index as i32,
        &inst.instance_id,
    )
    .await?;
    Ok(())
}

pub async fn launch(ctx: &StepCtx) -> Result<Progress, StepError> {
    let c = &ctx.cluster;
    let (instance_type, data_gib) = machine(&c.size).ok_or_else(|| {
        StepError::permanent("invalid_spec", format!("unknown cluster size {:?}", c.size))
    })?;
    let image_id = images::image_for(&ctx.pool, &c.version, &c.region).await?.ok_or_else(|| {
        StepError::permanent(
            "image_unavailable",
            format!("release {} is not available in region {} yet", c.version, c.region),
        )
    })?;
    let (_, key_arn) = key(ctx).await?;
    let buckets = cluster_buckets(ctx).await?;
    let bucket = |p: BucketPurpose| {
        buckets.iter().find(|b| b.purpose == p).map(|b| b.name.clone()).unwrap_or_default()
    };
    let profile_arn = instance_profile_arn(ctx).await?;
    let sg_id = security_group_id(ctx, false).await?;
    // Instances an interrupted earlier try launched: adopt them instead of launching again.
    let existing = ctx.cloud.describe_instances(&ctx.cref).await?;
    for index in 0..node_count(ctx) {
        let found = existing.iter().find(|i| i.node_index == Some(index) && i.state.is_live());
        if let Some(inst) = found {
            record_instance(ctx, index, inst).await?;
            continue;
        }
        let token = new_join_token();
        nodes::insert_join_token(
            &ctx.pool,
            &hash_token(token.expose()),
            c.id,
            ctx.operation_id,
            index as i32,
            i64::try_from(ctx.settings.join_token_ttl_secs).unwrap_or(i64::MAX),
        )
        .await?;
        let spec = InstanceSpec {
            operation_id: ctx.operation_id.to_string(),
            node_index: index,
            image_id: image_id.clone(),
            instance_type: instance_type.to_owned(),
            security_group_id: sg_id.clone(),
            instance_profile_arn: profile_arn.clone(),
            kms_key_arn: key_arn.clone(),
            root_volume_gib: ROOT_VOLUME_GIB,
            data_volume_gib: data_gib,
            placement: Placement::DefaultVpc,
            bootstrap: BootstrapDocument {
                version: BOOTSTRAP_VERSION,
                cluster_id: c.id,
                org_id: c.org_id,
                node_index: index,
                region: c.region.clone(),
                kms_key_arn: key_arn.clone(),
                snapshot_bucket: bucket(BucketPurpose::Snapshots),
                audit_bucket: bucket(BucketPurpose::Audit),
                control_plane_url: ctx.settings.control_plane_url.clone(),
                control_plane_ca_pem: ctx.settings.control_plane_ca_pem.clone(),
                msp_public_key: ctx.settings.msp_public_key.clone(),
                join_token: Some(token),
            },
        };
        let inst = ctx.cloud.ensure_instance(&ctx.cref, &spec).await?;
        record_instance(ctx, index, &inst).await?;
    }
    Ok(Progress::Done)
}

/// Done once every node slot has registered from the instance tracked for it.
pub async fn wait_for_nodes(ctx: &StepCtx) -> Result<Progress, StepError> {
    let instances = tracked(ctx, kind::INSTANCE).await?;
    let registered = nodes::list_nodes(&ctx.pool, ctx.cluster.id).await?;
    let want = node_count(ctx);
    let ready = (0..want)
        .filter(|index| {
            let role = index.to_string();
            instances.iter().any(|inst| {
                inst.role.as_deref() == Some(role.as_str())
                    && registered
                        .iter()
                        .any(|n| n.node_index == *index as i32 && n.instance_id == inst.resource_id)
            })
        })
        .count();
    if ready < want as usize {
        return Ok(Progress::Waiting(format!(
            "waiting for nodes to report the cluster initialised ({ready} of {want} registered)"
        )));
    }
    let live = ctx.cloud.describe_instances(&ctx.cref).await?;
    let first = live.iter().filter(|i| i.state.is_live()).min_by_key(|i| i.node_index);
    if let Some(ip) = first.and_then(|i| i.public_ip.as_deref().or(i.private_ip.as_deref())) {
        clusters::set_address(&ctx.pool, ctx.cluster.id, &format!("https://{ip}:{API_PORT}"))
            .await?;
    }
    Ok(Progress::Done)
}

/// Terminates every instance of the cluster; done once AWS lists none (shutting-down ones
/// included: their interfaces still pin the security group) and the volumes freed by the last
/// ones were collected.
pub async fn terminate(ctx: &StepCtx) -> Result<Progress, StepError> {
    let remaining = ctx.cloud.describe_instances(&ctx.cref).await?;
    // Also called once after the last instance is gone: deletes volumes detached meanwhile.
    ctx.cloud.terminate_instances(&ctx.cref).await?;
    if remaining.is_empty() {
        resources::set_kind_state(&ctx.pool, ctx.cluster.id, kind::INSTANCE, state::DELETED, None)
            .await?;
        return Ok(Progress::Done);
    }
    Ok(Progress::Waiting(format!("waiting for {} instance(s) to terminate", remaining.len())))
}
