//! An in-memory [`Cloud`] for the engine's logic tests.
//!
//! It behaves like AWS where the engine's correctness depends on it: `ensure_*` finds existing
//! resources by their derived names, `ensure_instance` is idempotent per client token and node
//! tag, terminating instances takes a while (shutting-down, then gone), and a security group
//! cannot be deleted while instances still use it. Faults can be injected per method, either
//! before the call has any effect or after (the response was lost: the resource exists but the
//! caller saw an error), which is how interrupted steps are simulated.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use coffer_cloud::{
    ApiAccess, BootstrapDocument, Bucket, BucketPurpose, Cloud, CloudError, ClusterRef, ErrorKind,
    Ingress, Instance, InstanceSpec, InstanceState, KmsKey, NodeRole, ResourceKind, SecurityGroup,
    TaggedResource,
};
use uuid::Uuid;

#[derive(Debug, Clone)]
struct Fault {
    method: &'static str,
    kind: ErrorKind,
    code: &'static str,
    remaining: u32,
    /// Fail after the call took effect.
    after_effect: bool,
}

#[derive(Debug, Clone)]
pub struct KeyState {
    pub key: KmsKey,
    pub node_role_arn: Option<String>,
    pub pending_deletion_days: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct InstanceRecord {
    pub cluster_id: Uuid,
    pub client_token: String,
    pub instance: Instance,
    pub bootstrap: BootstrapDocument,
    pub instance_type: String,
    pub image_id: String,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, KeyState>,
    buckets: HashMap<String, Bucket>,
    roles: HashMap<String, NodeRole>,
    groups: HashMap<String, (SecurityGroup, Ingress)>,
    instances: Vec<InstanceRecord>,
    calls: Vec<&'static str>,
    /// How many resources of each kind were ever created (duplicates show up here).
    created: HashMap<&'static str, usize>,
    faults: Vec<Fault>,
    next_id: u64,
    /// Keys tagged for a cluster but not behind its alias (a retried CreateKey's leftovers).
    stray_keys: Vec<KeyState>,
}

#[derive(Default)]
pub struct MemoryCloud {
    state: Mutex<State>,
}

impl MemoryCloud {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }

    /// The next `times` calls of `method` fail with `kind` before taking effect.
    pub fn fail(&self, method: &'static str, kind: ErrorKind, code: &'static str, times: u32) {
        self.with(|s| {
            s.faults.push(Fault { method, kind, code, remaining: times, after_effect: false })
        });
    }

    /// The next `times` calls of `method` take effect, then report a transient error.
    pub fn lose_response(&self, method: &'static str, times: u32) {
        self.with(|s| {
            s.faults.push(Fault {
                method,
                kind: ErrorKind::Transient,
                code: "RequestTimeout",
                remaining: times,
                after_effect: true,
            })
        });
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.with(|s| s.calls.clone())
    }

    pub fn created(&self, kind: &'static str) -> usize {
        self.with(|s| s.created.get(kind).copied().unwrap_or(0))
    }

    pub fn instances(&self) -> Vec<InstanceRecord> {
        self.with(|s| s.instances.clone())
    }

    /// Plants a second key tagged for the cluster, as a lost CreateKey answer leaves behind.
    pub fn plant_stray_key(&self, c: &ClusterRef) -> String {
        self.with(|s| {
            let key_id = next_id(s, "key");
            let arn = format!("arn:aws:kms:{}:123456789012:key/{key_id}", c.region);
            // The alias field only carries the cluster id for `list_tagged_resources`.
            let key = KmsKey { key_id: key_id.clone(), arn, alias: c.kms_alias() };
            s.stray_keys.push(KeyState { key, node_role_arn: None, pending_deletion_days: None });
            key_id
        })
    }

