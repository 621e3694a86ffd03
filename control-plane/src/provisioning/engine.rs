//! The engine's main loop: claim operations up to the concurrency limit, run each in its own
//! task, and purge buckets whose retention ended.
//!
//! Replicas coordinate only through the database (leases), so any number may run against one
//! database. On shutdown, in-flight runs stop at their next await and release their leases so
//! another replica resumes them immediately instead of after the lease lapses.

use std::sync::Arc;

use coffer_cloud::{Cloud, ClusterRef};
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::db::leases;
use super::db::resources::{self, kind, state};
use super::fault::FaultHook;
use super::runner::{self, Shared};
use super::settings::ProvisioningSettings;
use super::steps::purge_bucket;

/// A provisioning engine replica.
pub struct Engine {
    shared: Arc<Shared>,
}

impl Engine {
    /// An engine with a fresh replica id. Reads the fault hook from the environment once.
    pub fn new(pool: PgPool, cloud: Arc<dyn Cloud>, settings: ProvisioningSettings) -> Engine {
        Engine::with_fault_hook(pool, cloud, settings, FaultHook::from_env())
    }

    pub fn with_fault_hook(
        pool: PgPool,
        cloud: Arc<dyn Cloud>,
        settings: ProvisioningSettings,
        fault: FaultHook,
    ) -> Engine {
        let retry = settings.retry_policy();
        Engine {
            shared: Arc::new(Shared {
                pool,
                cloud,
                settings: Arc::new(settings),
                replica: Uuid::new_v4(),
                fault,
                retry,
            }),
        }
    }

    /// This replica's id (in logs).
    pub fn replica_id(&self) -> Uuid {
        self.shared.replica
    }

    /// Runs until `shutdown` is cancelled, then waits for in-flight runs to stop.
    pub async fn run(self, shutdown: CancellationToken) {
        let shared = self.shared;
        let max = shared.settings.max_concurrent_operations;
        tracing::info!(replica = %shared.replica, "provisioning engine started");
        let mut runs = JoinSet::new();
        let purger = tokio::spawn(purge_loop(shared.clone(), shutdown.clone()));
        loop {
            while runs.try_join_next().is_some() {}
            while runs.len() < max && !shutdown.is_cancelled() {
                // A fresh lease id per claim: if this replica's own lease lapses and it claims
                // the operation again, the stale run is fenced off like any other replica.
                let lease_id = Uuid::new_v4();
                match leases::claim(&shared.pool, lease_id, shared.settings.lease_duration()).await
                {
                    Ok(Some(claimed)) => {
                        tracing::info!(operation = %claimed.id, replica = %shared.replica, "claimed operation");
                        runs.spawn(runner::run(shared.clone(), claimed, shutdown.child_token()));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming operations failed");
                        break;
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(shared.settings.poll_interval()) => {}
                Some(_) = runs.join_next(), if !runs.is_empty() => {}
            }
        }
        while runs.join_next().await.is_some() {}
        let _ = purger.await;
        tracing::info!(replica = %shared.replica, "provisioning engine stopped");
    }
}

/// Deletes retained buckets whose retention ended, one at a time, each under a row lock so two
/// replicas never purge the same bucket at once.
async fn purge_loop(shared: Arc<Shared>, shutdown: CancellationToken) {
    loop {
        loop {
            match purge_one(&shared).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "purging a retained bucket failed");
                    break;
                }
            }
            if shutdown.is_cancelled() {
                return;
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(shared.settings.poll_interval() * 10) => {}
        }
    }
}

async fn purge_one(shared: &Shared) -> Result<bool, super::error::StepError> {
    let mut tx = shared.pool.begin().await.map_err(crate::store::StoreError::from)?;
    let Some(due) = resources::lock_due_bucket(&mut *tx).await? else {
        return Ok(false);
    };
    let cref = ClusterRef::new(due.cluster_id, due.org_id, due.region.clone());
    purge_bucket(shared.cloud.as_ref(), &cref, due.role.as_deref()).await?;
    resources::set_state(&mut *tx, due.cluster_id, kind::BUCKET, &due.resource_id, state::DELETED)
        .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    tracing::info!(bucket = %due.resource_id, "purged retained bucket");
    Ok(true)
}
