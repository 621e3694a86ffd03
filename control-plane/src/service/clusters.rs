//! Cluster lifecycle requests.
//!
//! The API records intent only: a request updates the cluster's desired spec and persists an
//! operation with its step plan, in one transaction. The provisioning engine (a later
//! component) executes operations and writes observed state; until it exists, operations stay
//! `pending` and clusters stay `pending`/`deleting`. Nothing here pretends otherwise.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Caller, ControlPlane, ServiceError};
use crate::domain::{
    Action, ClusterName, ClusterState, IpAllowList, OperationKind, PageSize, PageToken, Region,
    Size, Tier, UpdatePlan, Version,
};
use crate::store::clusters::{self, ClusterRow, NewCluster, SpecChange};
use crate::store::operations::{self, Operation};
use crate::store::{idempotency, releases, Page, StoreError};

/// A create request as received (unvalidated).
#[derive(Debug, Clone)]
pub struct ClusterRequest {
    pub name: String,
    pub tier: String,
    pub size: String,
    pub region: String,
    pub version: Option<String>,
    pub public_endpoint: Option<bool>,
    pub ip_allow_list: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct ClusterPatch {
    pub ip_allow_list: Option<Vec<String>>,
    pub public_endpoint: Option<bool>,
    pub version: Option<String>,
}

pub struct ClusterWithOperation {
    pub cluster: ClusterRow,
    pub operation: Operation,
}

const MAX_IDEMPOTENCY_KEY: usize = 128;

impl ControlPlane {
    pub async fn list_clusters(
        &self,
        caller: Caller,
        org_id: Uuid,
        size: PageSize,
        token: Option<PageToken>,
    ) -> Result<Page<ClusterRow>, ServiceError> {
        self.authorize(caller, org_id, Action::Read).await?;
        Ok(clusters::list(&self.pool, org_id, size, token).await?)
    }

    pub async fn get_cluster(
        &self,
        caller: Caller,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<ClusterRow, ServiceError> {
        self.authorize(caller, org_id, Action::Read).await?;
        clusters::get(&self.pool, org_id, id).await?.ok_or(ServiceError::NotFound("cluster"))
    }

    /// Records a new cluster and its create operation. With an idempotency key, a retry with
    /// the same body returns the original cluster and operation; a different body conflicts.
    pub async fn create_cluster(
        &self,
        caller: Caller,
        org_id: Uuid,
        req: ClusterRequest,
        idempotency_key: Option<&str>,
    ) -> Result<ClusterWithOperation, ServiceError> {
        self.authorize(caller, org_id, Action::ManageClusters).await?;
        if let Some(key) = idempotency_key {
            let ok = !key.is_empty()
                && key.len() <= MAX_IDEMPOTENCY_KEY
                && key.bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                return Err(ServiceError::Invalid(
                    "Idempotency-Key must be 1 to 128 visible ASCII characters".into(),
                ));
            }
        }
        let name = ClusterName::parse(&req.name)?;
        let tier = Tier::parse(&req.tier)?;
        let size = Size::parse(&req.size)?;
        tier.check_size(size)?;
        let region = Region::parse(&req.region)?;
        let version = req.version.as_deref().map(Version::parse).transpose()?;
        let allow =
            IpAllowList::parse(req.ip_allow_list.as_deref().unwrap_or_default())?.into_inner();
        let public_endpoint = req.public_endpoint.unwrap_or(false);

        let request_hash = {
            let mut h = Sha256::new();
            for part in [name.as_str(), tier.as_str(), size.as_str(), region.as_str()] {
                h.update(part.as_bytes());
                h.update([0]);
            }
            h.update(version.as_ref().map_or("", |v| v.as_str()).as_bytes());
            h.update([0, u8::from(public_endpoint), 0]);
            h.update(allow.join(",").as_bytes());
            h.finalize()
        };

        let mut tx = self.pool.begin().await?;
        let version = match version {
            Some(v) => {
                if !releases::exists(&mut *tx, v.as_str()).await? {
                    return Err(unknown_version(&v));
                }
                v.as_str().to_owned()
            }
            None => releases::latest(&mut *tx)
                .await?
                .ok_or_else(|| ServiceError::Internal("releases catalog is empty".into()))?,
        };
        let cluster_id = Uuid::now_v7();
        let operation_id = Uuid::now_v7();
        if let Some(key) = idempotency_key {
            let claimed =
                idempotency::claim(&mut *tx, org_id, key, &request_hash, cluster_id, operation_id)
                    .await?;
            if !claimed {
                tx.rollback().await?;
                return self.replay(org_id, key, &request_hash).await;
            }
        }
        let cluster = clusters::insert(
            &mut *tx,
            NewCluster {
                id: cluster_id,
                org_id,
                name: name.as_str(),
                tier: tier.as_str(),
                size: size.as_str(),
                region: region.as_str(),
                version: &version,
                public_endpoint,
                ip_allow_list: &allow,
                node_count: tier.node_count(),
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ServiceError::Conflict(format!(
                "a cluster named {:?} already exists in this organization",
                name.as_str()
            )),
            other => other.into(),
        })?;
        let steps = OperationKind::Create.steps(UpdatePlan::default());
        let operation = operations::insert(
            &mut tx,
            operation_id,
            org_id,
            cluster_id,
            OperationKind::Create.as_str(),
            &steps,
        )
        .await?;
        tx.commit().await?;
        Ok(ClusterWithOperation { cluster, operation })
    }

