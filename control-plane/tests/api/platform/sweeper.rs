//! The orphan sweeper against a real moto server, through `AwsCloud`: planted resources of a
//! cluster the control plane does not know are reported, a live cluster's are not, a deleted
//! cluster's are unless the engine is deleting or retaining them; findings keep `first_seen`,
//! and disappear once the resource is gone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use coffer_cloud::{ApiAccess, Cloud, ClusterRef, Ingress};
use coffer_control_plane::platform::{Sweeper, SweeperMetrics, SweeperSettings};
use coffer_control_plane::provisioning::cloud::aws_cloud;
use serde_json::{json, Value};
use uuid::Uuid;

use super::support::{all_orphans, findings_for, moto_aws, operator_token, sweeping};
use crate::helpers::{spawn_app, spawn_app_with, str_field, unique_name, TestApp};

/// A supported region; tests isolate by cluster id, so sharing it with other tests is fine.
const REGION: &str = "ap-northeast-1";

fn nobody_may_connect() -> Ingress {
    Ingress { vpc_id: None, access: ApiAccess::AllowList(Vec::new()) }
}

async fn cloud() -> Arc<dyn Cloud> {
    aws_cloud(&moto_aws().await).await
}

/// A cluster created through the API (state `pending`: the engine is off), as a `ClusterRef`.
async fn api_cluster(app: &TestApp) -> ClusterRef {
    let owner = app.new_user().await;
    let body = json!({"name": unique_name("c"), "tier": "dev", "size": "small", "region": REGION});
    let resp = app.post(&format!("/v1/orgs/{}/clusters", owner.own_org), &owner.token, &body).await;
    let id: Uuid = str_field(&resp.expect(202)["cluster"], "id").parse().expect("uuid");
    ClusterRef::new(id, owner.own_org.parse().expect("uuid"), REGION)
}

fn finding<'a>(orphans: &'a [Value], kind: &str, id: &str) -> Option<&'a Value> {
    orphans.iter().find(|o| o["kind"] == kind && o["resource_id"] == id)
}

fn set(items: &[(&str, &str, &str)]) -> std::collections::BTreeSet<(String, String, String)> {
    items.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect()
}

#[tokio::test]
async fn sweep_reports_exactly_the_resources_no_live_cluster_owns() {
    let app = spawn_app().await;
    let token = operator_token(&app).await;
    let cloud = cloud().await;

    // A cluster the control plane never heard of.
    let ghost = ClusterRef::new(Uuid::new_v4(), Uuid::new_v4(), REGION);
    let ghost_sg = cloud.ensure_security_group(&ghost, &nobody_may_connect()).await.unwrap();
    let ghost_key = cloud.ensure_kms_key(&ghost, None).await.unwrap();
    // A live cluster's resources.
    let live = api_cluster(&app).await;
    let live_sg = cloud.ensure_security_group(&live, &nobody_may_connect()).await.unwrap();
    let live_key = cloud.ensure_kms_key(&live, None).await.unwrap();
    // A deleted cluster: its group was left behind (an orphan); its key is being deleted by
    // the engine (recorded `deleting`), so it is not.
    let gone = api_cluster(&app).await;
    sqlx::query("UPDATE clusters SET state = 'deleted' WHERE id = $1")
        .bind(gone.cluster_id)
        .execute(&app.db)
        .await
        .unwrap();
    let gone_sg = cloud.ensure_security_group(&gone, &nobody_may_connect()).await.unwrap();
    let gone_key = cloud.ensure_kms_key(&gone, None).await.unwrap();
    sqlx::query(
        "INSERT INTO cluster_resources (cluster_id, org_id, region, kind, resource_id, state)
         VALUES ($1, $2, $3, 'kms_key', $4, 'deleting'), ($1, $2, $3, 'security_group', $5, 'deleted')",
    )
    .bind(gone.cluster_id)
    .bind(gone.org_id)
    .bind(REGION)
    .bind(&gone_key.key_id)
    .bind(&gone_sg.group_id)
    .execute(&app.db)
    .await
    .unwrap();

    let settings =
        SweeperSettings { enabled: true, interval_secs: 3600, regions: vec![REGION.to_owned()] };
    let sweeper = Sweeper::new(app.db.clone(), Arc::clone(&cloud), &settings, Default::default());
    let report = sweeper.sweep_once().await.unwrap();
    assert!(report.failed_regions.is_empty(), "{report:?}");
    assert!(report.orphans >= 3 && report.new_orphans >= 3, "{report:?}");

    let ours = [ghost.id(), live.id(), gone.id()];
    let orphans = all_orphans(&app, &token).await;
    let expected = set(&[
        ("security_group", &ghost_sg.group_id, "unknown_cluster"),
        ("kms_key", &ghost_key.key_id, "unknown_cluster"),
        ("security_group", &gone_sg.group_id, "cluster_deleted"),
    ]);
    assert_eq!(findings_for(&orphans, &ours), expected, "{orphans:#?}");
    assert!(finding(&orphans, "security_group", &live_sg.group_id).is_none());
    assert!(finding(&orphans, "kms_key", &live_key.key_id).is_none());

    let sg = finding(&orphans, "security_group", &ghost_sg.group_id).unwrap();
    assert_eq!(sg["region"], REGION);
    assert_eq!(sg["org_id"], ghost.org_id.to_string());
    assert_eq!(sg["first_seen"], sg["last_seen"]);

    // Another sweep: still reported, first_seen kept, nothing new among ours.
    let first_seen = sg["first_seen"].clone();
    sweeper.sweep_once().await.unwrap();
    let orphans = all_orphans(&app, &token).await;
    assert_eq!(findings_for(&orphans, &ours), expected);
    let sg = finding(&orphans, "security_group", &ghost_sg.group_id).unwrap();
    assert_eq!(sg["first_seen"], first_seen);
    assert_ne!(sg["last_seen"], first_seen, "last_seen must move: {sg}");

    // Each new orphan was logged once, though seen by two sweeps.
    let logged = crate::logs::captured()
        .lines()
        .filter(|l| l.contains("orphaned cloud resource found") && l.contains(&ghost_sg.group_id))
        .count();
    assert_eq!(logged, 1, "{}", crate::logs::captured());

    // Once the group is gone (and the key scheduled for deletion), the findings resolve.
    cloud.delete_security_group(&ghost).await.unwrap();
    cloud.schedule_kms_key_deletion(&ghost, &ghost_key.key_id, 7).await.unwrap();
    let report = sweeper.sweep_once().await.unwrap();
    assert!(report.resolved >= 2, "{report:?}");
    let orphans = all_orphans(&app, &token).await;
    let expected = set(&[("security_group", &gone_sg.group_id, "cluster_deleted")]);
    assert_eq!(findings_for(&orphans, &ours), expected, "{orphans:#?}");

    // The gauge counts the current findings.
    let metrics = app.get("/v1/platform/metrics", &token).await;
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert!(metrics.text.contains("coffer_orphans{kind=\"security_group\"} "), "{}", metrics.text);

    for (c, key) in [(&live, &live_key), (&gone, &gone_key)] {
        cloud.delete_security_group(c).await.unwrap();
        cloud.schedule_kms_key_deletion(c, &key.key_id, 7).await.unwrap();
    }
}

