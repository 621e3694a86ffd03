//! Raw AWS SDK clients against moto, to check the engine's work by describing resources
//! directly (never through coffer-cloud, the code under test), and tag-based counts that
//! detect both leaks and duplicates.

use std::collections::{BTreeMap, HashMap};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_ec2::types::{Filter, Instance};
use coffer_cloud::{BootstrapDocument, ClusterRef};

/// The principal the control plane under test runs as (it administers every cluster key).
pub const ADMIN_ARN: &str = "arn:aws:iam::123456789012:role/coffer-control-plane";
pub const TAG_CLUSTER: &str = "coffer:cluster-id";

/// SDK clients for one region (IAM is global).
pub struct Aws {
    pub region: String,
    pub ec2: aws_sdk_ec2::Client,
    pub kms: aws_sdk_kms::Client,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
}

async fn sdk(endpoint: &str, region: &str) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .http_client(http)
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await
}

impl Aws {
    pub async fn new(endpoint: &str, region: &str) -> Aws {
        let conf = sdk(endpoint, region).await;
        let s3 = aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build();
        Aws {
            region: region.to_owned(),
            ec2: aws_sdk_ec2::Client::new(&conf),
            kms: aws_sdk_kms::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(s3),
            iam: aws_sdk_iam::Client::new(&sdk(endpoint, "us-east-1").await),
        }
    }

    /// A public image moto ships in this region, for the release catalog.
    pub async fn any_image(&self) -> String {
        let images = self.ec2.describe_images().owners("amazon").send().await.unwrap();
        images
            .images()
            .iter()
            .find(|i| i.root_device_name().is_some())
            .and_then(|i| i.image_id())
            .expect("moto ships public images")
            .to_owned()
    }

    fn cluster_filter(c: &ClusterRef) -> Filter {
        Filter::builder().name(format!("tag:{TAG_CLUSTER}")).values(c.id()).build()
    }

    /// The cluster's instances in any state but `terminated`.
    pub async fn instances(&self, c: &ClusterRef) -> Vec<aws_sdk_ec2::types::Instance> {
        let states = Filter::builder()
            .name("instance-state-name")
            .values("pending")
            .values("running")
            .values("stopping")
            .values("stopped")
            .values("shutting-down")
            .build();
        let out = self
            .ec2
            .describe_instances()
            .filters(Self::cluster_filter(c))
            .filters(states)
            .send()
            .await
            .unwrap();
        out.reservations().iter().flat_map(|r| r.instances().iter().cloned()).collect()
    }

    pub async fn security_groups(&self, c: &ClusterRef) -> Vec<aws_sdk_ec2::types::SecurityGroup> {
        let out = self
            .ec2
            .describe_security_groups()
            .filters(Self::cluster_filter(c))
            .send()
            .await
            .unwrap();
        out.security_groups().to_vec()
    }

    pub async fn volumes(&self, c: &ClusterRef) -> Vec<aws_sdk_ec2::types::Volume> {
        let out =
            self.ec2.describe_volumes().filters(Self::cluster_filter(c)).send().await.unwrap();
        out.volumes().to_vec()
    }

    /// Every key in the region tagged with the cluster id (pending deletion included), with
    /// its metadata: a second key for one cluster is a duplicate even without an alias.
    pub async fn kms_keys(&self, c: &ClusterRef) -> Vec<aws_sdk_kms::types::KeyMetadata> {
        let mut found = Vec::new();
        let mut marker = None;
        loop {
            let page = self.kms.list_keys().set_marker(marker).send().await.unwrap();
            for key in page.keys() {
                let Some(id) = key.key_id() else { continue };
                let tags = self.kms.list_resource_tags().key_id(id).send().await.unwrap();
                let ours = tags
                    .tags()
                    .iter()
                    .any(|t| t.tag_key() == TAG_CLUSTER && t.tag_value() == c.id());
                if ours {
                    let meta = self.kms.describe_key().key_id(id).send().await.unwrap();
                    found.extend(meta.key_metadata().cloned());
                }
            }
            if !page.truncated() {
                return found;
            }
            marker = page.next_marker().map(str::to_owned);
        }
    }

