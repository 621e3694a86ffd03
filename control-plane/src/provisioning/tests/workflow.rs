//! Happy paths: create, update, delete, and a delete overtaking a create.

use std::sync::Arc;

use coffer_cloud::ApiAccess;

use super::harness::*;
use super::memory_cloud::MemoryCloud;
use crate::domain::{OperationKind, UpdatePlan};
use crate::provisioning::FaultHook;

/// The first call of each mutating method, in order of first appearance.
fn first_calls(calls: &[&'static str]) -> Vec<&'static str> {
    let mut out = Vec::new();
    for c in calls {
        if !c.starts_with("describe") && !c.starts_with("list") && !out.contains(c) {
            out.push(*c);
        }
    }
    out
}

#[tokio::test]
async fn create_runs_steps_in_order_waits_for_nodes_then_runs() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "dev", 1).await;
    let cloud = Arc::new(MemoryCloud::default());
    let replica = Replica::start(&pool, cloud.clone(), settings(), FaultHook::default());

    wait_for_node_wait(&pool, s.op_id).await;
    // Visibly waiting: running, at the last step, with the reason shown; the cluster creating.
    let steps_now = steps(&pool, s.op_id).await;
    let names: Vec<&str> = steps_now.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, OperationKind::CREATE_STEPS);
    for st in &steps_now[..5] {
        assert_eq!((st.state.as_str(), st.attempt), ("succeeded", 1), "{st:?}");
    }
    assert!(steps_now[5].error.as_deref().unwrap_or_default().contains("0 of 1"), "{steps_now:?}");
    assert_eq!(op(&pool, s.op_id).await.state, "running");
    assert_eq!(cluster_state(&pool, s.cluster_id).await.0, "creating");
    assert_eq!(
        first_calls(&cloud.calls()),
        [
            "ensure_kms_key",
            "ensure_bucket",
            "ensure_node_role",
            "ensure_security_group",
            "ensure_instance"
        ]
    );

    register_all(&pool, &cloud, s.cluster_id).await;
    let done = wait_terminal(&pool, s.op_id).await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert_eq!(done.lease_owner, None);
    let (state, address) = cluster_state(&pool, s.cluster_id).await;
    assert_eq!(state, "running");
    assert!(address.is_some_and(|a| a.starts_with("https://10.0.0.") && a.ends_with(":8200")));

    let tracked = resources(&pool, s.cluster_id).await;
    let expect: Vec<(String, Option<String>, String)> = [
        ("bucket", Some("audit")),
        ("bucket", Some("snapshots")),
        ("iam_role", None),
        ("instance", Some("0")),
        ("instance_profile", None),
        ("kms_key", None),
        ("security_group", Some("vpc-default")),
    ]
    .into_iter()
    .map(|(k, r)| (k.to_owned(), r.map(str::to_owned), "present".to_owned()))
    .collect();
    assert_eq!(tracked, expect);

    // The key policy names the node role; the node got the right bootstrap document.
    let key = cloud.key(&s.cref).expect("key");
    assert!(key.node_role_arn.is_some_and(|a| a.ends_with(&s.cref.node_role_name())));
    let inst = &cloud.instances()[0];
    assert_eq!(inst.image_id, IMAGE);
    assert_eq!(inst.instance_type, "t3.medium");
    assert_eq!(inst.bootstrap.cluster_id, s.cluster_id);
    assert_eq!(inst.bootstrap.kms_key_arn, key.key.arn);
    assert_eq!(inst.bootstrap.snapshot_bucket, format!("coffer-{}-snapshots", s.cluster_id));
    assert_eq!(inst.bootstrap.control_plane_url, settings().control_plane_url);
    assert_eq!(inst.bootstrap.msp_public_key, settings().msp_public_key);
    assert!(inst.bootstrap.msp_public_key.is_some(), "nodes learn the MSP bundle key");
    replica.stop().await;
}

/// Creates a 3-node cluster and runs it to `running`.
async fn running_cluster(pool: &sqlx::PgPool, cloud: &Arc<MemoryCloud>) -> (Seeded, Replica) {
    let s = seed(pool, "standard", 3).await;
    let replica = Replica::start(pool, cloud.clone(), settings(), FaultHook::default());
    wait_for_node_wait(pool, s.op_id).await;
    register_all(pool, cloud, s.cluster_id).await;
    assert_eq!(wait_terminal(pool, s.op_id).await.state, "succeeded");
    (s, replica)
}

