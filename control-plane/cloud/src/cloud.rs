//! The interface the control plane's workflow engine and sweeper call.
//!
//! Every method is idempotent: it reads current state first and converges it, so a step that
//! crashed half-way is simply run again. Deletes of things already gone succeed. The trait is
//! object-safe (`Arc<dyn Cloud>`) so the engine can run against a fake in its own tests.

use async_trait::async_trait;

use crate::cluster::{BucketPurpose, ClusterRef};
use crate::error::CloudError;
use crate::resources::{
    Bucket, Ingress, Instance, InstanceSpec, KmsKey, NodeRole, ResourceKind, SecurityGroup,
    TaggedResource,
};

#[async_trait]
pub trait Cloud: Send + Sync {
    /// The cluster's symmetric key under `alias/coffer/<cluster_id>`, rotation on, tagged. Found by
    /// alias first; a key pending deletion is revived. The key policy is (re)applied on every
    /// call: the control plane administers, and `node_role_arn` (once it exists) uses the key.
    async fn ensure_kms_key(
        &self,
        c: &ClusterRef,
        node_role_arn: Option<&str>,
    ) -> Result<KmsKey, CloudError>;

    /// Schedules deletion after `days` (7..=30). Already pending or already gone is success.
    /// Refuses a key whose `coffer:cluster-id` tag names another cluster.
    async fn schedule_kms_key_deletion(
        &self,
        c: &ClusterRef,
        key_id: &str,
        days: i32,
    ) -> Result<(), CloudError>;

    /// `coffer-<cluster_id>-<purpose>`: SSE-KMS with the cluster key and a bucket key, public
    /// access blocked, versioning on, TLS-only policy, noncurrent versions kept 30 days, tagged.
    async fn ensure_bucket(
        &self,
        c: &ClusterRef,
        purpose: BucketPurpose,
        kms_key_arn: &str,
    ) -> Result<Bucket, CloudError>;

    /// Purges every object version, delete marker and unfinished upload, then the bucket.
    async fn delete_bucket(&self, c: &ClusterRef, purpose: BucketPurpose)
        -> Result<(), CloudError>;

    /// Role `coffer-node-<cluster_id>` (EC2 trust, inline policy scoped to the key and buckets)
    /// and an instance profile of the same name holding it.
    async fn ensure_node_role(
        &self,
        c: &ClusterRef,
        kms_key_arn: &str,
        buckets: &[Bucket],
    ) -> Result<NodeRole, CloudError>;

    async fn delete_node_role(&self, c: &ClusterRef) -> Result<(), CloudError>;

    /// Group `coffer-<cluster_id>`: TCP 8200 from the allowed sources, all traffic from itself,
    /// nothing else. Existing rules are rewritten to match exactly.
    async fn ensure_security_group(
        &self,
        c: &ClusterRef,
        ingress: &Ingress,
    ) -> Result<SecurityGroup, CloudError>;

    /// Deletes the group in every VPC of the region. Transient while instances still use it.
    async fn delete_security_group(&self, c: &ClusterRef) -> Result<(), CloudError>;

    /// The node's instance: found by its cluster and node-index tags, else launched with a
    /// client token derived from (operation id, cluster, node index).
    async fn ensure_instance(
        &self,
        c: &ClusterRef,
        spec: &InstanceSpec,
    ) -> Result<Instance, CloudError>;

    /// The cluster's instances that are not yet terminated, ordered by node index.
    async fn describe_instances(&self, c: &ClusterRef) -> Result<Vec<Instance>, CloudError>;

    /// Starts terminating every instance of the cluster and deletes its detached volumes. Does not
    /// wait: call again until `describe_instances` is empty to collect volumes freed meanwhile.
    async fn terminate_instances(&self, c: &ClusterRef) -> Result<(), CloudError>;

    /// Every resource tagged `coffer:managed-by=coffer` in `region`, plus the global IAM ones.
    async fn list_tagged_resources(&self, region: &str) -> Result<Vec<TaggedResource>, CloudError>;

    /// Ids of the KMS keys tagged for this cluster and not already pending deletion, aliased or
    /// not (a lost `CreateKey` answer can leave an unaliased one). Teardown uses it, so it must
    /// stay cheap: implementations should look at keys only, not every kind of resource.
    async fn list_cluster_kms_keys(&self, c: &ClusterRef) -> Result<Vec<String>, CloudError> {
        let ours = c.id();
        Ok(self
            .list_tagged_resources(&c.region)
            .await?
            .into_iter()
            .filter(|r| {
                r.kind == ResourceKind::KmsKey && r.cluster_id.as_deref() == Some(ours.as_str())
            })
            .map(|r| r.id)
            .collect())
    }
}
