//! Reading operations, including the long-poll `wait`.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::notify::WAKE_ALL;
use super::{Caller, ControlPlane, ServiceError};
use crate::domain::{Action, OperationState};
use crate::store::operations::{self, Operation};

impl ControlPlane {
    pub async fn get_operation(
        &self,
        caller: Caller,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Operation, ServiceError> {
        self.authorize(caller, org_id, Action::Read).await?;
        let mut conn = self.pool.acquire().await?;
        operations::get(&mut conn, org_id, id).await?.ok_or(ServiceError::NotFound("operation"))
    }

    /// The cluster's operation in progress, if any: what the console shows live on the
    /// cluster's page without the caller having to know the operation's id.
    pub async fn active_cluster_operation(
        &self,
        caller: Caller,
        org_id: Uuid,
        cluster_id: Uuid,
    ) -> Result<Option<Operation>, ServiceError> {
        self.authorize(caller, org_id, Action::Read).await?;
        let mut conn = self.pool.acquire().await?;
        Ok(operations::active_for_cluster(&mut conn, org_id, cluster_id).await?)
    }

    /// Returns the operation once it is terminal, or its current state when `timeout` elapses
    /// or the server shuts down. Woken by Postgres NOTIFY, so it works across replicas and
    /// costs one query per change instead of one per poll interval.
    pub async fn wait_operation(
        &self,
        caller: Caller,
        org_id: Uuid,
        id: Uuid,
        timeout: Duration,
        shutdown: &CancellationToken,
    ) -> Result<Operation, ServiceError> {
        self.authorize(caller, org_id, Action::Read).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribe before reading so a change between the read and the wait is not missed.
        let mut rx = self.events.subscribe();
        loop {
            let op = {
                let mut conn = self.pool.acquire().await?;
                operations::get(&mut conn, org_id, id)
                    .await?
                    .ok_or(ServiceError::NotFound("operation"))?
            };
            let terminal = OperationState::parse(&op.op.state)
                .map(OperationState::is_terminal)
                .unwrap_or(false);
            if terminal {
                return Ok(op);
            }
            // Wait for a notification about this operation (or a wake-all after the listener
            // reconnected and may have missed some), then re-read.
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => return Ok(op),
                    () = shutdown.cancelled() => return Ok(op),
                    msg = rx.recv() => match msg {
                        Ok(changed) if changed == id || changed == WAKE_ALL => break,
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => {
                            // Listener gone (shutting down): fall back to the deadline.
                            tokio::select! {
                                () = tokio::time::sleep_until(deadline) => return Ok(op),
                                () = shutdown.cancelled() => return Ok(op),
                            }
                        }
                    },
                }
            }
        }
    }
}