    async fn replay(
        &self,
        org_id: Uuid,
        key: &str,
        request_hash: &[u8],
    ) -> Result<ClusterWithOperation, ServiceError> {
        let prior = idempotency::get(&self.pool, org_id, key)
            .await?
            .ok_or_else(|| ServiceError::Internal("idempotency key vanished".into()))?;
        if prior.request_hash != request_hash {
            return Err(ServiceError::Conflict(
                "this Idempotency-Key was already used with a different request body".into(),
            ));
        }
        let cluster = clusters::get(&self.pool, org_id, prior.cluster_id)
            .await?
            .ok_or(ServiceError::NotFound("cluster"))?;
        let mut conn = self.pool.acquire().await?;
        let operation = operations::get(&mut conn, org_id, prior.operation_id)
            .await?
            .ok_or(ServiceError::NotFound("operation"))?;
        Ok(ClusterWithOperation { cluster, operation })
    }

    /// Changes the desired network settings or version and records an update operation.
    pub async fn update_cluster(
        &self,
        caller: Caller,
        org_id: Uuid,
        id: Uuid,
        patch: ClusterPatch,
    ) -> Result<ClusterWithOperation, ServiceError> {
        self.authorize(caller, org_id, Action::ManageClusters).await?;
        if patch.ip_allow_list.is_none()
            && patch.public_endpoint.is_none()
            && patch.version.is_none()
        {
            return Err(ServiceError::Invalid(
                "nothing to update; set ip_allow_list, public_endpoint or version".into(),
            ));
        }
        let allow = patch
            .ip_allow_list
            .as_deref()
            .map(IpAllowList::parse)
            .transpose()?
            .map(IpAllowList::into_inner);
        let version = patch.version.as_deref().map(Version::parse).transpose()?;

        let mut tx = self.pool.begin().await?;
        let current = clusters::get_for_update(&mut *tx, org_id, id)
            .await?
            .ok_or(ServiceError::NotFound("cluster"))?;
        reject_if_deleting(&current)?;
        if let Some(v) = &version {
            if !releases::exists(&mut *tx, v.as_str()).await? {
                return Err(unknown_version(v));
            }
        }
        let cluster = clusters::update_spec(
            &mut *tx,
            org_id,
            id,
            SpecChange {
                ip_allow_list: allow.as_deref(),
                public_endpoint: patch.public_endpoint,
                version: version.as_ref().map(Version::as_str),
            },
        )
        .await?;
        let plan = UpdatePlan {
            network: allow.is_some() || patch.public_endpoint.is_some(),
            version: version.is_some(),
        };
        let steps = OperationKind::Update.steps(plan);
        let operation = operations::insert(
            &mut tx,
            Uuid::now_v7(),
            org_id,
            id,
            OperationKind::Update.as_str(),
            &steps,
        )
        .await?;
        tx.commit().await?;
        Ok(ClusterWithOperation { cluster, operation })
    }

    /// Marks the cluster `deleting` and records the teardown operation.
    pub async fn delete_cluster(
        &self,
        caller: Caller,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<ClusterWithOperation, ServiceError> {
        self.authorize(caller, org_id, Action::ManageClusters).await?;
        let mut tx = self.pool.begin().await?;
        let current = clusters::get_for_update(&mut *tx, org_id, id)
            .await?
            .ok_or(ServiceError::NotFound("cluster"))?;
        reject_if_deleting(&current)?;
        let cluster =
            clusters::set_state(&mut *tx, org_id, id, ClusterState::Deleting.as_str()).await?;
        let steps = OperationKind::Delete.steps(UpdatePlan::default());
        let operation = operations::insert(
            &mut tx,
            Uuid::now_v7(),
            org_id,
            id,
            OperationKind::Delete.as_str(),
            &steps,
        )
        .await?;
        tx.commit().await?;
        Ok(ClusterWithOperation { cluster, operation })
    }
}

fn reject_if_deleting(c: &ClusterRow) -> Result<(), ServiceError> {
    let deleting =
        ClusterState::parse(&c.state).map(ClusterState::is_deleting_or_gone).unwrap_or(false);
    if deleting {
        return Err(ServiceError::Conflict(format!(
            "cluster is {}; it can no longer be changed",
            c.state
        )));
    }
    Ok(())
}

fn unknown_version(v: &Version) -> ServiceError {
    ServiceError::Invalid(format!("version {} is not a known release", v.as_str()))
}