    /// Pending-deletion days of a planted stray key.
    pub fn stray_key_deletion(&self, key_id: &str) -> Option<i32> {
        self.with(|s| {
            s.stray_keys
                .iter()
                .find(|k| k.key.key_id == key_id)
                .and_then(|k| k.pending_deletion_days)
        })
    }

    pub fn key(&self, c: &ClusterRef) -> Option<KeyState> {
        self.with(|s| s.keys.get(&c.kms_alias()).cloned())
    }

    pub fn group_ingress(&self, c: &ClusterRef) -> Option<Ingress> {
        self.with(|s| s.groups.get(&c.security_group_name()).map(|g| g.1.clone()))
    }

    pub fn bucket_names(&self) -> Vec<String> {
        self.with(|s| {
            let mut v: Vec<String> = s.buckets.keys().cloned().collect();
            v.sort();
            v
        })
    }

    pub fn role_names(&self) -> Vec<String> {
        self.with(|s| s.roles.keys().cloned().collect())
    }

    /// Records the call and applies a matching fault scheduled before the effect.
    fn enter(&self, method: &'static str) -> Result<(), CloudError> {
        self.with(|s| {
            s.calls.push(method);
            take_fault(s, method, false)
        })
    }

    fn leave<T>(&self, method: &'static str, value: T) -> Result<T, CloudError> {
        self.with(|s| take_fault(s, method, true))?;
        Ok(value)
    }
}

fn take_fault(s: &mut State, method: &'static str, after_effect: bool) -> Result<(), CloudError> {
    let found = s
        .faults
        .iter_mut()
        .find(|f| f.method == method && f.after_effect == after_effect && f.remaining > 0);
    match found {
        Some(f) => {
            f.remaining -= 1;
            Err(CloudError::new(f.kind, method, Some(f.code.to_owned()), "injected fault"))
        }
        None => Ok(()),
    }
}

fn next_id(s: &mut State, prefix: &str) -> String {
    s.next_id += 1;
    format!("{prefix}-{:017x}", s.next_id)
}

fn created(s: &mut State, kind: &'static str) {
    *s.created.entry(kind).or_default() += 1;
}

#[async_trait]
impl Cloud for MemoryCloud {
    async fn ensure_kms_key(
        &self,
        c: &ClusterRef,
        node_role_arn: Option<&str>,
    ) -> Result<KmsKey, CloudError> {
        self.enter("ensure_kms_key")?;
        let key = self.with(|s| {
            let alias = c.kms_alias();
            if !s.keys.contains_key(&alias) {
                created(s, "kms_key");
                let key_id = next_id(s, "key");
                let arn = format!("arn:aws:kms:{}:123456789012:key/{key_id}", c.region);
                let key = KmsKey { key_id, arn, alias: alias.clone() };
                s.keys.insert(
                    alias.clone(),
                    KeyState { key, node_role_arn: None, pending_deletion_days: None },
                );
            }
            let entry = s.keys.get_mut(&alias).expect("inserted above");
            entry.pending_deletion_days = None;
            entry.node_role_arn = node_role_arn.map(str::to_owned);
            entry.key.clone()
        });
        self.leave("ensure_kms_key", key)
    }

    async fn schedule_kms_key_deletion(
        &self,
        c: &ClusterRef,
        key_id: &str,
        days: i32,
    ) -> Result<(), CloudError> {
        self.enter("schedule_kms_key_deletion")?;
        self.with(|s| {
            let mut all = s.keys.values_mut().chain(s.stray_keys.iter_mut());
            if let Some(k) = all.find(|k| k.key.key_id == key_id && k.key.alias == c.kms_alias()) {
                k.pending_deletion_days = Some(days);
            }
        });
        self.leave("schedule_kms_key_deletion", ())
    }

