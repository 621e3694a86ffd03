//! Set-up for the engine tests: a fresh database per test (on the server named by
//! `COFFER_TEST_DATABASE_URL`), a seeded org and cluster with its operation, engines with
//! short leases and back-offs, and polling helpers with deadlines.

use std::sync::Arc;
use std::time::Duration;

use coffer_cloud::{Cloud, ClusterRef};
use coffer_test_support::pg;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::memory_cloud::MemoryCloud;
use crate::config::AuthSettings;
use crate::domain::{OperationKind, UpdatePlan};
use crate::provisioning::db::images;
use crate::provisioning::{Engine, FaultHook, ProvisioningSettings};
use crate::service::{ControlPlane, NodeRegistration, OperationEvents, ServiceError};
use crate::store::clusters::{self, NewCluster};
use crate::store::operations;

pub const REGION: &str = "eu-west-1";
pub const IMAGE: &str = "ami-0123456789abcdef0";
const DEADLINE: Duration = Duration::from_secs(20);

pub async fn fresh_pool() -> PgPool {
    let url = pg::fresh_database(&pg::admin_url()).await.url;
    let pool = PgPoolOptions::new().max_connections(8).connect(&url).await.expect("connect");
    crate::store::migrate(&pool).await.expect("migrate");
    pool
}

/// A seeded cluster and its create operation.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub org_id: Uuid,
    pub cluster_id: Uuid,
    pub op_id: Uuid,
    pub cref: ClusterRef,
}

/// An org, the image catalog entry, a cluster of `tier` and its pending create operation.
pub async fn seed(pool: &PgPool, tier: &str, node_count: i32) -> Seeded {
    let org = crate::store::orgs::insert(pool, "acme").await.expect("org");
    images::put_image(pool, "1.0.0", REGION, IMAGE).await.expect("image");
    let cluster_id = Uuid::now_v7();
    let allow = vec!["203.0.113.0/24".to_owned()];
    clusters::insert(
        pool,
        NewCluster {
            id: cluster_id,
            org_id: org.id,
            name: "prod",
            tier,
            size: "small",
            region: REGION,
            version: "1.0.0",
            public_endpoint: false,
            ip_allow_list: &allow,
            node_count,
        },
    )
    .await
    .expect("cluster");
    let op_id =
        add_operation(pool, org.id, cluster_id, OperationKind::Create, UpdatePlan::default()).await;
    Seeded { org_id: org.id, cluster_id, op_id, cref: ClusterRef::new(cluster_id, org.id, REGION) }
}

pub async fn add_operation(
    pool: &PgPool,
    org_id: Uuid,
    cluster_id: Uuid,
    kind: OperationKind,
    plan: UpdatePlan,
) -> Uuid {
    let id = Uuid::now_v7();
    // One transaction, as the API does: the engine must never see an operation without its plan.
    let mut tx = pool.begin().await.expect("tx");
    operations::insert(&mut tx, id, org_id, cluster_id, kind.as_str(), &kind.steps(plan))
        .await
        .expect("operation");
    tx.commit().await.expect("commit");
    id
}

pub fn settings() -> ProvisioningSettings {
    let mut s = ProvisioningSettings {
        enabled: true,
        poll_interval_ms: 20,
        // Long enough that a loaded CI machine does not miss heartbeats (takeover tests wait
        // for it to lapse).
        lease_duration_ms: 2000,
        ..ProvisioningSettings::default()
    };
    s.retry.initial_backoff_ms = 5;
    s.retry.max_backoff_ms = 20;
    s.retry.max_attempts = 4;
    s.aws.control_plane_principal_arn = "arn:aws:iam::123456789012:role/cp".into();
    // Start-up derives it from the MSP signing key; any base64 key shows it is passed through.
    s.msp_public_key = Some("bXNwLXB1YmxpYy1rZXktZm9yLXRlc3RzLTMyYnl0ZXM=".into());
    s
}