    /// KMS tags of a key as a map.
    pub async fn kms_tags(&self, key_id: &str) -> BTreeMap<String, String> {
        let tags = self.kms.list_resource_tags().key_id(key_id).send().await.unwrap();
        tags.tags().iter().map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned())).collect()
    }

    /// Buckets whose names belong to the cluster (names are deterministic and global).
    pub async fn buckets(&self, c: &ClusterRef) -> Vec<String> {
        let out = self.s3.list_buckets().send().await.unwrap();
        let prefix = format!("coffer-{}-", c.id());
        out.buckets()
            .iter()
            .filter_map(|b| b.name())
            .filter(|n| n.starts_with(&prefix))
            .map(str::to_owned)
            .collect()
    }

    /// IAM roles for the cluster under Coffer's path.
    pub async fn roles(&self, c: &ClusterRef) -> Vec<aws_sdk_iam::types::Role> {
        let out =
            self.iam.list_roles().path_prefix("/coffer/").max_items(1000).send().await.unwrap();
        out.roles().iter().filter(|r| r.role_name().contains(&c.id())).cloned().collect()
    }

    pub async fn instance_profiles(
        &self,
        c: &ClusterRef,
    ) -> Vec<aws_sdk_iam::types::InstanceProfile> {
        let out = self
            .iam
            .list_instance_profiles()
            .path_prefix("/coffer/")
            .max_items(1000)
            .send()
            .await
            .unwrap();
        out.instance_profiles()
            .iter()
            .filter(|p| p.instance_profile_name().contains(&c.id()))
            .cloned()
            .collect()
    }

    /// The bootstrap document an instance boots with (its user data).
    pub async fn bootstrap(&self, instance_id: &str) -> BootstrapDocument {
        use base64::Engine as _;
        let attr = self
            .ec2
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
            .send()
            .await
            .unwrap();
        let b64 = attr.user_data().and_then(|u| u.value()).expect("instance has user data");
        let raw =
            base64::engine::general_purpose::STANDARD.decode(b64).expect("user data is base64");
        BootstrapDocument::from_user_data(&raw).expect("user data is a bootstrap document")
    }

    /// Live resource counts by kind, from AWS alone.
    pub async fn census(&self, c: &ClusterRef) -> Census {
        let keys = self.kms_keys(c).await;
        let key_state = |pending: bool| {
            keys.iter()
                .filter(|k| {
                    let state = k.key_state().map(|s| s.as_str().to_owned()).unwrap_or_default();
                    (state == "PendingDeletion") == pending
                })
                .count()
        };
        Census {
            kms_keys: key_state(false),
            kms_keys_pending_deletion: key_state(true),
            buckets: self.buckets(c).await.len(),
            roles: self.roles(c).await.len(),
            instance_profiles: self.instance_profiles(c).await.len(),
            security_groups: self.security_groups(c).await.len(),
            instances: self.instances(c).await.len(),
        }
    }
}

/// The cluster id in a Coffer resource name (`coffer-<id>-<purpose>`, `coffer-node-<id>`).
fn cluster_in_name(name: &str) -> Option<String> {
    let rest = name.strip_prefix("coffer-node-").or_else(|| name.strip_prefix("coffer-"))?;
    let id = rest.get(..36)?;
    id.parse::<uuid::Uuid>().ok().map(|_| id.to_owned())
}

fn tag_value<'a>(
    mut tags: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> Option<String> {
    tags.find(|(k, _)| *k == Some(TAG_CLUSTER)).and_then(|(_, v)| v.map(str::to_owned))
}

