//! Cluster lifecycle through the API: create (with its planned operation), read, list, update,
//! delete, name uniqueness, idempotent creation and pagination. Nothing provisions clusters yet,
//! so every state asserted here is the honest "not started" one.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    cluster_body, percent_encode, spawn_app, str_field, unique_name, TestApp, User,
};

const CREATE_STEPS: [&str; 6] = [
    "create_kms_key",
    "create_buckets",
    "create_iam_role",
    "create_security_group",
    "launch_instances",
    "wait_for_nodes",
];

fn step_names(op: &Value) -> Vec<&str> {
    op["steps"]
        .as_array()
        .expect("steps array")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or("?"))
        .collect()
}

#[track_caller]
fn assert_untouched_operation(op: &Value, kind: &str, cluster_id: &str, org: &str) {
    assert_eq!(op["kind"], kind, "{op}");
    assert_eq!(op["state"], "pending", "nothing executes operations yet: {op}");
    assert_eq!(op["cluster_id"], cluster_id, "{op}");
    assert_eq!(op["org_id"], org, "{op}");
    assert_eq!(op["error"], Value::Null, "{op}");
    assert_eq!(op["started_at"], Value::Null, "{op}");
    assert_eq!(op["finished_at"], Value::Null, "{op}");
    assert!(
        op["id"].is_string() && op["created_at"].is_string() && op["updated_at"].is_string(),
        "{op}"
    );
    let steps = op["steps"].as_array().expect("steps");
    assert!(!steps.is_empty(), "an operation plans at least one step: {op}");
    for step in steps {
        assert_eq!(step["state"], "pending", "{op}");
        assert_eq!(step["error"], Value::Null, "{op}");
        assert_eq!(step["started_at"], Value::Null, "{op}");
        assert_eq!(step["finished_at"], Value::Null, "{op}");
        assert!(step["attempt"].is_u64(), "{op}");
    }
}

async fn list_clusters(app: &TestApp, user: &User) -> Vec<Value> {
    let path = format!("/v1/orgs/{}/clusters?page_size=100", user.own_org);
    let body = app.get(&path, &user.token).await.expect(200).clone();
    body["clusters"].as_array().expect("clusters array").clone()
}

#[tokio::test]
async fn create_returns_a_pending_cluster_and_its_planned_operation() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let org = &user.own_org;
    let path = format!("/v1/orgs/{org}/clusters");
    let check = |tier: &'static str, size: &'static str, nodes: u64| (tier, size, nodes);
    for (tier, size, nodes) in
        [check("dev", "small", 1), check("essentials", "medium", 3), check("standard", "large", 3)]
    {
        let name = unique_name("c");
        let body = json!({"name": name, "tier": tier, "size": size, "region": "eu-west-1"});
        let resp = app.post(&path, &user.token, &body).await;
        let created = resp.expect(202).clone();
        let cluster = &created["cluster"];
        let id = str_field(cluster, "id");
        assert_eq!(cluster["org_id"], org.as_str());
        assert_eq!(cluster["name"], name.as_str());
        assert_eq!(cluster["tier"], tier);
        assert_eq!(cluster["size"], size);
        assert_eq!(cluster["region"], "eu-west-1");
        assert_eq!(cluster["version"], "1.0.0", "defaults to the newest release");
        assert_eq!(cluster["state"], "pending");
        assert_eq!(cluster["address"], Value::Null);
        assert!(cluster["public_endpoint"].is_boolean(), "{cluster}");
        assert_eq!(cluster["ip_allow_list"], json!([]));
        assert_eq!(cluster["node_count"], nodes, "{cluster}");
        assert!(
            cluster["created_at"].is_string() && cluster["updated_at"].is_string(),
            "{cluster}"
        );

        let op = &created["operation"];
        assert_untouched_operation(op, "create", &id, org);
        assert_eq!(step_names(op), CREATE_STEPS);

        let got = app.get(&format!("{path}/{id}"), &user.token).await;
        assert_eq!(got.expect(200), cluster, "GET must match the created cluster");
        let op_path = format!("/v1/orgs/{org}/operations/{}", str_field(op, "id"));
        assert_eq!(app.get(&op_path, &user.token).await.expect(200), op);
    }
    assert_eq!(list_clusters(&app, &user).await.len(), 3);
}

#[tokio::test]
async fn optional_fields_are_stored() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let body = json!({
        "name": "prod-vault", "tier": "standard", "size": "medium", "region": "ap-northeast-1",
        "version": "1.0.0", "public_endpoint": true, "ip_allow_list": ["10.0.0.0/8", "2001:db8::/32"],
    });
    let resp = app.post(&format!("/v1/orgs/{}/clusters", user.own_org), &user.token, &body).await;
    let cluster = resp.expect(202)["cluster"].clone();
    assert_eq!(cluster["public_endpoint"], true);
    assert_eq!(cluster["ip_allow_list"], json!(["10.0.0.0/8", "2001:db8::/32"]));
    assert_eq!(cluster["region"], "ap-northeast-1");
    assert_eq!(cluster["node_count"], 3);
}

