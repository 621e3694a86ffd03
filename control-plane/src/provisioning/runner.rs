//! Drives one claimed operation through its stored step plan.
//!
//! The plan was persisted with the operation, so a replica resuming after a crash continues at
//! the first step not yet `succeeded`; a step left `running` by the dead replica simply runs
//! again (steps are idempotent). A heartbeat task keeps the lease while the operation runs; if
//! the lease is lost (another replica took over after a stall) the run stops at the next await
//! and every write it would still make is refused by the lease fence.

use std::sync::Arc;
use std::time::Duration;

use coffer_cloud::{Cloud, ClusterRef};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::db::leases::{self, Claimed};
use super::db::{clusters, steps as step_db};
use super::error::StepError;
use super::fault::FaultHook;
use super::retry::RetryPolicy;
use super::settings::ProvisioningSettings;
use super::steps::{self, Progress, StepCtx, StepName};
use crate::domain::{ClusterState, OperationKind};
use crate::store::{self, StoreError};

/// What every run shares: one per engine.
pub struct Shared {
    pub pool: PgPool,
    pub cloud: Arc<dyn Cloud>,
    pub settings: Arc<ProvisioningSettings>,
    /// This replica's identity, for logs. Leases are held by claim (see `Claimed::lease_id`).
    pub replica: Uuid,
    pub fault: FaultHook,
    pub retry: RetryPolicy,
}

/// Why a run ended without finishing the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The operation reached a terminal state.
    Finished,
    /// Shutting down: hand the operation to another replica now.
    Shutdown,
    /// Another replica owns the operation.
    LeaseLost,
    /// The fault hook fired: behave as a crash (keep the lease until it lapses).
    Crashed,
}

enum StepEnd {
    Done,
    Failed(StepError, i32),
    Stop(Stop),
}

/// Runs the operation until it is terminal, the lease is lost, or `shutdown` fires.
pub async fn run(shared: Arc<Shared>, claimed: Claimed, shutdown: CancellationToken) {
    let lost = CancellationToken::new();
    let stop_heartbeat = CancellationToken::new();
    let heartbeat = tokio::spawn(heartbeat(
        shared.clone(),
        claimed.id,
        claimed.lease_id,
        lost.clone(),
        stop_heartbeat.clone(),
    ));
    let outcome = drive(&shared, &claimed, &shutdown, &lost).await;
    stop_heartbeat.cancel();
    let _ = heartbeat.await;
    let release = match outcome {
        Ok(Stop::Finished | Stop::LeaseLost | Stop::Crashed) => false,
        Ok(Stop::Shutdown) => true,
        Err(e) => {
            // The database failed between steps; let any replica (this one included) retry.
            tracing::warn!(operation = %claimed.id, error = %e, "operation run interrupted");
            true
        }
    };
    if release {
        if let Err(e) = leases::release(&shared.pool, claimed.id, claimed.lease_id).await {
            tracing::warn!(operation = %claimed.id, error = %e, "could not release lease");
        }
    }
}

async fn heartbeat(
    shared: Arc<Shared>,
    id: Uuid,
    owner: Uuid,
    lost: CancellationToken,
    stop: CancellationToken,
) {
    let lease = shared.settings.lease_duration();
    let every = lease / 3;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match leases::heartbeat(&shared.pool, id, owner, lease).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(operation = %id, "lease lost to another replica");
                lost.cancel();
                return;
            }
            // Keep trying: the lease outlives a few missed beats.
            Err(e) => tracing::warn!(operation = %id, error = %e, "heartbeat failed"),
        }
    }
}

fn start_state(kind: OperationKind) -> ClusterState {
    match kind {
        OperationKind::Create => ClusterState::Creating,
        OperationKind::Update => ClusterState::Updating,
        OperationKind::Delete => ClusterState::Deleting,
    }
}

