//! IAM: the node role and its instance profile. The only module that touches `aws_sdk_iam` types.
//!
//! Both live under the `/coffer/` path so listing for the sweeper never walks the customer's
//! (or our account's) other roles.

use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;

use super::sdk_error::{ignore_not_found, BuildResultExt, SdkResultExt};
use crate::cluster::{
    ClusterRef, IAM_PATH, MANAGED_BY_VALUE, TAG_CLUSTER_ID, TAG_MANAGED_BY, TAG_ORG_ID,
};
use crate::error::{CloudError, ErrorKind};
use crate::policy::{node_role_policy, node_trust_policy};
use crate::resources::{Bucket, NodeRole, ResourceKind, TaggedResource};

/// The inline policy's name on the node role.
pub const NODE_POLICY_NAME: &str = "coffer-node";

fn tags(c: &ClusterRef, name: &str) -> Result<Vec<Tag>, CloudError> {
    c.tags(name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().built("iam:TagRole"))
        .collect()
}

pub(super) async fn ensure_node_role(
    iam: &Client,
    c: &ClusterRef,
    kms_key_arn: &str,
    buckets: &[Bucket],
) -> Result<NodeRole, CloudError> {
    let name = c.node_role_name();
    let trust = node_trust_policy().to_string();
    let created = iam
        .create_role()
        .role_name(&name)
        .path(IAM_PATH)
        .description(format!("Coffer nodes of cluster {}", c.id()))
        .assume_role_policy_document(&trust)
        .set_tags(Some(tags(c, &name)?))
        .send()
        .await
        .op("iam:CreateRole");
    let role_arn = match created {
        Ok(out) => out.role.map(|r| r.arn().to_owned()),
        Err(e) if e.has_code("EntityAlreadyExists") => {
            // Converge a role left by an earlier run: trust and tags may have drifted.
            iam.update_assume_role_policy()
                .role_name(&name)
                .policy_document(&trust)
                .send()
                .await
                .op("iam:UpdateAssumeRolePolicy")?;
            iam.tag_role()
                .role_name(&name)
                .set_tags(Some(tags(c, &name)?))
                .send()
                .await
                .op("iam:TagRole")?;
            let out = iam.get_role().role_name(&name).send().await.op("iam:GetRole")?;
            out.role.map(|r| r.arn().to_owned())
        }
        Err(e) => return Err(e),
    };
    let role_arn =
        role_arn.ok_or_else(|| CloudError::unexpected("iam:GetRole", "no role in response"))?;

    iam.put_role_policy()
        .role_name(&name)
        .policy_name(NODE_POLICY_NAME)
        .policy_document(node_role_policy(kms_key_arn, buckets).to_string())
        .send()
        .await
        .op("iam:PutRolePolicy")?;

    let profile_arn = ensure_profile(iam, c, &name).await?;
    Ok(NodeRole {
        role_name: name.clone(),
        role_arn,
        instance_profile_name: name,
        instance_profile_arn: profile_arn,
    })
}

/// The instance profile of the role's name, holding exactly that role.
async fn ensure_profile(iam: &Client, c: &ClusterRef, name: &str) -> Result<String, CloudError> {
    let created = iam
        .create_instance_profile()
        .instance_profile_name(name)
        .path(IAM_PATH)
        .set_tags(Some(tags(c, name)?))
        .send()
        .await
        .op("iam:CreateInstanceProfile");
    match created {
        Ok(_) => {}
        Err(e) if e.has_code("EntityAlreadyExists") => {
            let tags = tags(c, name)?;
            iam.tag_instance_profile()
                .instance_profile_name(name)
                .set_tags(Some(tags))
                .send()
                .await
                .op("iam:TagInstanceProfile")?;
        }
        Err(e) => return Err(e),
    }
    let out = iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .op("iam:GetInstanceProfile")
        .map_err(propagating)?;
    let profile = out.instance_profile.ok_or_else(|| {
        CloudError::unexpected("iam:GetInstanceProfile", "no profile in response")
    })?;
    let mut has_role = false;
    for role in profile.roles() {
        if role.role_name() == name {
            has_role = true;
        } else {
            // A profile holds one role; anything else there was not put by us.
            iam.remove_role_from_instance_profile()
                .instance_profile_name(name)
                .role_name(role.role_name())
                .send()
                .await
                .op("iam:RemoveRoleFromInstanceProfile")?;
        }
    }
    if !has_role {
        let r = iam
            .add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(name)
            .send()
            .await;
        match r.op("iam:AddRoleToInstanceProfile") {
            Ok(_) => {}
            // A concurrent run added it between our read and write.
            Err(e) if e.has_code("LimitExceeded") => {}
            Err(e) => return Err(propagating(e)),
        }
    }
    Ok(profile.arn().to_owned())
}

