//! Crash at every step boundary: the control plane runs as a real child process with
//! `COFFER_FAULT_EXIT_AFTER_STEP=<step>`, dies right after committing that step, is started
//! again without the hook, and the operation finishes with exactly one of each resource (no
//! leak, no duplicate), counted in AWS by tag.

use std::time::Duration;

use uuid::Uuid;

use crate::harness::api::{Api, Created};
use crate::harness::aws::Census;
use crate::harness::db;
use crate::harness::env::TestEnv;
use crate::harness::process::CpProcess;

const WITHIN: Duration = Duration::from_secs(90);
/// Crash tests share a region; clusters are told apart by id.
const REGION: &str = "ap-northeast-1";

/// Waits for the process to die from the fault hook, registering the cluster's node as soon
/// as it exists (as its agent would) in case the process is still alive by then.
/// Returns whether the node registered.
async fn until_crashed(env: &TestEnv, api: &Api, created: &Created, cp: &mut CpProcess) -> bool {
    let deadline = tokio::time::Instant::now() + WITHIN;
    let mut registered = false;
    loop {
        if let Some(status) = cp.exited() {
            assert_eq!(
                status.code(),
                Some(137),
                "the fault hook exits with 137; output:\n{}",
                cp.output()
            );
            return registered;
        }
        if !registered {
            registered = try_register(env, api, created).await;
        }
        assert!(tokio::time::Instant::now() < deadline, "never crashed; output:\n{}", cp.output());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One registration attempt of the cluster's single node; false if not possible yet.
async fn try_register(env: &TestEnv, api: &Api, created: &Created) -> bool {
    let c = &created.cref;
    let Some(inst) = env.aws.instances(c).await.into_iter().next() else { return false };
    let id = inst.instance_id().unwrap_or_default().to_owned();
    let doc = env.aws.bootstrap(&id).await;
    let token = doc.join_token.as_ref().map(|t| t.expose().to_owned()).unwrap_or_default();
    match api.register_node(&token, &id, doc.node_index, c.cluster_id).await {
        (200, _) => true,
        // Not recorded yet, or the process is going down: retry.
        (0 | 409, _) => false,
        (status, body) => panic!("registering {id}: {status} {body}"),
    }
}

/// The step committed before the crash, and the operation is still in progress.
async fn assert_stopped_after(env: &TestEnv, op: Uuid, step: &str) {
    let steps = db::steps(&env.db, op).await;
    let at = steps
        .iter()
        .position(|s| s.0 == step)
        .unwrap_or_else(|| panic!("no step {step} in {steps:?}"));
    assert!(
        steps[..=at].iter().all(|s| s.1 == "succeeded"),
        "steps up to {step} committed: {steps:?}"
    );
    assert!(
        steps[at + 1..].iter().all(|s| s.1 != "succeeded"),
        "nothing after {step} ran: {steps:?}"
    );
}

/// Every step of the finished operation succeeded; only the step interrupted may have run twice.
async fn assert_each_step_once(env: &TestEnv, op: Uuid) {
    let steps = db::steps(&env.db, op).await;
    for (name, state, attempt) in &steps {
        assert_eq!(state, "succeeded", "{name}: {steps:?}");
        assert!(*attempt <= 2, "{name} ran {attempt} times: {steps:?}");
    }
}

/// A control plane with the fault hook: it exits right after committing `step`.
async fn start_crashing_after(env: &TestEnv, step: &str) -> CpProcess {
    let mut config = env.config();
    config.exit_after_step = Some(step.to_owned());
    env.start(&config).await
}

/// Waits for the hooked process to exit through its fault hook, and checks that `op` stopped
/// right after `step`.
async fn assert_crashed_after(env: &TestEnv, cp: &mut CpProcess, op: Uuid, step: &str) {
    let status = cp.wait_exit(WITHIN).await;
    assert_eq!(status.code(), Some(137), "output:\n{}", cp.output());
    assert_stopped_after(env, op, step).await;
}

/// A running one-node dev cluster, made through a control plane that is stopped again: the
/// environment, the customer who owns the cluster, and the cluster.
async fn running_cluster() -> (TestEnv, Api, Created) {
    let env = TestEnv::new(REGION).await;
    let setup = env.start(&env.config()).await;
    let api = Api::sign_up(&setup.base).await;
    let created = api.create_cluster("dev", REGION, &["203.0.113.0/24"]).await;
    api.register_nodes(&env.aws, &created.cref, 1, WITHIN).await;
    api.wait_succeeded(created.op, WITHIN).await;
    setup.stop().await;
    (env, api, created)
}

async fn crash_during_create(step: &str) {
    let env = TestEnv::new(REGION).await;
    let mut first = start_crashing_after(&env, step).await;
    let api = Api::sign_up(&first.base).await;
    let created = api.create_cluster("dev", REGION, &["203.0.113.0/24"]).await;
    let mut registered = until_crashed(&env, &api, &created, &mut first).await;
    assert_stopped_after(&env, created.op, step).await;

    let second = env.start(&env.config()).await;
    let api = api.at(&second.base);
    if !registered {
        registered = api.register_nodes(&env.aws, &created.cref, 1, WITHIN).await == 1;
    }
    assert!(registered);
    api.wait_succeeded(created.op, WITHIN).await;
    assert_eq!(
        env.aws.census(&created.cref).await,
        Census::running(1),
        "after a crash after {step}"
    );
    assert_each_step_once(&env, created.op).await;
    second.stop().await;
}

async fn crash_during_delete(step: &str) {
    let (env, api, created) = running_cluster().await;
    let mut first = start_crashing_after(&env, step).await;
    let delete = api.at(&first.base).delete_cluster(&created.cref).await;
    assert_crashed_after(&env, &mut first, delete.op, step).await;

    let second = env.start(&env.config()).await;
    api.at(&second.base).wait_succeeded(delete.op, WITHIN).await;
    assert_eq!(
        env.aws.census(&created.cref).await,
        Census::deleted(2),
        "after a crash after {step}"
    );
    assert_each_step_once(&env, delete.op).await;
    second.stop().await;
}

async fn crash_during_update(step: &str) {
    let (env, api, created) = running_cluster().await;
    let mut first = start_crashing_after(&env, step).await;
    let allow = ["192.0.2.0/28", "198.51.100.0/24"];
    let update = api
        .at(&first.base)
        .patch_cluster(&created.cref, &serde_json::json!({"ip_allow_list": allow}))
        .await;
    assert_crashed_after(&env, &mut first, update.op, step).await;

    let second = env.start(&env.config()).await;
    api.at(&second.base).wait_succeeded(update.op, WITHIN).await;
    assert_eq!(
        env.aws.census(&created.cref).await,
        Census::running(1),
        "after a crash after {step}"
    );
    crate::cases::spec::security_group(&env.aws, &created.cref, &allow).await;
    assert_each_step_once(&env, update.op).await;
    second.stop().await;
}

macro_rules! crash_tests {
    ($run:ident: $($name:ident => $step:literal),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $run($step).await;
        }
    )*};
}