fn end_state(kind: OperationKind) -> ClusterState {
    match kind {
        OperationKind::Create | OperationKind::Update => ClusterState::Running,
        OperationKind::Delete => ClusterState::Deleted,
    }
}

async fn drive(
    shared: &Shared,
    claimed: &Claimed,
    shutdown: &CancellationToken,
    lost: &CancellationToken,
) -> Result<Stop, StoreError> {
    let pool = &shared.pool;
    let Ok(kind) = OperationKind::parse(&claimed.kind) else {
        let err = StepError::permanent("internal", "unknown operation kind");
        return fail(shared, claimed, None, &err, 0, None).await;
    };
    let Some(cluster) = store::clusters::get(pool, claimed.org_id, claimed.cluster_id).await?
    else {
        return Ok(Stop::Finished);
    };
    tracing::info!(operation = %claimed.id, cluster = %cluster.id, kind = kind.as_str(), "running operation");
    let force = kind == OperationKind::Delete;
    clusters::set_state(pool, cluster.id, start_state(kind).as_str(), force).await?;
    let ctx = StepCtx {
        pool: pool.clone(),
        cloud: shared.cloud.clone(),
        settings: shared.settings.clone(),
        cref: ClusterRef::new(cluster.id, cluster.org_id, cluster.region.clone()),
        cluster,
        operation_id: claimed.id,
    };
    let plan = step_db::load(pool, claimed.id).await?;
    if plan.is_empty() {
        // The API writes an operation and its plan in one transaction; a plan-less operation is
        // damaged data, not an operation with nothing to do.
        let err = StepError::permanent("internal", "the operation has no steps");
        return fail(shared, claimed, Some(kind), &err, 0, None).await;
    }
    for step in plan {
        if step.state == "succeeded" || step.state == "skipped" {
            continue;
        }
        let Some(name) = StepName::parse(&step.name) else {
            let err = StepError::permanent("internal", format!("unknown step {}", step.name));
            return fail(shared, claimed, Some(kind), &err, step.attempt, Some(step.position))
                .await;
        };
        match run_step(shared, &ctx, claimed.lease_id, name, step.position, shutdown, lost).await? {
            StepEnd::Done => {
                let mut tx = pool.begin().await?;
                if !leases::fence(&mut tx, claimed.id, claimed.lease_id).await? {
                    return Ok(Stop::LeaseLost);
                }
                step_db::finish(&mut tx, claimed.id, step.position, "succeeded", None).await?;
                tx.commit().await?;
                tracing::info!(operation = %claimed.id, step = name.as_str(), "step succeeded");
                if shared.fault.fire(name.as_str()) {
                    return Ok(Stop::Crashed);
                }
            }
            StepEnd::Failed(err, attempt) => {
                return fail(shared, claimed, Some(kind), &err, attempt, Some(step.position)).await;
            }
            StepEnd::Stop(stop) => return Ok(stop),
        }
    }
    let mut tx = pool.begin().await?;
    if !leases::fence(&mut tx, claimed.id, claimed.lease_id).await? {
        return Ok(Stop::LeaseLost);
    }
    leases::finish(&mut tx, claimed.id, "succeeded", None).await?;
    let force = kind == OperationKind::Delete;
    clusters::set_state(&mut *tx, claimed.cluster_id, end_state(kind).as_str(), force).await?;
    tx.commit().await?;
    tracing::info!(operation = %claimed.id, "operation succeeded");
    Ok(Stop::Finished)
}

