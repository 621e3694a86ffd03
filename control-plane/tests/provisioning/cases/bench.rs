//! The engine benchmark (ignored by default; `infra/bench/engine.sh` runs it): N dev clusters
//! created at once through one control plane against moto, then deleted. Reports operations
//! per second and the control plane's CPU time per operation (utime + stime from /proc).
//!
//! Node registration is done by the benchmark as agents would, as soon as each instance
//! exists, so the create figure includes the engine's own wait for nodes.

use std::time::{Duration, Instant};

use futures::future::join_all;
use uuid::Uuid;

use crate::harness::api::Api;
use crate::harness::env::TestEnv;
use crate::harness::poll;
use crate::harness::process::CpProcess;

const REGION: &str = "us-east-1";
const WITHIN: Duration = Duration::from_secs(600);

fn clock_ticks_per_sec() -> f64 {
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().expect("run getconf");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("CLK_TCK")
}

async fn all_done(env: &TestEnv, ops: &[Uuid]) {
    poll("every operation to finish", WITHIN, || async move {
        let (done,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM operations WHERE id = ANY($1) AND state = 'succeeded'",
        )
        .bind(ops)
        .fetch_one(&env.db)
        .await
        .unwrap();
        if done as usize == ops.len() {
            Ok(())
        } else {
            Err(format!("{done} of {} succeeded", ops.len()))
        }
    })
    .await;
}

struct Phase {
    name: &'static str,
    ops: usize,
    seconds: f64,
    cpu_seconds: f64,
}

impl Phase {
    fn report(&self) -> String {
        format!(
            "ENGINE_BENCH phase={} ops={} seconds={:.2} ops_per_sec={:.2} cpu_ms_per_op={:.1}",
            self.name,
            self.ops,
            self.seconds,
            self.ops as f64 / self.seconds,
            self.cpu_seconds * 1000.0 / self.ops as f64
        )
    }
}

fn cpu_seconds(cp: &CpProcess, since: u64, hz: f64) -> f64 {
    (cp.cpu_ticks() - since) as f64 / hz
}

// The report lines are the benchmark's output; engine.sh greps them from stdout.
#[allow(clippy::print_stdout)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run infra/bench/engine.sh"]
async fn engine_benchmark() {
    let n: usize =
        std::env::var("ENGT_BENCH_CLUSTERS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let concurrency = std::env::var("ENGT_BENCH_CONCURRENCY").unwrap_or_else(|_| "16".to_owned());
    let hz = clock_ticks_per_sec();
    let env = TestEnv::new(REGION).await;
    let cp = env
        .start(&env.config().set("COFFER_PROVISIONING__MAX_CONCURRENT_OPERATIONS", &concurrency))
        .await;
    let api = Api::sign_up(&cp.base).await;

    let (t0, cpu0) = (Instant::now(), cp.cpu_ticks());
    let created =
        join_all((0..n).map(|_| api.create_cluster("dev", REGION, &["203.0.113.0/24"]))).await;
    let crefs: Vec<_> = created.iter().map(|c| c.cref.clone()).collect();
    api.register_all(&env.aws, &crefs, WITHIN).await;
    let ops: Vec<Uuid> = created.iter().map(|c| c.op).collect();
    all_done(&env, &ops).await;
    let create = Phase {
        name: "create",
        ops: n,
        seconds: t0.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds(&cp, cpu0, hz),
    };

    let (t1, cpu1) = (Instant::now(), cp.cpu_ticks());
    let deleted = join_all(crefs.iter().map(|c| api.delete_cluster(c))).await;
    let ops: Vec<Uuid> = deleted.iter().map(|d| d.op).collect();
    all_done(&env, &ops).await;
    let delete = Phase {
        name: "delete",
        ops: n,
        seconds: t1.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds(&cp, cpu1, hz),
    };

    println!("ENGINE_BENCH clusters={n} max_concurrent_operations={concurrency}");
    println!("{}", create.report());
    println!("{}", delete.report());
    cp.stop().await;
}