#[tokio::test]
async fn update_and_delete_plan_operations_without_faking_progress() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let org = &user.own_org;
    let (cluster, _) = app.create_cluster(org, &user.token, "patch-me").await;
    let id = str_field(&cluster, "id");
    let path = format!("/v1/orgs/{org}/clusters/{id}");

    let resp = app.patch(&path, &user.token, &json!({"ip_allow_list": ["192.168.0.0/16"]})).await;
    let body = resp.expect(202).clone();
    assert_eq!(body["cluster"]["ip_allow_list"], json!(["192.168.0.0/16"]), "{body}");
    assert_untouched_operation(&body["operation"], "update", &id, org);
    assert!(step_names(&body["operation"]).contains(&"update_security_group"), "{body}");
    let got = app.get(&path, &user.token).await.expect(200).clone();
    assert_eq!(got["ip_allow_list"], json!(["192.168.0.0/16"]));
    assert_eq!(got["name"], "patch-me", "PATCH must not touch other fields");

    let resp = app.delete(&path, &user.token).await;
    let body = resp.expect(202).clone();
    assert_eq!(body["cluster"]["state"], "deleting", "{body}");
    assert_untouched_operation(&body["operation"], "delete", &id, org);
    let got = app.get(&path, &user.token).await.expect(200).clone();
    assert_eq!(got["state"], "deleting", "nothing tears clusters down yet");

    // A deleting cluster still holds its name.
    let dup =
        app.post(&format!("/v1/orgs/{org}/clusters"), &user.token, &cluster_body("patch-me")).await;
    dup.expect_error(409, "conflict");
}

#[tokio::test]
async fn patch_rejects_bad_values_and_unknown_fields() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let (cluster, _) = app.create_cluster(&user.own_org, &user.token, "keep-me").await;
    let path = format!("/v1/orgs/{}/clusters/{}", user.own_org, str_field(&cluster, "id"));
    for body in [
        json!({"ip_allow_list": ["10.0.0.0/33"]}),
        json!({"ip_allow_list": "10.0.0.0/8"}),
        json!({"version": "9.9.9"}),
        json!({"name": "renamed"}),
        json!({"tier": "standard"}),
        json!({"public_endpoint": "yes"}),
    ] {
        app.patch(&path, &user.token, &body).await.expect_error(400, "invalid_argument");
    }
    assert_eq!(
        app.get(&path, &user.token).await.expect(200),
        &cluster,
        "a rejected PATCH changed the cluster"
    );
}

#[tokio::test]
async fn unknown_clusters_and_operations_are_not_found() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let org = &user.own_org;
    let missing = uuid::Uuid::new_v4();
    for (method, path) in [
        (Method::GET, format!("/v1/orgs/{org}/clusters/{missing}")),
        (Method::DELETE, format!("/v1/orgs/{org}/clusters/{missing}")),
        (Method::GET, format!("/v1/orgs/{org}/operations/{missing}")),
        (Method::GET, format!("/v1/orgs/{missing}/clusters")),
    ] {
        app.send(method, &path, Some(&user.token), None).await.expect_error(404, "not_found");
    }
    // A malformed id is a client error in the same model, never a 500.
    let resp = app.get(&format!("/v1/orgs/{org}/clusters/not-a-uuid"), &user.token).await;
    assert!(matches!(resp.status, 400 | 404), "{} {}", resp.status, resp.text);
    resp.expect_error(
        resp.status,
        if resp.status == 400 { "invalid_argument" } else { "not_found" },
    );
}

#[tokio::test]
async fn names_are_unique_per_org_only() {
    let app = spawn_app().await;
    let a = app.new_user().await;
    let b = app.new_user().await;
    app.create_cluster(&a.own_org, &a.token, "shared-name").await;
    let path = format!("/v1/orgs/{}/clusters", a.own_org);
    app.post(&path, &a.token, &cluster_body("shared-name")).await.expect_error(409, "conflict");
    app.create_cluster(&b.own_org, &b.token, "shared-name").await;
    assert_eq!(list_clusters(&app, &a).await.len(), 1);
}

async fn create_with_key(
    app: &TestApp,
    user: &User,
    key: &str,
    body: &Value,
) -> crate::helpers::Resp {
    let req = app
        .client
        .post(app.url(&format!("/v1/orgs/{}/clusters", user.own_org)))
        .bearer_auth(&user.token)
        .header("idempotency-key", key)
        .json(body);
    TestApp::finish(req).await
}

