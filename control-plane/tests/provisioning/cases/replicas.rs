//! Two control-plane processes on one database take 100 concurrent creates: every operation is
//! claimed and run exactly once (one claim each; a step may retry only inside its claim), all
//! succeed, and AWS holds exactly one of each resource per cluster.

use std::time::Duration;

use futures::future::join_all;
use uuid::Uuid;

use crate::harness::api::Api;
use crate::harness::aws::Census;
use crate::harness::env::TestEnv;
use crate::harness::poll;

const CLUSTERS: usize = 100;
const REGION: &str = "ap-southeast-1";
const WITHIN: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_run_each_of_100_concurrent_creates_once() {
    let env = TestEnv::new(REGION).await;
    let a = env.start(&env.config()).await;
    let b = env.start(&env.config()).await;
    let api_a = Api::sign_up(&a.base).await;
    let api_b = api_a.at(&b.base);
    // Every request at once, half through each replica's API.
    let created = join_all((0..CLUSTERS).map(|i| {
        let api = if i % 2 == 0 { &api_a } else { &api_b };
        api.create_cluster("dev", REGION, &["203.0.113.0/24"])
    }))
    .await;
    let crefs: Vec<_> = created.iter().map(|c| c.cref.clone()).collect();
    api_a.register_all(&env.aws, &crefs, WITHIN).await;
    let ops: Vec<Uuid> = created.iter().map(|c| c.op).collect();
    let (db, ops_ref) = (&env.db, &ops);
    poll("every create to finish", WITHIN, || async move {
        let (done,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM operations WHERE id = ANY($1) AND state IN ('succeeded', 'failed')",
        )
        .bind(ops_ref)
        .fetch_one(db)
        .await
        .unwrap();
        if done as usize == CLUSTERS {
            Ok(())
        } else {
            Err(format!("{done} of {CLUSTERS} finished"))
        }
    })
    .await;

    let failed: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "SELECT id, state, error_message FROM operations WHERE id = ANY($1) AND state <> 'succeeded'",
    )
    .bind(&ops)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert!(failed.is_empty(), "operations did not succeed: {failed:?}");
    // A step may be retried by the replica that owns it after a transient AWS error (moto is
    // slow when the machine is loaded); running an operation twice would show up as a second
    // claim below and as duplicate resources in the census, not here.
    let unfinished: Vec<(Uuid, String, i32, Option<String>)> = sqlx::query_as(
        "SELECT operation_id, name, attempt, error FROM operation_steps \
         WHERE operation_id = ANY($1) AND state <> 'succeeded'",
    )
    .bind(&ops)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert!(unfinished.is_empty(), "steps did not succeed: {unfinished:?}");
    let retried: Vec<(Uuid, String, i32, Option<String>)> = sqlx::query_as(
        "SELECT operation_id, name, attempt, error FROM operation_steps \
         WHERE operation_id = ANY($1) AND attempt > 1",
    )
    .bind(&ops)
    .fetch_all(&env.db)
    .await
    .unwrap();
    if !retried.is_empty() {
        eprintln!("steps retried after transient errors: {retried:?}");
    }
    // Each operation was claimed once, and both replicas took a share.
    let (claims_a, claims_b) = (a.claims(), b.claims());
    assert_eq!(claims_a + claims_b, CLUSTERS as u64, "claims: {claims_a} + {claims_b}");
    assert!(claims_a > 0 && claims_b > 0, "both replicas worked: {claims_a} + {claims_b}");

    let census = env.aws.census_all().await;
    for c in &crefs {
        assert_eq!(
            census.get(&c.id()).copied().unwrap_or_default(),
            Census::running(1),
            "cluster {}",
            c.id()
        );
    }
    a.stop().await;
    b.stop().await;
}