/// A running engine replica.
pub struct Replica {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Replica {
    pub fn start(
        pool: &PgPool,
        cloud: Arc<MemoryCloud>,
        s: ProvisioningSettings,
        fault: FaultHook,
    ) -> Replica {
        let cloud: Arc<dyn Cloud> = cloud;
        let engine = Engine::with_fault_hook(pool.clone(), cloud, s, fault);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(engine.run(shutdown.clone()));
        Replica { shutdown, task }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("engine task");
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpView {
    pub state: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub lease_owner: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StepView {
    pub name: String,
    pub state: String,
    pub attempt: i32,
    pub error: Option<String>,
}

pub async fn op(pool: &PgPool, id: Uuid) -> OpView {
    sqlx::query_as(
        "SELECT state, error_code, error_message, lease_owner FROM operations WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .expect("operation")
}

pub async fn steps(pool: &PgPool, id: Uuid) -> Vec<StepView> {
    sqlx::query_as(
        "SELECT name, state, attempt, error FROM operation_steps WHERE operation_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("steps")
}

pub async fn cluster_state(pool: &PgPool, id: Uuid) -> (String, Option<String>) {
    sqlx::query_as("SELECT state, address FROM clusters WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("cluster")
}

/// `(kind, role, state)` of every tracked resource, sorted.
pub async fn resources(pool: &PgPool, cluster: Uuid) -> Vec<(String, Option<String>, String)> {
    sqlx::query_as(
        "SELECT kind, role, state FROM cluster_resources WHERE cluster_id = $1 ORDER BY kind, role, resource_id",
    )
    .bind(cluster)
    .fetch_all(pool)
    .await
    .expect("resources")
}

/// Polls until `done` holds for the steps of `op_id`, or panics with the last view.
pub async fn wait_steps(
    pool: &PgPool,
    op_id: Uuid,
    what: &str,
    done: impl Fn(&OpView, &[StepView]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (o, s) = (op(pool, op_id).await, steps(pool, op_id).await);
        if done(&o, &s) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {o:?} {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the operation waits for its nodes.
pub async fn wait_for_node_wait(pool: &PgPool, op_id: Uuid) {
    wait_steps(pool, op_id, "wait_for_nodes running", |_, s| {
        s.iter().any(|s| s.name == "wait_for_nodes" && s.state == "running" && s.error.is_some())
    })
    .await;
}

pub async fn wait_terminal(pool: &PgPool, op_id: Uuid) -> OpView {
    wait_steps(pool, op_id, "a terminal state", |o, _| {
        o.state == "succeeded" || o.state == "failed"
    })
    .await;
    op(pool, op_id).await
}

pub fn control_plane(pool: &PgPool) -> ControlPlane {
    ControlPlane::new(pool.clone(), AuthSettings::default(), OperationEvents::default())
        .expect("cp")
}

/// Registers every live node of the cluster with the join token from its user data.
pub async fn register_all(pool: &PgPool, cloud: &MemoryCloud, cluster: Uuid) {
    let cp = control_plane(pool);
    for r in cloud
        .instances()
        .into_iter()
        .filter(|r| r.cluster_id == cluster && r.instance.state.is_live())
    {
        let token =
            r.bootstrap.join_token.as_ref().expect("join token in user data").expose().to_owned();
        register(&cp, &token, &r.instance.instance_id, r.bootstrap.node_index)
            .await
            .expect("register");
    }
}

pub async fn register(
    cp: &ControlPlane,
    token: &str,
    instance_id: &str,
    node_index: u32,
) -> Result<String, ServiceError> {
    let node = cp
        .register_node(NodeRegistration {
            join_token: SecretString::from(token.to_owned()),
            instance_id: instance_id.to_owned(),
            node_index,
            cluster_id: None,
        })
        .await?;
    Ok(node.node_credential.expose_secret().to_owned())
}
