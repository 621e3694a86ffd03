//! Every malformed cluster request is a 4xx in the error model and writes nothing: the org's
//! cluster list is compared before and after each batch.

use serde_json::{json, Value};

use crate::helpers::{cluster_body, spawn_app, Resp, TestApp, User};

const REGIONS: [&str; 6] =
    ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"];

async fn cluster_ids(app: &TestApp, user: &User) -> Vec<Value> {
    let path = format!("/v1/orgs/{}/clusters?page_size=100", user.own_org);
    let body = app.get(&path, &user.token).await.expect(200).clone();
    body["clusters"].as_array().expect("clusters").iter().map(|c| c["id"].clone()).collect()
}

async fn create(app: &TestApp, user: &User, body: &Value) -> Resp {
    app.post(&format!("/v1/orgs/{}/clusters", user.own_org), &user.token, body).await
}

fn with(field: &str, value: Value) -> Value {
    let mut body = cluster_body("valid-name");
    body[field] = value;
    body
}

#[tokio::test]
async fn name_rules() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let check = |name: &str, ok: bool| (name.to_owned(), ok);
    let cases = [
        check("abc", true),
        check("a-1-b", true),
        check(&format!("a{}", "b".repeat(31)), true),
        check("ab", false),
        check(&format!("a{}", "b".repeat(32)), false),
        check("Abc", false),
        check("1abc", false),
        check("-abc", false),
        check("abc-", false),
        check("ab_c", false),
        check("ab.c", false),
        check("ab c", false),
        check("", false),
        check("abcé", false),
    ];
    let mut expected = Vec::new();
    for (name, ok) in cases {
        let resp = create(&app, &user, &with("name", json!(name))).await;
        if ok {
            expected.push(resp.expect(202)["cluster"]["id"].clone());
        } else {
            resp.expect_error(400, "invalid_argument");
        }
        assert_eq!(cluster_ids(&app, &user).await, expected, "after name {name:?}");
    }
}

#[tokio::test]
async fn tier_size_pairs() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    // (tier, size, accepted, sizes the error must name when rejected)
    let check = |tier: &'static str,
                 size: &'static str,
                 ok: bool,
                 valid: &'static [&'static str]| (tier, size, ok, valid);
    let cases = [
        check("dev", "small", true, &[]),
        check("dev", "medium", false, &["small"]),
        check("dev", "large", false, &["small"]),
        check("essentials", "small", true, &[]),
        check("essentials", "medium", true, &[]),
        check("essentials", "large", false, &["small", "medium"]),
        check("standard", "small", true, &[]),
        check("standard", "medium", true, &[]),
        check("standard", "large", true, &[]),
        check("premium", "small", false, &[]),
        check("standard", "huge", false, &[]),
        check("Standard", "small", false, &[]),
    ];
    let mut expected = Vec::new();
    for (i, (tier, size, ok, valid)) in cases.into_iter().enumerate() {
        let mut body = cluster_body(&format!("pair-{i}"));
        body["tier"] = json!(tier);
        body["size"] = json!(size);
        let resp = create(&app, &user, &body).await;
        if ok {
            expected.push(resp.expect(202)["cluster"]["id"].clone());
        } else {
            let message = resp.expect_error(400, "invalid_argument");
            for size in valid {
                assert!(
                    message.contains(size),
                    "{tier}/{size}: message {message:?} should name valid size {size}"
                );
            }
        }
        assert_eq!(cluster_ids(&app, &user).await, expected, "after {tier}/{size}");
    }
}

#[tokio::test]
async fn regions_versions_and_allow_lists() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let mut expected = Vec::new();
    for (i, region) in REGIONS.iter().enumerate() {
        let mut body = cluster_body(&format!("region-{i}"));
        body["region"] = json!(region);
        expected.push(create(&app, &user, &body).await.expect(202)["cluster"]["id"].clone());
    }
    let rejected = [
        with("region", json!("us-east-2")),
        with("region", json!("")),
        with("region", json!("US-EAST-1")),
        with("version", json!("9.9.9")),
        with("version", json!("")),
        with("version", json!("latest")),
        with("ip_allow_list", json!(["10.0.0.0/33"])),
        with("ip_allow_list", json!(["300.0.0.0/8"])),
        with("ip_allow_list", json!(["not-a-cidr"])),
        with("ip_allow_list", json!(["10.0.0.0/8", "2001:db8::/129"])),
        with("ip_allow_list", json!([""])),
    ];
    for body in &rejected {
        create(&app, &user, body).await.expect_error(400, "invalid_argument");
    }
    assert_eq!(cluster_ids(&app, &user).await, expected);
    let ok = with("ip_allow_list", json!(["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"]));
    create(&app, &user, &ok).await.expect(202);
}

#[tokio::test]
async fn malformed_requests_use_the_error_model_and_write_nothing() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let url = app.url(&format!("/v1/orgs/{}/clusters", user.own_org));
    let valid = serde_json::to_string(&cluster_body("valid-name")).expect("json");
    let huge = format!(
        r#"{{"name":"valid-name","tier":"dev","size":"small","region":"us-east-1","padding":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let check = |content_type: Option<&'static str>,
                 body: String,
                 status: u16,
                 code: &'static str| (content_type, body, status, code);
    let json_ct = Some("application/json");
    let cases = [
        check(json_ct, r#"{"name": "valid-name", "tier": "dev""#.to_owned(), 400, "invalid_argument"),
        check(json_ct, "not json".to_owned(), 400, "invalid_argument"),
        check(json_ct, String::new(), 400, "invalid_argument"),
        check(json_ct, "[]".to_owned(), 400, "invalid_argument"),
        check(json_ct, r#"{"name":"valid-name","tier":"dev","size":"small","region":"us-east-1","owner":"me"}"#.to_owned(), 400, "invalid_argument"),
        check(json_ct, r#"{"name":"valid-name","tier":"dev","size":"small"}"#.to_owned(), 400, "invalid_argument"),
        check(json_ct, r#"{"name":42,"tier":"dev","size":"small","region":"us-east-1"}"#.to_owned(), 400, "invalid_argument"),
        check(json_ct, r#"{"name":"valid-name","tier":"dev","size":"small","region":"us-east-1","public_endpoint":"yes"}"#.to_owned(), 400, "invalid_argument"),
        check(json_ct, r#"{"name":"valid-name","tier":"dev","size":"small","region":"us-east-1","ip_allow_list":"10.0.0.0/8"}"#.to_owned(), 400, "invalid_argument"),
        check(json_ct, huge, 413, "payload_too_large"),
        check(Some("text/plain"), valid.clone(), 415, "unsupported_media_type"),
        check(Some("application/x-www-form-urlencoded"), "name=valid-name".to_owned(), 415, "unsupported_media_type"),
        check(None, valid.clone(), 415, "unsupported_media_type"),
    ];
    for (content_type, body, status, code) in cases {
        let mut req = app.client.post(&url).bearer_auth(&user.token).body(body.clone());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = TestApp::finish(req).await;
        let preview: String = body.chars().take(80).collect();
        assert_eq!(resp.status, status, "{content_type:?} {preview}: {}", resp.text);
        resp.expect_error(status, code);
        assert!(cluster_ids(&app, &user).await.is_empty(), "{preview} wrote a cluster");
    }
    // The same body with the right content type is accepted, so the rejections above were about form.
    let req = app
        .client
        .post(&url)
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body(valid);
    TestApp::finish(req).await.expect(202);
}
