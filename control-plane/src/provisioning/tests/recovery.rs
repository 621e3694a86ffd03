//! Failure handling: crashes between steps, lost responses, transient and permanent cloud
//! errors, and leases changing hands.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use coffer_cloud::ErrorKind;

use super::harness::*;
use super::memory_cloud::MemoryCloud;
use crate::domain::OperationKind;
use crate::provisioning::db::leases;
use crate::provisioning::{FaultAction, FaultHook};

/// A fault hook that "crashes" the run after `step` and raises a flag.
fn crash_after(step: &str) -> (FaultHook, Arc<AtomicBool>) {
    let fired = Arc::new(AtomicBool::new(false));
    let f = fired.clone();
    let hook = FaultHook::after_step(
        step,
        FaultAction::Call(Arc::new(move || f.store(true, Ordering::SeqCst))),
    );
    (hook, fired)
}

async fn wait_flag(flag: &AtomicBool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !flag.load(Ordering::SeqCst) {
        assert!(tokio::time::Instant::now() < deadline, "fault hook never fired");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn crash_after_each_step_resumes_on_another_replica_without_duplicates() {
    let steps_to_crash = &OperationKind::CREATE_STEPS[..OperationKind::CREATE_STEPS.len() - 1];
    for crash_step in steps_to_crash {
        let pool = fresh_pool().await;
        let s = seed(&pool, "standard", 3).await;
        let cloud = Arc::new(MemoryCloud::default());
        let (hook, fired) = crash_after(crash_step);
        let a = Replica::start(&pool, cloud.clone(), settings(), hook);
        wait_flag(&fired).await;
        a.stop().await;
        // The crashed run kept its lease: nobody resumes until it lapses.
        let held = op(&pool, s.op_id).await;
        assert_eq!(held.state, "running", "{crash_step}");
        assert!(held.lease_owner.is_some(), "{crash_step}");

        let b = Replica::start(&pool, cloud.clone(), settings(), FaultHook::default());
        wait_for_node_wait(&pool, s.op_id).await;
        register_all(&pool, &cloud, s.cluster_id).await;
        let done = wait_terminal(&pool, s.op_id).await;
        assert_eq!(done.state, "succeeded", "{crash_step}: {done:?}");

        // Committed steps were not re-run; nothing was created twice.
        for st in steps(&pool, s.op_id).await {
            assert_eq!((st.state.as_str(), st.attempt), ("succeeded", 1), "{crash_step}: {st:?}");
        }
        let created: Vec<usize> = ["kms_key", "bucket", "iam_role", "security_group", "instance"]
            .iter()
            .map(|k| cloud.created(k))
            .collect();
        assert_eq!(created, [1, 2, 1, 1, 3], "{crash_step}");
        assert_eq!(resources(&pool, s.cluster_id).await.len(), 9, "{crash_step}");
        b.stop().await;
    }
}

#[tokio::test]
async fn lost_responses_are_retried_and_adopted_not_duplicated() {
    for method in [
        "ensure_kms_key",
        "ensure_bucket",
        "ensure_node_role",
        "ensure_security_group",
        "ensure_instance",
    ] {
        let pool = fresh_pool().await;
        let s = seed(&pool, "standard", 3).await;
        let cloud = Arc::new(MemoryCloud::default());
        cloud.lose_response(method, 1);
        let r = Replica::start(&pool, cloud.clone(), settings(), FaultHook::default());
        wait_for_node_wait(&pool, s.op_id).await;
        // The join token in a re-found instance's user data still registers it.
        register_all(&pool, &cloud, s.cluster_id).await;
        assert_eq!(wait_terminal(&pool, s.op_id).await.state, "succeeded", "{method}");
        let created: Vec<usize> = ["kms_key", "bucket", "iam_role", "security_group", "instance"]
            .iter()
            .map(|k| cloud.created(k))
            .collect();
        assert_eq!(created, [1, 2, 1, 1, 3], "{method}");
        let retried: Vec<i32> = steps(&pool, s.op_id).await.iter().map(|s| s.attempt).collect();
        assert!(retried.contains(&2), "{method}: {retried:?}");
        r.stop().await;
    }
}

#[tokio::test]
async fn transient_errors_are_retried_with_progress_visible() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "dev", 1).await;
    let cloud = Arc::new(MemoryCloud::default());
    cloud.fail("ensure_bucket", ErrorKind::Transient, "SlowDown", 2);
    let mut cfg = settings();
    // Slow enough to observe the retry in progress even when a loaded machine stalls the
    // 10 ms poll for a few hundred milliseconds.
    cfg.retry.initial_backoff_ms = 1500;
    cfg.retry.max_backoff_ms = 1500;
    let r = Replica::start(&pool, cloud.clone(), cfg, FaultHook::default());
    wait_steps(&pool, s.op_id, "a visible retry", |_, st| {
        st[1].state == "running" && st[1].error.as_deref().is_some_and(|e| e.contains("SlowDown"))
    })
    .await;
    let shown = steps(&pool, s.op_id).await[1].error.clone().unwrap_or_default();
    assert!(shown.contains("retrying") && !shown.contains("injected fault"), "{shown}");
    wait_for_node_wait(&pool, s.op_id).await;
    let st = steps(&pool, s.op_id).await;
    assert_eq!(
        (st[1].state.as_str(), st[1].attempt, st[1].error.as_deref()),
        ("succeeded", 3, None)
    );
    r.stop().await;
}

