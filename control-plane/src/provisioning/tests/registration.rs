//! Node registration: one-time, bound to the instance, expiring.

use std::sync::Arc;

use super::harness::*;
use super::memory_cloud::MemoryCloud;
use crate::provisioning::FaultHook;
use crate::service::{hash_token, ServiceError};
use crate::store::nodes;

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Unauthenticated,
    Conflict,
    Invalid,
}

fn outcome(r: &Result<String, ServiceError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(ServiceError::Unauthenticated) => Outcome::Unauthenticated,
        Err(ServiceError::Conflict(_)) => Outcome::Conflict,
        Err(ServiceError::Invalid(_)) => Outcome::Invalid,
        Err(e) => panic!("unexpected {e:?}"),
    }
}

async fn issue(
    pool: &sqlx::PgPool,
    s: &Seeded,
    token: &str,
    index: i32,
    ttl: i64,
    bind: Option<&str>,
) {
    nodes::insert_join_token(pool, &hash_token(token), s.cluster_id, s.op_id, index, ttl)
        .await
        .unwrap();
    if let Some(instance) = bind {
        nodes::bind_join_tokens(pool, s.cluster_id, s.op_id, index, instance).await.unwrap();
    }
}

#[tokio::test]
async fn join_tokens_are_one_time_bound_and_expiring() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "standard", 3).await;
    let cp = control_plane(&pool);
    issue(&pool, &s, "good", 0, 3600, Some("i-0aaa")).await;
    issue(&pool, &s, "unbound", 1, 3600, None).await;
    issue(&pool, &s, "expired", 2, 3600, Some("i-0ccc")).await;
    sqlx::query(
        "UPDATE join_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
    )
    .bind(hash_token("expired").as_slice())
    .execute(&pool)
    .await
    .unwrap();

    let table: [(&str, &str, u32, Outcome); 9] = [
        ("nonsense", "i-0aaa", 0, Outcome::Unauthenticated),
        ("good", "i-0bbb", 0, Outcome::Unauthenticated),
        ("good", "i-0aaa", 1, Outcome::Unauthenticated),
        ("good", "not an id!", 0, Outcome::Invalid),
        ("unbound", "i-0bbb", 1, Outcome::Conflict),
        ("expired", "i-0ccc", 2, Outcome::Unauthenticated),
        ("good", "i-0aaa", 0, Outcome::Ok),
        // Replay of a used token.
        ("good", "i-0aaa", 0, Outcome::Unauthenticated),
        ("unbound", "i-0bbb", 1, Outcome::Conflict),
    ];
    for (token, instance, index, expect) in table {
        let got = register(&cp, token, instance, index).await;
        assert_eq!(outcome(&got), expect, "{token} {instance} {index}");
    }
    let registered = nodes::list_nodes(&pool, s.cluster_id).await.unwrap();
    assert_eq!(registered.len(), 1);
    assert_eq!((registered[0].node_index, registered[0].instance_id.as_str()), (0, "i-0aaa"));
}

#[tokio::test]
async fn the_credential_is_returned_once_and_stored_hashed() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "dev", 1).await;
    let cp = control_plane(&pool);
    issue(&pool, &s, "tok", 0, 3600, Some("i-0aaa")).await;
    let cred = register(&cp, "tok", "i-0aaa", 0).await.unwrap();
    assert!(cred.starts_with("cfn_") && cred.len() > 40, "{cred}");
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT credential_hash FROM cluster_nodes WHERE cluster_id = $1")
            .bind(s.cluster_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, hash_token(&cred).to_vec());
    let plain: Vec<String> =
        sqlx::query_scalar("SELECT encode(token_hash, 'escape') FROM join_tokens")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(plain.iter().all(|t| t != "tok"));
}

#[tokio::test]
async fn concurrent_registrations_with_one_token_succeed_once() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "dev", 1).await;
    issue(&pool, &s, "race", 0, 3600, Some("i-0aaa")).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let cp = control_plane(&pool);
        tasks.push(tokio::spawn(async move { outcome(&register(&cp, "race", "i-0aaa", 0).await) }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == Outcome::Ok {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn every_launched_node_gets_a_working_token_in_its_user_data() {
    let pool = fresh_pool().await;
    let s = seed(&pool, "standard", 3).await;
    let cloud = Arc::new(MemoryCloud::default());
    let r = Replica::start(&pool, cloud.clone(), settings(), FaultHook::default());
    wait_for_node_wait(&pool, s.op_id).await;
    let cp = control_plane(&pool);
    let insts = cloud.instances();
    assert_eq!(insts.len(), 3);
    // Another node's token does not register this node.
    let t0 = insts[0].bootstrap.join_token.as_ref().unwrap().expose().to_owned();
    let wrong = register(&cp, &t0, &insts[1].instance.instance_id, 1).await;
    assert_eq!(outcome(&wrong), Outcome::Unauthenticated);
    let bound: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT instance_id FROM join_tokens WHERE cluster_id = $1 ORDER BY node_index",
    )
    .bind(s.cluster_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let expect: Vec<Option<String>> =
        insts.iter().map(|i| Some(i.instance.instance_id.clone())).collect();
    assert_eq!(bound, expect);
    register_all(&pool, &cloud, s.cluster_id).await;
    assert_eq!(wait_terminal(&pool, s.op_id).await.state, "succeeded");
    r.stop().await;
}