impl Aws {
    /// Counts for every Coffer cluster in this region at once (a handful of list calls
    /// instead of several per cluster), keyed by cluster id.
    pub async fn census_all(&self) -> HashMap<String, Census> {
        let mut all: HashMap<String, Census> = HashMap::new();
        let tagged = Filter::builder().name("tag-key").values(TAG_CLUSTER).build();
        let states = ["pending", "running", "stopping", "stopped", "shutting-down"];
        for inst in self.tagged_instances(&states).await {
            if let Some(id) = tag_value(inst.tags().iter().map(|t| (t.key(), t.value()))) {
                all.entry(id).or_default().instances += 1;
            }
        }
        let groups =
            self.ec2.describe_security_groups().filters(tagged.clone()).send().await.unwrap();
        for g in groups.security_groups() {
            if let Some(id) = tag_value(g.tags().iter().map(|t| (t.key(), t.value()))) {
                all.entry(id).or_default().security_groups += 1;
            }
        }
        let mut marker = None;
        loop {
            let page = self.kms.list_keys().set_marker(marker).send().await.unwrap();
            for key in page.keys() {
                let Some(key_id) = key.key_id() else { continue };
                let Some(id) = self.kms_tags(key_id).await.remove(TAG_CLUSTER) else { continue };
                let meta = self.kms.describe_key().key_id(key_id).send().await.unwrap();
                let pending = meta
                    .key_metadata()
                    .and_then(|m| m.key_state())
                    .is_some_and(|s| s.as_str() == "PendingDeletion");
                let entry = all.entry(id).or_default();
                if pending {
                    entry.kms_keys_pending_deletion += 1;
                } else {
                    entry.kms_keys += 1;
                }
            }
            if !page.truncated() {
                break;
            }
            marker = page.next_marker().map(str::to_owned);
        }
        let buckets = self.s3.list_buckets().send().await.unwrap();
        for name in buckets.buckets().iter().filter_map(|b| b.name()) {
            if let Some(id) = cluster_in_name(name) {
                all.entry(id).or_default().buckets += 1;
            }
        }
        let roles =
            self.iam.list_roles().path_prefix("/coffer/").max_items(1000).send().await.unwrap();
        for role in roles.roles() {
            if let Some(id) = cluster_in_name(role.role_name()) {
                all.entry(id).or_default().roles += 1;
            }
        }
        let profiles = self
            .iam
            .list_instance_profiles()
            .path_prefix("/coffer/")
            .max_items(1000)
            .send()
            .await
            .unwrap();
        for p in profiles.instance_profiles() {
            if let Some(id) = cluster_in_name(p.instance_profile_name()) {
                all.entry(id).or_default().instance_profiles += 1;
            }
        }
        all
    }

    /// Every live instance of a Coffer cluster in this region: `(cluster id, instance id)`.
    pub async fn all_instances(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for inst in self.tagged_instances(&["pending", "running"]).await {
            let cluster = tag_value(inst.tags().iter().map(|t| (t.key(), t.value())));
            if let (Some(c), Some(i)) = (cluster, inst.instance_id()) {
                out.push((c, i.to_owned()));
            }
        }
        out
    }

    /// Every instance in this region tagged with a Coffer cluster id and in one of `states`,
    /// across result pages.
    async fn tagged_instances(&self, states: &[&str]) -> Vec<Instance> {
        let tagged = Filter::builder().name("tag-key").values(TAG_CLUSTER).build();
        let states = states.iter().map(|s| (*s).to_owned()).collect();
        let live = Filter::builder().name("instance-state-name").set_values(Some(states)).build();
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .ec2
                .describe_instances()
                .filters(tagged.clone())
                .filters(live.clone())
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            out.extend(page.reservations().iter().flat_map(|r| r.instances()).cloned());
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return out;
            }
        }
    }
}

#[test]
fn cluster_ids_in_names() {
    let id = "0190a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b";
    let check = |name: String, expect: Option<&str>| {
        assert_eq!(cluster_in_name(&name).as_deref(), expect, "{name}")
    };
    check(format!("coffer-{id}-snapshots"), Some(id));
    check(format!("coffer-node-{id}"), Some(id));
    check(format!("coffer-{id}"), Some(id));
    check("coffer-logs".to_owned(), None);
    check(format!("other-{id}"), None);
}

/// How many of each resource the cluster has in AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Census {
    pub kms_keys: usize,
    pub kms_keys_pending_deletion: usize,
    pub buckets: usize,
    pub roles: usize,
    pub instance_profiles: usize,
    pub security_groups: usize,
    /// Not terminated.
    pub instances: usize,
}

impl Census {
    /// A running cluster of `nodes` nodes: exactly one of everything, two buckets.
    pub fn running(nodes: usize) -> Census {
        Census {
            kms_keys: 1,
            kms_keys_pending_deletion: 0,
            buckets: 2,
            roles: 1,
            instance_profiles: 1,
            security_groups: 1,
            instances: nodes,
        }
    }

    /// A deleted cluster: key scheduled for deletion, buckets retained (or purged).
    pub fn deleted(buckets: usize) -> Census {
        Census { kms_keys_pending_deletion: 1, buckets, ..Census::default() }
    }
}

/// IAM returns policy documents URL-encoded; moto sometimes does not. Accept both.
pub fn policy_json(doc: &str) -> serde_json::Value {
    if let Ok(v) = serde_json::from_str(doc) {
        return v;
    }
    let bytes = doc.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("utf8");
                out.push(u8::from_str_radix(hex, 16).expect("percent escape"));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("policy {doc:?} is not JSON: {e}"))
}