#[tokio::test]
async fn permanent_failure_fails_the_cluster_and_keeps_resources_tracked() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "standard", 3).await;
    let cloud = Arc::new(MemoryCloud::default());
    cloud.fail("ensure_instance", ErrorKind::Permanent, "InstanceLimitExceeded", 1);
    let r = Replica::start(&pool, cloud.clone(), settings(), FaultHook::default());
    let done = wait_terminal(&pool, s.op_id).await;
    assert_eq!(
        (done.state.as_str(), done.error_code.as_deref()),
        ("failed", Some("cloud_quota_exceeded"))
    );
    let msg = done.error_message.unwrap_or_default();
    assert!(msg.contains("quota") && !msg.contains("injected"), "{msg}");
    let st: Vec<(String, i32)> =
        steps(&pool, s.op_id).await.into_iter().map(|s| (s.state, s.attempt)).collect();
    let expect = [
        ("succeeded", 1),
        ("succeeded", 1),
        ("succeeded", 1),
        ("succeeded", 1),
        ("failed", 1),
        ("skipped", 0),
    ];
    assert_eq!(st, expect.map(|(a, b)| (a.to_owned(), b)));
    assert_eq!(cluster_state(&pool, s.cluster_id).await.0, "failed");
    let kinds: Vec<String> =
        resources(&pool, s.cluster_id).await.into_iter().map(|r| r.0).collect();
    assert_eq!(
        kinds,
        ["bucket", "bucket", "iam_role", "instance_profile", "kms_key", "security_group"]
    );

    // A failed cluster can still be deleted; everything tracked goes.
    sqlx::query("UPDATE clusters SET state = 'deleting' WHERE id = $1")
        .bind(s.cluster_id)
        .execute(&pool)
        .await
        .unwrap();
    let del =
        add_operation(&pool, s.org_id, s.cluster_id, OperationKind::Delete, Default::default())
            .await;
    assert_eq!(wait_terminal(&pool, del).await.state, "succeeded");
    assert_eq!(cloud.key(&s.cref).and_then(|k| k.pending_deletion_days), Some(30));
    r.stop().await;
}

#[tokio::test]
async fn transient_errors_that_never_stop_fail_after_max_attempts() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "dev", 1).await;
    let cloud = Arc::new(MemoryCloud::default());
    cloud.fail("ensure_kms_key", ErrorKind::Transient, "ThrottlingException", 100);
    let r = Replica::start(&pool, cloud.clone(), settings(), FaultHook::default());
    let done = wait_terminal(&pool, s.op_id).await;
    assert_eq!(
        (done.state.as_str(), done.error_code.as_deref()),
        ("failed", Some("cloud_unavailable"))
    );
    assert!(done.error_message.unwrap_or_default().contains("gave up after 4 attempts"));
    assert_eq!(steps(&pool, s.op_id).await[0].attempt, 4);
    assert_eq!(cloud.calls().iter().filter(|c| **c == "ensure_kms_key").count(), 4);
    r.stop().await;
}