    async fn ensure_bucket(
        &self,
        c: &ClusterRef,
        purpose: BucketPurpose,
        _kms_key_arn: &str,
    ) -> Result<Bucket, CloudError> {
        self.enter("ensure_bucket")?;
        let bucket = self.with(|s| {
            let name = purpose.bucket_name(c);
            if !s.buckets.contains_key(&name) {
                created(s, "bucket");
                let b = Bucket { purpose, name: name.clone(), arn: format!("arn:aws:s3:::{name}") };
                s.buckets.insert(name.clone(), b);
            }
            s.buckets[&name].clone()
        });
        self.leave("ensure_bucket", bucket)
    }

    async fn delete_bucket(
        &self,
        c: &ClusterRef,
        purpose: BucketPurpose,
    ) -> Result<(), CloudError> {
        self.enter("delete_bucket")?;
        self.with(|s| s.buckets.remove(&purpose.bucket_name(c)));
        self.leave("delete_bucket", ())
    }

    async fn ensure_node_role(
        &self,
        c: &ClusterRef,
        _kms_key_arn: &str,
        _buckets: &[Bucket],
    ) -> Result<NodeRole, CloudError> {
        self.enter("ensure_node_role")?;
        let role = self.with(|s| {
            let name = c.node_role_name();
            if !s.roles.contains_key(&name) {
                created(s, "iam_role");
                let role = NodeRole {
                    role_name: name.clone(),
                    role_arn: format!("arn:aws:iam::123456789012:role/coffer/{name}"),
                    instance_profile_name: name.clone(),
                    instance_profile_arn: format!(
                        "arn:aws:iam::123456789012:instance-profile/coffer/{name}"
                    ),
                };
                s.roles.insert(name.clone(), role);
            }
            s.roles[&name].clone()
        });
        self.leave("ensure_node_role", role)
    }

    async fn delete_node_role(&self, c: &ClusterRef) -> Result<(), CloudError> {
        self.enter("delete_node_role")?;
        self.with(|s| s.roles.remove(&c.node_role_name()));
        self.leave("delete_node_role", ())
    }

    async fn ensure_security_group(
        &self,
        c: &ClusterRef,
        ingress: &Ingress,
    ) -> Result<SecurityGroup, CloudError> {
        self.enter("ensure_security_group")?;
        if let ApiAccess::AllowList(cidrs) = &ingress.access {
            if cidrs.iter().any(|c| !c.contains('/')) {
                return Err(CloudError::invalid("ec2:AuthorizeSecurityGroupIngress", "bad CIDR"));
            }
        }
        let group = self.with(|s| {
            let name = c.security_group_name();
            if !s.groups.contains_key(&name) {
                created(s, "security_group");
                let g = SecurityGroup {
                    group_id: next_id(s, "sg"),
                    group_name: name.clone(),
                    vpc_id: "vpc-default".into(),
                };
                s.groups.insert(name.clone(), (g, ingress.clone()));
            }
            let entry = s.groups.get_mut(&name).expect("inserted above");
            entry.1 = ingress.clone();
            entry.0.clone()
        });
        self.leave("ensure_security_group", group)
    }

    async fn delete_security_group(&self, c: &ClusterRef) -> Result<(), CloudError> {
        self.enter("delete_security_group")?;
        let in_use = self.with(|s| {
            let mut in_use = false;
            for r in s.instances.iter_mut().filter(|r| r.cluster_id == c.cluster_id) {
                if r.instance.state != InstanceState::Terminated {
                    in_use = true;
                    if r.instance.state == InstanceState::ShuttingDown {
                        r.instance.state = InstanceState::Terminated;
                    }
                }
            }
            if !in_use {
                s.groups.remove(&c.security_group_name());
            }
            in_use
        });
        if in_use {
            return Err(CloudError::new(
                ErrorKind::Transient,
                "ec2:DeleteSecurityGroup",
                Some("DependencyViolation".into()),
                "in use",
            ));
        }
        self.leave("delete_security_group", ())
    }