#[tokio::test]
async fn three_nodes_spread_over_zones() {
    let pool = fresh_pool().await;
    let cloud = Arc::new(MemoryCloud::default());
    let (s, replica) = running_cluster(&pool, &cloud).await;
    let mut zones: Vec<String> =
        cloud.instances().iter().filter_map(|r| r.instance.availability_zone.clone()).collect();
    zones.sort();
    assert_eq!(zones, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
    let indexes: Vec<u32> = cloud.instances().iter().map(|r| r.bootstrap.node_index).collect();
    assert_eq!(indexes, [0, 1, 2]);
    assert_eq!(cloud.created("instance"), 3);
    assert!(cloud.instances().iter().all(|r| r.cluster_id == s.cluster_id));
    replica.stop().await;
}

#[tokio::test]
async fn update_rewrites_the_security_group() {
    let pool = fresh_pool().await;
    let cloud = Arc::new(MemoryCloud::default());
    let (s, replica) = running_cluster(&pool, &cloud).await;
    assert_eq!(
        cloud.group_ingress(&s.cref).map(|i| i.access),
        Some(ApiAccess::AllowList(vec!["203.0.113.0/24".into()]))
    );

    let new_list = vec!["198.51.100.7/32".to_owned(), "2001:db8::/48".to_owned()];
    sqlx::query("UPDATE clusters SET ip_allow_list = $2 WHERE id = $1")
        .bind(s.cluster_id)
        .bind(&new_list)
        .execute(&pool)
        .await
        .unwrap();
    let plan = UpdatePlan { network: true, version: false };
    let update = add_operation(&pool, s.org_id, s.cluster_id, OperationKind::Update, plan).await;
    assert_eq!(wait_terminal(&pool, update).await.state, "succeeded");
    assert_eq!(
        cloud.group_ingress(&s.cref).map(|i| i.access),
        Some(ApiAccess::AllowList(new_list))
    );
    assert_eq!(cluster_state(&pool, s.cluster_id).await.0, "running");

    sqlx::query("UPDATE clusters SET public_endpoint = true WHERE id = $1")
        .bind(s.cluster_id)
        .execute(&pool)
        .await
        .unwrap();
    let update = add_operation(&pool, s.org_id, s.cluster_id, OperationKind::Update, plan).await;
    assert_eq!(wait_terminal(&pool, update).await.state, "succeeded");
    assert_eq!(cloud.group_ingress(&s.cref).map(|i| i.access), Some(ApiAccess::Public));
    // No second group, no new instances.
    assert_eq!((cloud.created("security_group"), cloud.created("instance")), (1, 3));
    replica.stop().await;
}

#[tokio::test]
async fn version_upgrade_fails_visibly_and_leaves_the_cluster_running() {
    let pool = fresh_pool().await;
    let cloud = Arc::new(MemoryCloud::default());
    let (s, replica) = running_cluster(&pool, &cloud).await;
    let plan = UpdatePlan { network: false, version: true };
    let update = add_operation(&pool, s.org_id, s.cluster_id, OperationKind::Update, plan).await;
    let done = wait_terminal(&pool, update).await;
    assert_eq!((done.state.as_str(), done.error_code.as_deref()), ("failed", Some("unsupported")));
    let st = steps(&pool, update).await;
    assert_eq!((st[0].state.as_str(), st[1].state.as_str()), ("failed", "skipped"));
    assert_eq!(cluster_state(&pool, s.cluster_id).await.0, "running");
    replica.stop().await;
}

async fn delete_and_wait(pool: &sqlx::PgPool, s: &Seeded) -> OpView {
    sqlx::query("UPDATE clusters SET state = 'deleting' WHERE id = $1")
        .bind(s.cluster_id)
        .execute(pool)
        .await
        .unwrap();
    let del =
        add_operation(pool, s.org_id, s.cluster_id, OperationKind::Delete, UpdatePlan::default())
            .await;
    wait_terminal(pool, del).await
}

#[tokio::test]
async fn delete_tears_down_in_reverse_and_retains_buckets() {
    let pool = fresh_pool().await;
    let cloud = Arc::new(MemoryCloud::default());
    let (s, replica) = running_cluster(&pool, &cloud).await;
    let before = cloud.calls().len();
    // A second key tagged for the cluster (left by a retried CreateKey) goes too.
    let stray = cloud.plant_stray_key(&s.cref);
    let done = delete_and_wait(&pool, &s).await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert_eq!(cluster_state(&pool, s.cluster_id).await.0, "deleted");

    let calls = cloud.calls()[before..].to_vec();
    assert_eq!(
        first_calls(&calls),
        [
            "terminate_instances",
            "delete_security_group",
            "delete_node_role",
            "schedule_kms_key_deletion"
        ]
    );
    assert!(cloud
        .instances()
        .iter()
        .all(|r| r.instance.state == coffer_cloud::InstanceState::Terminated));
    assert_eq!(cloud.key(&s.cref).and_then(|k| k.pending_deletion_days), Some(30));
    assert_eq!(cloud.stray_key_deletion(&stray), Some(30));
    // Buckets outlive the cluster for the retention period.
    assert_eq!(cloud.bucket_names().len(), 2);
    assert!(cloud.role_names().is_empty());
    let tracked = resources(&pool, s.cluster_id).await;
    let state_of = |k: &str| -> Vec<String> {
        tracked.iter().filter(|t| t.0 == k).map(|t| t.2.clone()).collect()
    };
    assert_eq!(state_of("bucket"), ["retained", "retained"]);
    assert_eq!(state_of("kms_key"), ["deleting", "deleting"]);
    assert_eq!(state_of("instance"), ["deleted", "deleted", "deleted"]);
    assert_eq!(state_of("security_group"), ["deleted"]);
    let purge_after: Vec<bool> = sqlx::query_scalar(
        "SELECT purge_after > now() + interval '29 days' FROM cluster_resources WHERE cluster_id = $1 AND kind = 'bucket'",
    )
    .bind(s.cluster_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(purge_after, [true, true]);

    // Once retention ends, the purger deletes them.
    sqlx::query("UPDATE cluster_resources SET purge_after = now() WHERE cluster_id = $1 AND kind = 'bucket'")
        .bind(s.cluster_id)
        .execute(&pool)
        .await
        .unwrap();
    replica.stop().await;
    let replica = Replica::start(&pool, cloud.clone(), settings(), FaultHook::default());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cloud.bucket_names().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "buckets not purged");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    replica.stop().await;
}

#[tokio::test]
async fn delete_without_retention_purges_buckets_before_the_key() {
    let pool = fresh_pool().await;
    let cloud = Arc::new(MemoryCloud::default());
    let (s, replica) = running_cluster(&pool, &cloud).await;
    replica.stop().await;
    let mut cfg = settings();
    cfg.bucket_retention_days = 0;
    let replica = Replica::start(&pool, cloud.clone(), cfg, FaultHook::default());
    let before = cloud.calls().len();
    assert_eq!(delete_and_wait(&pool, &s).await.state, "succeeded");
    let calls = first_calls(&cloud.calls()[before..]);
    assert_eq!(
        calls,
        [
            "terminate_instances",
            "delete_security_group",
            "delete_node_role",
            "delete_bucket",
            "schedule_kms_key_deletion"
        ]
    );
    assert!(cloud.bucket_names().is_empty());
    replica.stop().await;
}

#[tokio::test]
async fn delete_overtakes_a_create_waiting_for_nodes() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "dev", 1).await;
    let cloud = Arc::new(MemoryCloud::default());
    let replica = Replica::start(&pool, cloud.clone(), settings(), FaultHook::default());
    wait_for_node_wait(&pool, s.op_id).await;
    let del = delete_and_wait(&pool, &s).await;
    assert_eq!(del.state, "succeeded", "{del:?}");
    let create = op(&pool, s.op_id).await;
    assert_eq!(
        (create.state.as_str(), create.error_code.as_deref()),
        ("failed", Some("superseded"))
    );
    assert_eq!(cluster_state(&pool, s.cluster_id).await.0, "deleted");
    replica.stop().await;
}

