//! A cluster's whole life against moto: create (every resource to spec), wait for the nodes to
//! register with their join tokens, change the allow list, delete.

use std::time::Duration;

use serde_json::json;

use super::spec;
use crate::harness::api::Api;
use crate::harness::aws::Census;
use crate::harness::env::TestEnv;

const WITHIN: Duration = Duration::from_secs(90);

/// Days from now until an SDK timestamp.
fn days_until(t: &aws_sdk_kms::primitives::DateTime) -> f64 {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    (t.as_secs_f64() - now) / 86_400.0
}

async fn create_update_delete(tier: &str, nodes: usize, region: &str) {
    let env = TestEnv::new(region).await;
    let cp = env.start(&env.config()).await;
    let api = Api::sign_up(&cp.base).await;
    let allow = ["203.0.113.0/24", "198.51.100.7/32"];
    let created = api.create_cluster(tier, region, &allow).await;
    let c = &created.cref;

    // The operation holds at wait_for_nodes until the agents register.
    api.wait_for_node_wait(created.op, WITHIN).await;
    let op = api.operation(created.op).await;
    assert_eq!(op["state"], "running", "{op}");
    assert_eq!(api.cluster(c).await["state"], "creating");
    spec::running_cluster(&env.aws, c, nodes, &allow).await;
    // A wrong token is refused and does not count as a node.
    let inst = env.aws.instances(c).await[0].instance_id().unwrap().to_owned();
    let (status, body) = api.register_node("cfj_not-a-token", &inst, 0, c.cluster_id).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(api.register_nodes(&env.aws, c, nodes, WITHIN).await, nodes);
    let op = api.wait_succeeded(created.op, WITHIN).await;
    assert!(op["steps"].as_array().unwrap().iter().all(|s| s["state"] == "succeeded"), "{op}");
    let cluster = api.cluster(c).await;
    assert_eq!(cluster["state"], "running", "{cluster}");
    assert!(
        cluster["address"]
            .as_str()
            .is_some_and(|a| a.starts_with("https://") && a.ends_with(":8200")),
        "{cluster}"
    );
    // A used token cannot register again.
    let doc = env.aws.bootstrap(&inst).await;
    let (status, _) = api
        .register_node(
            doc.join_token.as_ref().unwrap().expose(),
            &inst,
            doc.node_index,
            c.cluster_id,
        )
        .await;
    assert_eq!(status, 401, "a join token is single-use");

    // Changing the allow list rewrites the group's rules to exactly the new list.
    let new_allow = ["192.0.2.0/28"];
    let update = api.patch_cluster(c, &json!({"ip_allow_list": new_allow})).await;
    api.wait_succeeded(update.op, WITHIN).await;
    spec::security_group(&env.aws, c, &new_allow).await;
    assert_eq!(
        env.aws.census(c).await,
        Census::running(nodes),
        "an update adds or removes nothing"
    );

    // Delete: instances terminated, group and role gone, key scheduled, buckets retained.
    let delete = api.delete_cluster(c).await;
    api.wait_succeeded(delete.op, WITHIN).await;
    assert_eq!(env.aws.census(c).await, Census::deleted(2));
    let keys = env.aws.kms_keys(c).await;
    let deletion = keys[0].deletion_date().expect("deletion date");
    let days = days_until(deletion);
    assert!((29.0..=30.1).contains(&days), "key deletion window is 30 days, got {days}");
    let cluster_state = api.cluster(c).await["state"].clone();
    assert_eq!(cluster_state, "deleted");
    cp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_cluster_is_built_to_spec_updated_and_deleted() {
    create_update_delete("dev", 1, "eu-west-1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_node_cluster_spreads_across_zones_and_is_deleted() {
    create_update_delete("essentials", 3, "us-west-2").await;
}