    async fn ensure_instance(
        &self,
        c: &ClusterRef,
        spec: &InstanceSpec,
    ) -> Result<Instance, CloudError> {
        self.enter("ensure_instance")?;
        let token = format!("{}-{}-{}", spec.operation_id, c.cluster_id, spec.node_index);
        let instance = self.with(|s| {
            let found = s.instances.iter().find(|r| {
                r.cluster_id == c.cluster_id
                    && (r.client_token == token
                        || (r.instance.node_index == Some(spec.node_index)
                            && r.instance.state.is_live()))
            });
            if let Some(r) = found {
                return r.instance.clone();
            }
            created(s, "instance");
            let n = s.next_id;
            let instance = Instance {
                instance_id: next_id(s, "i"),
                node_index: Some(spec.node_index),
                state: InstanceState::Pending,
                availability_zone: Some(format!(
                    "{}{}",
                    c.region,
                    ["a", "b", "c"][spec.node_index as usize % 3]
                )),
                subnet_id: None,
                private_ip: Some(format!("10.0.0.{}", n % 250 + 1)),
                public_ip: None,
            };
            s.instances.push(InstanceRecord {
                cluster_id: c.cluster_id,
                client_token: token,
                instance: instance.clone(),
                bootstrap: spec.bootstrap.clone(),
                instance_type: spec.instance_type.clone(),
                image_id: spec.image_id.clone(),
            });
            instance
        });
        self.leave("ensure_instance", instance)
    }

    async fn describe_instances(&self, c: &ClusterRef) -> Result<Vec<Instance>, CloudError> {
        self.enter("describe_instances")?;
        let list = self.with(|s| {
            let mut out: Vec<Instance> = Vec::new();
            for r in s.instances.iter_mut().filter(|r| r.cluster_id == c.cluster_id) {
                if r.instance.state == InstanceState::Pending {
                    r.instance.state = InstanceState::Running;
                }
                if r.instance.state != InstanceState::Terminated {
                    out.push(r.instance.clone());
                }
                // Shutting down lasts until the next look.
                if r.instance.state == InstanceState::ShuttingDown {
                    r.instance.state = InstanceState::Terminated;
                }
            }
            out.sort_by_key(|i| i.node_index);
            out
        });
        self.leave("describe_instances", list)
    }

    async fn terminate_instances(&self, c: &ClusterRef) -> Result<(), CloudError> {
        self.enter("terminate_instances")?;
        self.with(|s| {
            for r in s.instances.iter_mut().filter(|r| r.cluster_id == c.cluster_id) {
                if r.instance.state.is_live() {
                    r.instance.state = InstanceState::ShuttingDown;
                }
            }
        });
        self.leave("terminate_instances", ())
    }

    async fn list_tagged_resources(&self, region: &str) -> Result<Vec<TaggedResource>, CloudError> {
        self.enter("list_tagged_resources")?;
        let out = self.with(|s| {
            let mut out = Vec::new();
            for r in s.instances.iter().filter(|r| r.instance.state != InstanceState::Terminated) {
                out.push(TaggedResource {
                    kind: ResourceKind::Instance,
                    id: r.instance.instance_id.clone(),
                    region: Some(region.to_owned()),
                    cluster_id: Some(r.cluster_id.to_string()),
                    org_id: None,
                });
            }
            for k in s.keys.values().chain(s.stray_keys.iter()) {
                let cluster = k.key.alias.rsplit('/').next().map(str::to_owned);
                out.push(TaggedResource {
                    kind: ResourceKind::KmsKey,
                    id: k.key.key_id.clone(),
                    region: Some(region.to_owned()),
                    cluster_id: cluster,
                    org_id: None,
                });
            }
            for b in s.buckets.values() {
                out.push(TaggedResource {
                    kind: ResourceKind::Bucket,
                    id: b.name.clone(),
                    region: Some(region.to_owned()),
                    cluster_id: None,
                    org_id: None,
                });
            }
            out
        });
        self.leave("list_tagged_resources", out)
    }
}
