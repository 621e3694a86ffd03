//! KMS: the cluster key. The only module that touches `aws_sdk_kms` types.

use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
use aws_sdk_kms::Client;

use super::sdk_error::{ignore_not_found, skip_unreadable, BuildResultExt, SdkResultExt};
use crate::cluster::{ClusterRef, MANAGED_BY_VALUE, TAG_CLUSTER_ID, TAG_MANAGED_BY, TAG_ORG_ID};
use crate::error::{CloudError, ErrorKind};
use crate::policy::kms_key_policy;
use crate::resources::{KmsKey, ResourceKind, TaggedResource};

/// Key policies have exactly one name.
const POLICY_NAME: &str = "default";

/// AWS accepts pending windows of 7 to 30 days.
const DELETION_WINDOW: std::ops::RangeInclusive<i32> = 7..=30;

fn tags(c: &ClusterRef) -> Result<Vec<Tag>, CloudError> {
    c.tags(&c.kms_alias())
        .into_iter()
        .map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().built("kms:TagResource"))
        .collect()
}

struct Found {
    key_id: String,
    arn: String,
    state: Option<KeyState>,
}

async fn describe(kms: &Client, key: &str) -> Result<Option<Found>, CloudError> {
    let out = ignore_not_found(kms.describe_key().key_id(key).send().await.op("kms:DescribeKey"))?;
    let Some(meta) = out.and_then(|o| o.key_metadata) else { return Ok(None) };
    let arn = meta
        .arn()
        .ok_or_else(|| CloudError::unexpected("kms:DescribeKey", "key without ARN"))?
        .to_owned();
    Ok(Some(Found { key_id: meta.key_id().to_owned(), arn, state: meta.key_state().cloned() }))
}

pub(super) async fn ensure_key(
    kms: &Client,
    c: &ClusterRef,
    admin_arn: &str,
    node_role_arn: Option<&str>,
) -> Result<KmsKey, CloudError> {
    let alias = c.kms_alias();
    let policy = kms_key_policy(admin_arn, node_role_arn, &c.region).to_string();
    let key = match describe(kms, &alias).await? {
        Some(found) => {
            if found.state == Some(KeyState::PendingDeletion) {
                // The cluster is wanted again before the window closed: revive rather than orphan.
                kms.cancel_key_deletion()
                    .key_id(&found.key_id)
                    .send()
                    .await
                    .op("kms:CancelKeyDeletion")?;
                kms.enable_key().key_id(&found.key_id).send().await.op("kms:EnableKey")?;
            }
            put_policy(kms, &found.key_id, &policy, node_role_arn.is_some()).await?;
            kms.tag_resource()
                .key_id(&found.key_id)
                .set_tags(Some(tags(c)?))
                .send()
                .await
                .op("kms:TagResource")?;
            found
        }
        None => create(kms, c, &alias, &policy, node_role_arn.is_some()).await?,
    };
    kms.enable_key_rotation().key_id(&key.key_id).send().await.op("kms:EnableKeyRotation")?;
    Ok(KmsKey { key_id: key.key_id, arn: key.arn, alias })
}

/// A policy naming a role IAM has only just created is refused until the role propagates.
fn policy_error(e: CloudError, names_new_role: bool) -> CloudError {
    if names_new_role && e.has_code("MalformedPolicyDocumentException") {
        e.with_kind(ErrorKind::Transient)
    } else {
        e
    }
}

async fn put_policy(
    kms: &Client,
    key_id: &str,
    policy: &str,
    names_role: bool,
) -> Result<(), CloudError> {
    kms.put_key_policy()
        .key_id(key_id)
        .policy_name(POLICY_NAME)
        .policy(policy)
        .send()
        .await
        .op("kms:PutKeyPolicy")
        .map_err(|e| policy_error(e, names_role))?;
    Ok(())
}