#[tokio::test]
async fn enabled_sweeper_runs_in_the_background_and_counts() {
    let cloud = cloud().await;
    let ghost = ClusterRef::new(Uuid::new_v4(), Uuid::new_v4(), REGION);
    let ghost_sg = cloud.ensure_security_group(&ghost, &nobody_may_connect()).await.unwrap();

    // Planted before start-up: the first sweep runs when the application starts.
    let aws = moto_aws().await;
    let app = spawn_app_with(|s| sweeping(s, aws, REGION)).await;
    let token = operator_token(&app).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let orphans = all_orphans(&app, &token).await;
        if let Some(f) = finding(&orphans, "security_group", &ghost_sg.group_id) {
            assert_eq!(f["reason"], "unknown_cluster");
            break;
        }
        assert!(Instant::now() < deadline, "the background sweep never reported the group");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = app.get("/v1/platform/metrics", &token).await;
    let runs: u64 = metrics
        .text
        .lines()
        .find_map(|l| l.strip_prefix("coffer_sweeper_runs_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no runs counter in {}", metrics.text));
    assert!(runs >= 1, "{}", metrics.text);
    assert!(!metrics.text.contains("coffer_sweeper_new_orphans_total 0\n"), "{}", metrics.text);

    app.stop().await.unwrap();
    cloud.delete_security_group(&ghost).await.unwrap();
}

#[tokio::test]
async fn a_region_that_fails_to_list_keeps_its_findings() {
    let app = spawn_app().await;
    let token = operator_token(&app).await;
    let cloud = cloud().await;
    let ghost = ClusterRef::new(Uuid::new_v4(), Uuid::new_v4(), REGION);
    let sg = cloud.ensure_security_group(&ghost, &nobody_may_connect()).await.unwrap();
    let settings =
        SweeperSettings { enabled: true, interval_secs: 3600, regions: vec![REGION.to_owned()] };
    let healthy = Sweeper::new(app.db.clone(), Arc::clone(&cloud), &settings, Default::default());
    healthy.sweep_once().await.unwrap();
    assert!(finding(&all_orphans(&app, &token).await, "security_group", &sg.group_id).is_some());

    // The group goes away, but the next sweep cannot reach AWS at all (nothing listens on
    // the endpoint): that is not evidence the orphan is gone.
    cloud.delete_security_group(&ghost).await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut unreachable = moto_aws().await;
    unreachable.endpoint_url = Some(format!("http://127.0.0.1:{closed}"));
    let metrics = Arc::new(SweeperMetrics::default());
    let broken = Sweeper::new(
        app.db.clone(),
        aws_cloud(&unreachable).await,
        &settings,
        Arc::clone(&metrics),
    );
    let report = broken.sweep_once().await.unwrap();
    assert_eq!(report.failed_regions, vec![REGION.to_owned()], "{report:?}");
    assert_eq!(report.resolved, 0, "{report:?}");
    assert!(finding(&all_orphans(&app, &token).await, "security_group", &sg.group_id).is_some());
    let text = metrics.render(&[]);
    assert!(text.contains("\ncoffer_sweeper_region_failures_total 1\n"), "{text}");
    assert!(text.contains("\ncoffer_sweeper_last_success_timestamp_seconds 0\n"), "{text}");

    // Reachable again: the finding resolves.
    let report = healthy.sweep_once().await.unwrap();
    assert!(report.failed_regions.is_empty(), "{report:?}");
    assert!(finding(&all_orphans(&app, &token).await, "security_group", &sg.group_id).is_none());
}