#[tokio::test]
async fn idempotency_key_replays_the_same_response() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let body = cluster_body("idem-one");
    let first = create_with_key(&app, &user, "key-1", &body).await.expect(202).clone();
    let second = create_with_key(&app, &user, "key-1", &body).await.expect(202).clone();
    assert_eq!(first, second, "a replay must return the identical response");
    assert_eq!(list_clusters(&app, &user).await.len(), 1);

    let other = cluster_body("idem-two");
    create_with_key(&app, &user, "key-1", &other).await.expect_error(409, "conflict");
    assert_eq!(list_clusters(&app, &user).await.len(), 1, "a conflicting replay wrote a cluster");

    // A different key is a different request (and a new name, so no name clash).
    create_with_key(&app, &user, "key-2", &other).await.expect(202);
    assert_eq!(list_clusters(&app, &user).await.len(), 2);

    let long_key = "k".repeat(129);
    create_with_key(&app, &user, &long_key, &cluster_body("idem-three"))
        .await
        .expect_error(400, "invalid_argument");
    create_with_key(&app, &user, &"k".repeat(128), &cluster_body("idem-three")).await.expect(202);
    assert_eq!(list_clusters(&app, &user).await.len(), 3);
}

#[tokio::test]
async fn idempotency_keys_are_scoped_to_the_org() {
    let app = spawn_app().await;
    let a = app.new_user().await;
    let b = app.new_user().await;
    let body = cluster_body("same-key");
    let from_a = create_with_key(&app, &a, "shared-key", &body).await.expect(202).clone();
    let from_b = create_with_key(&app, &b, "shared-key", &body).await.expect(202).clone();
    assert_ne!(from_a["cluster"]["id"], from_b["cluster"]["id"], "org B got org A's response");
    assert_eq!(from_b["cluster"]["org_id"], b.own_org.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_visits_every_cluster_once_in_order() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let org = &user.own_org;
    let mut created = Vec::new();
    for i in 0..25 {
        let (cluster, _) = app.create_cluster(org, &user.token, &format!("page-{i:02}")).await;
        created.push(str_field(&cluster, "id"));
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/v1/orgs/{org}/clusters?page_size=10");
        if let Some(t) = &token {
            path.push_str("&page_token=");
            path.push_str(&percent_encode(t));
        }
        let body = app.get(&path, &user.token).await.expect(200).clone();
        let page = body["clusters"].as_array().expect("clusters");
        sizes.push(page.len());
        seen.extend(page.iter().map(|c| str_field(c, "id")));
        match body["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => {
                assert_eq!(body["next_page_token"], Value::Null);
                break;
            }
        }
        assert!(sizes.len() <= 4, "pagination does not terminate");
    }
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(seen, created, "pages must list every cluster once, oldest first");

    let body = app.get(&format!("/v1/orgs/{org}/clusters"), &user.token).await.expect(200).clone();
    assert_eq!(body["clusters"].as_array().map(Vec::len), Some(20), "default page size is 20");
    assert!(body["next_page_token"].is_string());
}

#[tokio::test]
async fn bad_pagination_parameters_are_rejected() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let base = format!("/v1/orgs/{}/clusters", user.own_org);
    for query in
        ["page_size=0", "page_size=101", "page_size=-1", "page_size=ten", "page_token=not-a-token"]
    {
        let resp = app.get(&format!("{base}?{query}"), &user.token).await;
        resp.expect_error(400, "invalid_argument");
    }
    for query in ["page_size=1", "page_size=100"] {
        app.get(&format!("{base}?{query}"), &user.token).await.expect(200);
    }
}

#[tokio::test]
async fn version_defaults_to_the_newest_catalog_release() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let org = &user.own_org;
    let (old, _) = app.create_cluster(org, &user.token, "before-release").await;
    assert_eq!(old["version"], "1.0.0");

    // A release published to the catalog becomes the default without a code change.
    sqlx::query("INSERT INTO releases (version, released_at) VALUES ('1.1.0', now())")
        .execute(&app.db)
        .await
        .expect("publish a release");
    let (new, _) = app.create_cluster(org, &user.token, "after-release").await;
    assert_eq!(new["version"], "1.1.0");
    let mut pinned = cluster_body("pinned-old");
    pinned["version"] = json!("1.0.0");
    let resp = app.post(&format!("/v1/orgs/{org}/clusters"), &user.token, &pinned).await;
    assert_eq!(resp.expect(202)["cluster"]["version"], "1.0.0");

    // Upgrading is an update operation on the cluster.
    let path = format!("/v1/orgs/{org}/clusters/{}", str_field(&old, "id"));
    let body =
        app.patch(&path, &user.token, &json!({"version": "1.1.0"})).await.expect(202).clone();
    assert_eq!(body["operation"]["kind"], "update", "{body}");
    assert_eq!(body["cluster"]["version"], "1.1.0", "{body}");
    assert_eq!(app.get(&path, &user.token).await.expect(200)["version"], "1.1.0");
}