/// Fails the step (if any) and the operation; the cluster goes to `failed` with its resources
/// still tracked so a delete (or the sweeper) can clean them up.
async fn fail(
    shared: &Shared,
    claimed: &Claimed,
    kind: Option<OperationKind>,
    err: &StepError,
    attempts: i32,
    position: Option<i32>,
) -> Result<Stop, StoreError> {
    let message = err.final_message(attempts);
    tracing::error!(operation = %claimed.id, error = %err, attempts, "operation failed");
    let mut tx = shared.pool.begin().await?;
    if !leases::fence(&mut tx, claimed.id, claimed.lease_id).await? {
        return Ok(Stop::LeaseLost);
    }
    if let Some(position) = position {
        step_db::finish(&mut tx, claimed.id, position, "failed", Some(&message)).await?;
    }
    step_db::skip_pending(&mut tx, claimed.id).await?;
    leases::finish(&mut tx, claimed.id, "failed", Some((err.code(), &message))).await?;
    if !err.leaves_cluster_unchanged() {
        let force = kind == Some(OperationKind::Delete);
        clusters::set_state(&mut *tx, claimed.cluster_id, ClusterState::Failed.as_str(), force)
            .await?;
    } else if let Some(OperationKind::Update) = kind {
        clusters::set_state(&mut *tx, claimed.cluster_id, ClusterState::Running.as_str(), false)
            .await?;
    }
    tx.commit().await?;
    Ok(Stop::Finished)
}

/// Sleeps unless stopped first; returns why it stopped early.
async fn pause(
    d: Duration,
    shutdown: &CancellationToken,
    lost: &CancellationToken,
) -> Option<Stop> {
    tokio::select! {
        () = shutdown.cancelled() => Some(Stop::Shutdown),
        () = lost.cancelled() => Some(Stop::LeaseLost),
        () = tokio::time::sleep(d) => None,
    }
}

async fn run_step(
    shared: &Shared,
    ctx: &StepCtx,
    owner: Uuid,
    name: StepName,
    position: i32,
    shutdown: &CancellationToken,
    lost: &CancellationToken,
) -> Result<StepEnd, StoreError> {
    let (pool, op) = (&shared.pool, ctx.operation_id);
    loop {
        let Some(attempt) = step_db::begin_attempt(pool, op, owner, position).await? else {
            return Ok(StepEnd::Stop(Stop::LeaseLost));
        };
        let mut shown_wait: Option<String> = None;
        let result = loop {
            let result = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(StepEnd::Stop(Stop::Shutdown)),
                () = lost.cancelled() => return Ok(StepEnd::Stop(Stop::LeaseLost)),
                r = steps::execute(name, ctx) => r,
            };
            match result {
                Ok(Progress::Done) => break Ok(()),
                Ok(Progress::Waiting(reason)) => {
                    if shown_wait.as_deref() != Some(reason.as_str()) {
                        if !step_db::set_error(pool, op, owner, position, Some(&reason)).await? {
                            return Ok(StepEnd::Stop(Stop::LeaseLost));
                        }
                        shown_wait = Some(reason);
                    }
                    if name == StepName::WaitForNodes
                        && leases::superseded_by_delete(pool, op, ctx.cluster.id).await?
                    {
                        let err = StepError::permanent(
                            "superseded",
                            "the cluster was deleted before its nodes registered",
                        );
                        return Ok(StepEnd::Failed(err, attempt));
                    }
                    if let Some(stop) = pause(shared.settings.poll_interval(), shutdown, lost).await
                    {
                        return Ok(StepEnd::Stop(stop));
                    }
                }
                Err(e) => break Err(e),
            }
        };
        match result {
            Ok(()) => return Ok(StepEnd::Done),
            Err(e) if e.retryable() && shared.retry.may_retry(attempt as u32) => {
                tracing::warn!(operation = %op, step = name.as_str(), attempt, error = %e, "step failed; retrying");
                if !step_db::set_error(pool, op, owner, position, Some(&e.public_message())).await?
                {
                    return Ok(StepEnd::Stop(Stop::LeaseLost));
                }
                let delay = shared.retry.jittered(attempt as u32);
                if let Some(stop) = pause(delay, shutdown, lost).await {
                    return Ok(StepEnd::Stop(stop));
                }
            }
            Err(e) => return Ok(StepEnd::Failed(e, attempt)),
        }
    }
}