crash_tests!(crash_during_create:
    crash_after_create_kms_key => "create_kms_key",
    crash_after_create_buckets => "create_buckets",
    crash_after_create_iam_role => "create_iam_role",
    crash_after_create_security_group => "create_security_group",
    crash_after_launch_instances => "launch_instances",
    crash_after_wait_for_nodes => "wait_for_nodes",
);

crash_tests!(crash_during_delete:
    crash_after_terminate_instances => "terminate_instances",
    crash_after_delete_security_group => "delete_security_group",
    crash_after_delete_iam_role => "delete_iam_role",
    crash_after_delete_buckets => "delete_buckets",
    crash_after_schedule_kms_key_deletion => "schedule_kms_key_deletion",
);

crash_tests!(crash_during_update:
    crash_after_update_security_group => "update_security_group",
    crash_after_update_wait_for_nodes => "wait_for_nodes",
);

/// The crash tests above must cover every step the create and delete plans have.
#[tokio::test]
async fn crash_tests_cover_every_planned_step() {
    use coffer_control_plane::domain::{OperationKind, UpdatePlan};
    let covered = [
        "create_kms_key",
        "create_buckets",
        "create_iam_role",
        "create_security_group",
        "launch_instances",
        "wait_for_nodes",
        "terminate_instances",
        "delete_security_group",
        "delete_iam_role",
        "delete_buckets",
        "schedule_kms_key_deletion",
        "update_security_group",
    ];
    let network = UpdatePlan { network: true, version: false };
    let plans = [
        (OperationKind::Create, UpdatePlan::default()),
        (OperationKind::Delete, UpdatePlan::default()),
        (OperationKind::Update, network),
    ];
    for (kind, plan) in plans {
        for step in kind.steps(plan) {
            assert!(covered.contains(&step), "no crash test after {kind:?} step {step}");
        }
    }
}