async fn create(
    kms: &Client,
    c: &ClusterRef,
    alias: &str,
    policy: &str,
    names_role: bool,
) -> Result<Found, CloudError> {
    // CreateKey has no idempotency token, so the SDK must not retry it blindly: a retry after a
    // lost answer mints a second key and leaks the first. One attempt here; on a transient
    // failure we look for the key the lost answer may hide before giving up.
    let sent =
        kms.create_key()
            .description(format!("Coffer cluster {}", c.id()))
            .key_usage(KeyUsageType::EncryptDecrypt)
            .key_spec(KeySpec::SymmetricDefault)
            .policy(policy)
            .set_tags(Some(tags(c)?))
            .customize()
            .config_override(aws_sdk_kms::config::Builder::default().retry_config(
                aws_sdk_kms::config::retry::RetryConfig::standard().with_max_attempts(1),
            ))
            .send()
            .await
            .op("kms:CreateKey")
            .map_err(|e| policy_error(e, names_role));
    let (key_id, arn) = match sent {
        Ok(created) => {
            let meta = created
                .key_metadata
                .ok_or_else(|| CloudError::unexpected("kms:CreateKey", "no key metadata"))?;
            let arn = meta
                .arn()
                .ok_or_else(|| CloudError::unexpected("kms:CreateKey", "key without ARN"))?;
            (meta.key_id().to_owned(), arn.to_owned())
        }
        Err(e) if e.kind() == ErrorKind::Transient => match adopt_unaliased(kms, c).await? {
            Some(found) => (found.key_id, found.arn),
            None => return Err(e),
        },
        Err(e) => return Err(e),
    };
    match kms
        .create_alias()
        .alias_name(alias)
        .target_key_id(&key_id)
        .send()
        .await
        .op("kms:CreateAlias")
    {
        Ok(_) => Ok(Found { key_id, arn, state: Some(KeyState::Enabled) }),
        Err(e) if e.has_code("AlreadyExistsException") => {
            let winner = describe(kms, alias).await?.ok_or_else(|| {
                CloudError::new(ErrorKind::Transient, "kms:DescribeKey", None, "alias vanished")
            })?;
            // The alias may be ours already: its CreateAlias answer was lost and the SDK retried.
            // Only a key that lost the alias to a concurrent run is retired.
            if winner.key_id != key_id {
                tracing::warn!(cluster = %c.cluster_id, key_id, "alias taken concurrently; retiring the duplicate key");
                schedule(kms, &key_id, *DELETION_WINDOW.start()).await?;
            }
            Ok(winner)
        }
        Err(e) => Err(e),
    }
}

/// After a CreateKey whose answer was lost: the Enabled keys tagged for this cluster (the alias
/// does not exist, or we would not be creating). Adopts one and retires any others. This scans
/// the region's keys, which is why it runs only on that failure path.
async fn adopt_unaliased(kms: &Client, c: &ClusterRef) -> Result<Option<Found>, CloudError> {
    let mut mine =
        tagged_for(kms, c).await?.into_iter().filter(|f| f.state == Some(KeyState::Enabled));
    let adopted = mine.next();
    for extra in mine {
        tracing::warn!(cluster = %c.cluster_id, key_id = extra.key_id, "retiring a duplicate key left by a lost CreateKey answer");
        schedule(kms, &extra.key_id, *DELETION_WINDOW.start()).await?;
    }
    Ok(adopted)
}

/// Repeats a read that failed transiently. The scan below makes two reads per key in the
/// region; on a lossy network one unanswered read among hundreds would abort it, and after a
/// lost CreateKey answer an aborted adoption scan means the retried step mints a second key.
async fn read_retrying<T, F, Fut>(mut read: F) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CloudError>>,
{
    const TRIES: u32 = 5;
    let mut tried = 1;
    loop {
        match read().await {
            Err(e) if e.kind() == ErrorKind::Transient && tried < TRIES => tried += 1,
            done => return done,
        }
    }
}