#[tokio::test]
async fn a_lease_is_exclusive_until_it_lapses_and_then_fences_the_old_owner() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "dev", 1).await;
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    // Long enough that no stall of a loaded machine lets it lapse by itself; the lapse below is
    // made by moving the expiry into the past, as time passing would.
    let lease = Duration::from_secs(60);
    let claimed = leases::claim(&pool, a, lease).await.unwrap().expect("A claims");
    assert_eq!(claimed.id, s.op_id);
    assert!(
        leases::claim(&pool, b, lease).await.unwrap().is_none(),
        "B must not claim a held lease"
    );
    assert!(leases::heartbeat(&pool, s.op_id, a, lease).await.unwrap());

    // A stops heartbeating (it died) and its lease lapses; B takes over.
    assert!(leases::claim(&pool, b, lease).await.unwrap().is_none(), "A's heartbeat renewed it");
    sqlx::query(
        "UPDATE operations SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(s.op_id)
    .execute(&pool)
    .await
    .unwrap();
    let taken = leases::claim(&pool, b, lease).await.unwrap().expect("B takes the lapsed lease");
    assert_eq!(taken.id, s.op_id);
    assert!(!leases::heartbeat(&pool, s.op_id, a, lease).await.unwrap(), "A's heartbeat must fail");
    let mut tx = pool.begin().await.unwrap();
    assert!(!leases::fence(&mut tx, s.op_id, a).await.unwrap(), "A is fenced off");
    assert!(leases::fence(&mut tx, s.op_id, b).await.unwrap());
    tx.rollback().await.unwrap();
    let steps_a =
        crate::provisioning::db::steps::begin_attempt(&pool, s.op_id, a, 0).await.unwrap();
    assert_eq!(steps_a, None, "A cannot record progress");
}

#[tokio::test]
async fn operations_of_one_cluster_run_in_order() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "dev", 1).await;
    let update =
        add_operation(&pool, s.org_id, s.cluster_id, OperationKind::Update, Default::default())
            .await;
    let lease = Duration::from_secs(30);
    let first = leases::claim(&pool, uuid::Uuid::new_v4(), lease).await.unwrap().expect("create");
    assert_eq!(first.id, s.op_id);
    assert!(
        leases::claim(&pool, uuid::Uuid::new_v4(), lease).await.unwrap().is_none(),
        "update waits for create"
    );
    let other = seed(&pool, "dev", 1).await;
    let next =
        leases::claim(&pool, uuid::Uuid::new_v4(), lease).await.unwrap().expect("other cluster");
    assert_eq!(next.id, other.op_id);
    // Once the create finishes, the update is next.
    let mut tx = pool.begin().await.unwrap();
    leases::finish(&mut tx, s.op_id, "succeeded", None).await.unwrap();
    tx.commit().await.unwrap();
    let then = leases::claim(&pool, uuid::Uuid::new_v4(), lease).await.unwrap().expect("update");
    assert_eq!(then.id, update);
}

#[tokio::test]
async fn several_replicas_share_the_work_and_each_step_runs_once() {
    let pool = fresh_pool().await;
    let cloud = Arc::new(MemoryCloud::default());
    let mut seeded = Vec::new();
    for _ in 0..6 {
        seeded.push(seed(&pool, "dev", 1).await);
    }
    let replicas: Vec<Replica> = (0..3)
        .map(|_| Replica::start(&pool, cloud.clone(), settings(), FaultHook::default()))
        .collect();
    for s in &seeded {
        wait_for_node_wait(&pool, s.op_id).await;
        register_all(&pool, &cloud, s.cluster_id).await;
    }
    for s in &seeded {
        assert_eq!(wait_terminal(&pool, s.op_id).await.state, "succeeded");
        for st in steps(&pool, s.op_id).await {
            assert_eq!(st.attempt, 1, "{st:?}");
        }
    }
    assert_eq!(cloud.created("instance"), 6);
    assert_eq!(cloud.created("kms_key"), 6);
    for r in replicas {
        r.stop().await;
    }
}
