//! ACL enforcement over HTTP: capability checks per operation, deny precedence, create vs
//! update by existence, parameter constraints, and sys/capabilities.

#![allow(clippy::unwrap_used)]
mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn token_with(s: &TestServer, policy: &str, text: &str) -> String {
    let (st, v) =
        s.root("PUT", &format!("sys/policies/acl/{policy}"), Some(json!({ "policy": text }))).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let (_, t) = s.root("POST", "auth/token/create", Some(json!({ "policies": [policy] }))).await;
    t["auth"]["client_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_are_enforced_per_operation() {
    let s = TestServer::dev().await;
    s.root("POST", "sys/mounts/kv", Some(json!({"type": "kv"}))).await;
    s.root("PUT", "kv/existing", Some(json!({"v": "1"}))).await;
    let t = token_with(
        &s,
        "p",
        r#"
path "kv/*"        { capabilities = ["read", "list", "create"] }
path "kv/locked"   { capabilities = ["deny"] }
path "kv/params" {
  capabilities        = ["create", "update"]
  required_parameters = ["owner"]
  denied_parameters   = { "admin" = [] }
}
"#,
    )
    .await;
    // (method, path, body, expected status)
    let cases: Vec<(&str, &str, Option<Value>, u16)> = vec![
        ("GET", "kv/existing", None, 200),
        ("LIST", "kv", None, 200),
        ("PUT", "kv/new", Some(json!({"v": "x"})), 204), // create allowed
        ("PUT", "kv/existing", Some(json!({"v": "y"})), 403), // update not granted
        ("DELETE", "kv/existing", None, 403),
        ("GET", "kv/locked", None, 403), // deny wins over the glob
        ("PUT", "kv/params", Some(json!({"x": "1"})), 403), // missing required parameter
        ("PUT", "kv/params", Some(json!({"owner": "a", "admin": "1"})), 403), // denied parameter
        ("PUT", "kv/params", Some(json!({"owner": "a"})), 204),
        ("GET", "sys/mounts", None, 403),
        ("GET", "auth/token/lookup-self", None, 200), // default policy
    ];
    for (method, path, body, expect) in cases {
        let (st, v) = s.call(method, path, Some(&t), body.clone()).await;
        assert_eq!(st.as_u16(), expect, "{method} {path} {body:?}: {v}");
    }
    let (_, caps) = s
        .call(
            "POST",
            "sys/capabilities-self",
            Some(&t),
            Some(json!({"paths": ["kv/a", "kv/locked"]})),
        )
        .await;
    assert_eq!(caps["data"]["kv/a"], json!(["create", "list", "read"]));
    assert_eq!(caps["data"]["kv/locked"], json!(["deny"]));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_policy_names_are_refused() {
    let s = TestServer::dev().await;
    // (method, name, expected status)
    for (method, name, expect) in [
        ("PUT", "root", 400),
        ("PUT", "response-wrapping", 400),
        ("DELETE", "default", 400),
        ("DELETE", "root", 400),
        ("PUT", "Mixed", 204),
    ] {
        let body = (method == "PUT")
            .then(|| json!({"policy": "path \"x\" { capabilities = [\"read\"] }"}));
        let (st, v) = s.root(method, &format!("sys/policies/acl/{name}"), body).await;
        assert_eq!(st.as_u16(), expect, "{method} {name}: {v}");
    }
    let (_, list) = s.root("LIST", "sys/policies/acl", None).await;
    assert_eq!(list["data"]["keys"], json!(["default", "mixed", "root"]));
    s.stop().await;
}