/// Every key tagged for this cluster, in any state. One scan of the region's keys.
async fn tagged_for(kms: &Client, c: &ClusterRef) -> Result<Vec<Found>, CloudError> {
    let mut keys = kms.list_keys().into_paginator().items().send();
    let mut mine = Vec::new();
    while let Some(entry) = keys.next().await {
        let entry = entry.op("kms:ListKeys")?;
        let Some(key_id) = entry.key_id() else { continue };
        let tags = read_retrying(|| tag_map(kms, key_id)).await;
        let Some(tags) = skip_unreadable(tags)? else { continue };
        if tag(&tags, TAG_CLUSTER_ID) != Some(c.id().as_str()) {
            continue;
        }
        if let Some(found) = read_retrying(|| describe(kms, key_id)).await? {
            mine.push(found);
        }
    }
    Ok(mine)
}

/// The cluster's keys not already pending deletion (see `Cloud::list_cluster_kms_keys`).
pub(super) async fn cluster_keys(kms: &Client, c: &ClusterRef) -> Result<Vec<String>, CloudError> {
    Ok(tagged_for(kms, c)
        .await?
        .into_iter()
        .filter(|f| {
            !matches!(f.state, Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion))
        })
        .map(|f| f.key_id)
        .collect())
}

async fn schedule(kms: &Client, key_id: &str, days: i32) -> Result<(), CloudError> {
    let r = kms.schedule_key_deletion().key_id(key_id).pending_window_in_days(days).send().await;
    match r.op("kms:ScheduleKeyDeletion") {
        Ok(_) => Ok(()),
        // Already gone. (Already pending is checked by the caller: KMS calls it an invalid state.)
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

async fn tag_map(kms: &Client, key_id: &str) -> Result<Vec<(String, String)>, CloudError> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = kms
            .list_resource_tags()
            .key_id(key_id)
            .set_marker(marker)
            .send()
            .await
            .op("kms:ListResourceTags")?;
        out.extend(page.tags().iter().map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned())));
        match (page.truncated, page.next_marker) {
            (true, Some(m)) => marker = Some(m),
            _ => return Ok(out),
        }
    }
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub(super) async fn schedule_deletion(
    kms: &Client,
    c: &ClusterRef,
    key_id: &str,
    days: i32,
) -> Result<(), CloudError> {
    if !DELETION_WINDOW.contains(&days) {
        return Err(CloudError::invalid(
            "kms:ScheduleKeyDeletion",
            format!("{days} days is outside 7..=30"),
        ));
    }
    let Some(found) = describe(kms, key_id).await? else { return Ok(()) };
    if matches!(found.state, Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)) {
        return Ok(());
    }
    let tags = tag_map(kms, &found.key_id).await?;
    if tag(&tags, TAG_CLUSTER_ID) != Some(c.id().as_str()) {
        return Err(CloudError::invalid(
            "kms:ScheduleKeyDeletion",
            format!("key {key_id} is not tagged as belonging to cluster {}", c.id()),
        ));
    }
    schedule(kms, &found.key_id, days).await
}

/// Coffer keys in the client's region, skipping keys already pending deletion.
pub(super) async fn list_tagged(
    kms: &Client,
    region: &str,
) -> Result<Vec<TaggedResource>, CloudError> {
    let mut keys = kms.list_keys().into_paginator().items().send();
    let mut out = Vec::new();
    while let Some(entry) = keys.next().await {
        let entry = entry.op("kms:ListKeys")?;
        let Some(key_id) = entry.key_id() else { continue };
        let tags = match skip_unreadable(tag_map(kms, key_id).await)? {
            Some(t) => t,
            None => continue,
        };
        if tag(&tags, TAG_MANAGED_BY) != Some(MANAGED_BY_VALUE) {
            continue;
        }
        match describe(kms, key_id).await? {
            Some(f)
                if !matches!(
                    f.state,
                    Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
                ) => {}
            _ => continue,
        }
        out.push(TaggedResource {
            kind: ResourceKind::KmsKey,
            id: key_id.to_owned(),
            region: Some(region.to_owned()),
            cluster_id: tag(&tags, TAG_CLUSTER_ID).map(str::to_owned),
            org_id: tag(&tags, TAG_ORG_ID).map(str::to_owned),
        });
    }
    Ok(out)
}