/// IAM is eventually consistent: a role or profile created a moment ago can read as missing.
/// Inside an ensure that is a reason to retry, not an answer.
fn propagating(e: CloudError) -> CloudError {
    if e.is_not_found() {
        e.with_kind(ErrorKind::Transient)
    } else {
        e
    }
}

pub(super) async fn delete_node_role(iam: &Client, c: &ClusterRef) -> Result<(), CloudError> {
    let name = c.node_role_name();
    let profile = ignore_not_found(
        iam.get_instance_profile()
            .instance_profile_name(&name)
            .send()
            .await
            .op("iam:GetInstanceProfile"),
    )?;
    if let Some(profile) = profile.and_then(|p| p.instance_profile) {
        for role in profile.roles() {
            let r = iam
                .remove_role_from_instance_profile()
                .instance_profile_name(&name)
                .role_name(role.role_name())
                .send()
                .await;
            ignore_not_found(r.op("iam:RemoveRoleFromInstanceProfile"))?;
        }
        let r = iam.delete_instance_profile().instance_profile_name(&name).send().await;
        ignore_not_found(r.op("iam:DeleteInstanceProfile"))?;
    }

    // A role cannot be deleted while it has policies; list both kinds in case of manual edits.
    let mut inline = iam.list_role_policies().role_name(&name).into_paginator().items().send();
    let mut inline_names = Vec::new();
    while let Some(p) = inline.next().await {
        match ignore_not_found(p.op("iam:ListRolePolicies"))? {
            Some(p) => inline_names.push(p),
            None => return Ok(()),
        }
    }
    for policy in inline_names {
        let r = iam.delete_role_policy().role_name(&name).policy_name(policy).send().await;
        ignore_not_found(r.op("iam:DeleteRolePolicy"))?;
    }
    let mut attached =
        iam.list_attached_role_policies().role_name(&name).into_paginator().items().send();
    let mut attached_arns = Vec::new();
    while let Some(p) = attached.next().await {
        match ignore_not_found(p.op("iam:ListAttachedRolePolicies"))? {
            Some(p) => attached_arns.extend(p.policy_arn),
            None => return Ok(()),
        }
    }
    for arn in attached_arns {
        let r = iam.detach_role_policy().role_name(&name).policy_arn(arn).send().await;
        ignore_not_found(r.op("iam:DetachRolePolicy"))?;
    }
    ignore_not_found(iam.delete_role().role_name(&name).send().await.op("iam:DeleteRole"))?;
    Ok(())
}

fn tagged(kind: ResourceKind, id: &str, tags: &[(String, String)]) -> Option<TaggedResource> {
    let tag = |key: &str| tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    (tag(TAG_MANAGED_BY).as_deref() == Some(MANAGED_BY_VALUE)).then(|| TaggedResource {
        kind,
        id: id.to_owned(),
        region: None,
        cluster_id: tag(TAG_CLUSTER_ID),
        org_id: tag(TAG_ORG_ID),
    })
}

/// Coffer roles and instance profiles (global: no region).
pub(super) async fn list_tagged(iam: &Client) -> Result<Vec<TaggedResource>, CloudError> {
    let mut out = Vec::new();
    let mut roles = iam.list_roles().path_prefix(IAM_PATH).into_paginator().items().send();
    let mut role_names = Vec::new();
    while let Some(role) = roles.next().await {
        role_names.push(role.op("iam:ListRoles")?.role_name().to_owned());
    }
    for name in role_names {
        let mut pages = iam.list_role_tags().role_name(&name).into_paginator().items().send();
        let mut tags = Vec::new();
        while let Some(t) = pages.next().await {
            match ignore_not_found(t.op("iam:ListRoleTags"))? {
                Some(t) => tags.push((t.key().to_owned(), t.value().to_owned())),
                None => break,
            }
        }
        out.extend(tagged(ResourceKind::IamRole, &name, &tags));
    }

    let mut profiles =
        iam.list_instance_profiles().path_prefix(IAM_PATH).into_paginator().items().send();
    let mut profile_names = Vec::new();
    while let Some(p) = profiles.next().await {
        profile_names.push(p.op("iam:ListInstanceProfiles")?.instance_profile_name().to_owned());
    }
    for name in profile_names {
        // GetInstanceProfile carries the tags (and moto lacks ListInstanceProfileTags).
        let got = iam.get_instance_profile().instance_profile_name(&name).send().await;
        let Some(profile) =
            ignore_not_found(got.op("iam:GetInstanceProfile"))?.and_then(|p| p.instance_profile)
        else {
            continue;
        };
        let tags: Vec<(String, String)> =
            profile.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        out.extend(tagged(ResourceKind::InstanceProfile, &name, &tags));
    }
    Ok(out)
}
