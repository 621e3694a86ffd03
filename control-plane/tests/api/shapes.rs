//! The JSON shapes of the contract, key by key: every documented field is present with the right
//! type, and nothing else is (an extra field is how hashes and internal state leak).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, str_field, unique_email, unique_name, PASSWORD};

#[track_caller]
fn keys(what: &str, value: &Value, required: &[&str], optional: &[&str]) {
    let obj = value.as_object().unwrap_or_else(|| panic!("{what} is not an object: {value}"));
    let got: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    for k in required {
        assert!(got.contains(k), "{what} lacks {k}: {value}");
    }
    let allowed: BTreeSet<&str> = required.iter().chain(optional).copied().collect();
    let extra: Vec<_> = got.difference(&allowed).collect();
    assert!(extra.is_empty(), "{what} has undocumented fields {extra:?}: {value}");
}

#[track_caller]
fn timestamp(what: &str, value: &Value) {
    let s = value.as_str().unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{what} {s:?} is not RFC 3339: {e}"));
}

#[tokio::test]
async fn responses_match_the_contract_shapes() {
    let app = spawn_app().await;
    let email = unique_email();
    let signup = app.signup(&email, PASSWORD, "shapes").await;
    let body = signup.expect(201).clone();
    keys("signup", &body, &["user", "org"], &[]);
    keys("user", &body["user"], &["id", "email", "created_at"], &[]);
    keys("org", &body["org"], &["id", "name", "created_at"], &["role"]);
    timestamp("user.created_at", &body["user"]["created_at"]);
    let org = str_field(&body["org"], "id");

    let login = app.login(&email, PASSWORD).await.expect(200).clone();
    keys("login", &login, &["access_token", "token_type", "expires_in", "csrf_token"], &[]);
    let token = str_field(&login, "access_token");

    let orgs = app.get("/v1/orgs", &token).await.expect(200).clone();
    keys("org list", &orgs, &["orgs", "next_page_token"], &[]);
    keys("org list entry", &orgs["orgs"][0], &["id", "name", "created_at", "role"], &[]);
    let got = app.get(&format!("/v1/orgs/{org}"), &token).await.expect(200).clone();
    keys("org", &got, &["id", "name", "created_at"], &["role"]);

    let members_path = format!("/v1/orgs/{org}/members");
    let member = app
        .post(&members_path, &token, &json!({"email": unique_email(), "role": "viewer"}))
        .await
        .expect(201)
        .clone();
    let member_keys = ["user_id", "email", "role", "status", "created_at"];
    keys("member", &member, &member_keys, &[]);
    let members = app.get(&members_path, &token).await.expect(200).clone();
    keys("member list", &members, &["members", "next_page_token"], &[]);
    for m in members["members"].as_array().expect("members") {
        keys("member entry", m, &member_keys, &[]);
        timestamp("member.created_at", &m["created_at"]);
    }

    let sp_path = format!("/v1/orgs/{org}/service-principals");
    let created = app
        .post(&sp_path, &token, &json!({"name": unique_name("sp"), "role": "viewer"}))
        .await
        .expect(201)
        .clone();
    keys("service principal creation", &created, &["service_principal", "client_secret"], &[]);
    let sp_keys = ["id", "name", "role", "client_id", "created_at"];
    keys("service principal", &created["service_principal"], &sp_keys, &[]);
    let sps = app.get(&sp_path, &token).await.expect(200).clone();
    keys("service principal list", &sps, &["service_principals", "next_page_token"], &[]);
    keys("service principal entry", &sps["service_principals"][0], &sp_keys, &[]);
    let exchange = app
        .oauth_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &str_field(&created["service_principal"], "client_id")),
            ("client_secret", &str_field(&created, "client_secret")),
        ])
        .await
        .expect(200)
        .clone();
    keys("token response", &exchange, &["access_token", "token_type", "expires_in"], &["scope"]);

    let (cluster, op) = app.create_cluster(&org, &token, "shaped").await;
    let cluster_keys = [
        "id",
        "org_id",
        "name",
        "tier",
        "size",
        "region",
        "version",
        "state",
        "address",
        "public_endpoint",
        "ip_allow_list",
        "node_count",
        "created_at",
        "updated_at",
    ];
    keys("cluster", &cluster, &cluster_keys, &[]);
    timestamp("cluster.created_at", &cluster["created_at"]);
    timestamp("cluster.updated_at", &cluster["updated_at"]);
    let op_keys = [
        "id",
        "org_id",
        "cluster_id",
        "kind",
        "state",
        "steps",
        "error",
        "created_at",
        "updated_at",
        "started_at",
        "finished_at",
    ];
    keys("operation", &op, &op_keys, &[]);
    for step in op["steps"].as_array().expect("steps") {
        keys(
            "step",
            step,
            &["name", "state", "attempt", "error", "started_at", "finished_at"],
            &[],
        );
    }
    let clusters = app.get(&format!("/v1/orgs/{org}/clusters"), &token).await.expect(200).clone();
    keys("cluster list", &clusters, &["clusters", "next_page_token"], &[]);
    keys("cluster entry", &clusters["clusters"][0], &cluster_keys, &[]);

    // Errors have exactly the documented model.
    let err = app.get(&format!("/v1/orgs/{org}/clusters/{}", uuid::Uuid::new_v4()), &token).await;
    err.expect_error(404, "not_found");
    keys("error", &err.body, &["error"], &[]);
    keys("error detail", &err.body["error"], &["code", "message", "request_id"], &[]);
}