/// The engine's instance-IP address is a fallback: once a node has reported its own address
/// (leader heartbeat), the engine finishing `wait_for_nodes` later must not overwrite it.
#[tokio::test]
async fn a_node_reported_address_wins_over_the_instance_ip() {
    use crate::provisioning::db::clusters::set_address;
    let pool = fresh_pool().await;
    let s = seed(&pool, "dev", 1).await;
    set_address(&pool, s.cluster_id, "https://10.0.0.1:8200").await.unwrap();
    assert_eq!(
        cluster_state(&pool, s.cluster_id).await.1.as_deref(),
        Some("https://10.0.0.1:8200")
    );

    sqlx::query(
        "INSERT INTO cluster_nodes (cluster_id, node_index, instance_id, credential_hash, \
         api_address) VALUES ($1, 0, 'i-0aaa', $2, 'http://127.0.3.7:8200')",
    )
    .bind(s.cluster_id)
    .bind(crate::service::hash_token("cfn_x").as_slice())
    .execute(&pool)
    .await
    .unwrap();
    crate::store::node_health::set_cluster_address(&pool, s.cluster_id, "http://127.0.3.7:8200")
        .await
        .unwrap();
    set_address(&pool, s.cluster_id, "https://10.0.0.2:8200").await.unwrap();
    assert_eq!(
        cluster_state(&pool, s.cluster_id).await.1.as_deref(),
        Some("http://127.0.3.7:8200")
    );
}
