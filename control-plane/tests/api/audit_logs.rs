//! Audit logs through the API against a real moto bucket: the test ships gzip'd objects in the
//! documented layout itself (as the agent would), then lists and downloads time ranges.

use std::io::Write;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use coffer_control_plane::provisioning::AwsConnectSettings;
use flate2::write::GzEncoder;
use flate2::Compression;
use secrecy::SecretString;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with, str_field, unique_name, TestApp, User};

const REGION: &str = "us-east-1";

async fn s3(endpoint: &str) -> aws_sdk_s3::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .http_client(http)
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await;
    let conf = aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(conf)
}

async fn audit_app() -> (TestApp, aws_sdk_s3::Client) {
    audit_app_with(|_| {}).await
}

async fn audit_app_with(
    configure: impl FnOnce(&mut coffer_control_plane::config::Settings) + Send + 'static,
) -> (TestApp, aws_sdk_s3::Client) {
    let moto = crate::platform::moto::url().await;
    let aws = AwsConnectSettings {
        home_region: REGION.into(),
        endpoint_url: Some(moto.clone()),
        access_key_id: Some("test".into()),
        secret_access_key: Some(SecretString::from("test")),
        session_token: None,
        control_plane_principal_arn: "arn:aws:iam::123456789012:role/coffer-control-plane".into(),
        s3_force_path_style: true,
    };
    let app = spawn_app_with(move |s| {
        s.audit_logs.enabled = true;
        s.provisioning.aws = aws;
        configure(s);
    })
    .await;
    (app, s3(&moto).await)
}

/// A cluster with an audit bucket in moto, recorded the way the engine records it.
async fn audited_cluster(app: &TestApp, s3: &aws_sdk_s3::Client, owner: &User) -> (String, String) {
    let (cluster, _) = app.create_cluster(&owner.own_org, &owner.token, &unique_name("c")).await;
    let cluster = str_field(&cluster, "id");
    let bucket = format!("coffer-{cluster}-audit");
    s3.create_bucket().bucket(&bucket).send().await.expect("create bucket");
    sqlx::query(
        "INSERT INTO cluster_resources (cluster_id, org_id, region, kind, resource_id, role, \
         state) \
         SELECT id, org_id, region, 'bucket', $2, 'audit', 'present' FROM clusters WHERE id = $1",
    )
    .bind(cluster.parse::<Uuid>().expect("uuid"))
    .bind(&bucket)
    .execute(&app.db)
    .await
    .expect("record bucket");
    (cluster, bucket)
}

fn line(time: &str, n: u32) -> String {
    format!("{{\"time\":\"{time}\",\"type\":\"response\",\"n\":{n}}}\n")
}

/// Ships one object in the documented layout: key from node, first line's hour and offsets;
/// metadata first-time / last-time / lines.
async fn ship(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    cluster: &str,
    node: u32,
    offset: u64,
    lines: &[(&str, u32)],
) -> String {
    let text: String = lines.iter().map(|(t, n)| line(t, *n)).collect();
    let (first, last) = (lines[0].0, lines[lines.len() - 1].0);
    let hour = first[..13].replace(['-', 'T'], "/");
    let end = offset + text.len() as u64;
    let key = format!("audit/{cluster}/node-{node}/{hour}/{offset:020}-{end:020}.jsonl.gz");
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(text.as_bytes()).expect("gzip");
    let body = gz.finish().expect("gzip");
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(ByteStream::from(body))
        .metadata("first-time", first)
        .metadata("last-time", last)
        .metadata("lines", lines.len().to_string())
        .send()
        .await
        .expect("put object");
    key
}

fn keys(listing: &Value) -> Vec<String> {
    listing["objects"].as_array().expect("objects").iter().map(|o| str_field(o, "key")).collect()
}

#[tokio::test]
async fn ranges_list_overlapping_objects_and_download_their_lines_in_order() {
    let (app, s3) = audit_app().await;
    let owner = app.new_user().await;
    let (cluster, bucket) = audited_cluster(&app, &s3, &owner).await;

    let early = ship(
        &s3,
        &bucket,
        &cluster,
        1,
        0,
        &[("2026-11-22T08:00:00Z", 90), ("2026-11-22T08:30:00Z", 91)],
    )
    .await;
    // Starts in the 09 partition, reaches into the range.
    let straddling = ship(
        &s3,
        &bucket,
        &cluster,
        1,
        500,
        &[("2026-11-22T09:30:00Z", 92), ("2026-11-22T10:05:00Z", 3)],
    )
    .await;
    let a = ship(
        &s3,
        &bucket,
        &cluster,
        0,
        0,
        &[("2026-11-22T10:00:00Z", 1), ("2026-11-22T10:20:00Z", 4)],
    )
    .await;
    let b = ship(
        &s3,
        &bucket,
        &cluster,
        0,
        900,
        &[("2026-11-22T10:40:00Z", 5), ("2026-11-22T11:10:00Z", 93)],
    )
    .await;
    let late = ship(&s3, &bucket, &cluster, 0, 1800, &[("2026-11-22T12:00:00Z", 94)]).await;
    // Same bucket, another cluster's prefix: never this cluster's logs.
    let foreign =
        ship(&s3, &bucket, &Uuid::new_v4().to_string(), 0, 0, &[("2026-11-22T10:10:00Z", 95)])
            .await;

    let base = format!("/v1/orgs/{}/clusters/{cluster}/audit-logs", owner.own_org);
    let range = "from=2026-11-22T10:00:00Z&to=2026-11-22T11:00:00Z";
    let listing = app.get(&format!("{base}?{range}"), &owner.token).await.expect(200).clone();
    assert_eq!(keys(&listing), [straddling.clone(), a.clone(), b.clone()], "{listing}");
    assert_eq!(listing["truncated"], false);
    let first = &listing["objects"][0];
    assert_eq!(first["node"], 1);
    assert_eq!(first["start"], "2026-11-22T09:30:00Z");
    assert_eq!(first["end"], "2026-11-22T10:05:00Z");
    assert_eq!(first["lines"], 2);
    assert!(first["size"].as_u64().is_some_and(|n| n > 0), "{first}");
    for k in [&early, &late, &foreign] {
        assert!(!listing.to_string().contains(k.as_str()), "{k} listed: {listing}");
    }

    let resp = app.get(&format!("{base}/download?{range}"), &owner.token).await;
    resp.expect(200);
    assert_eq!(resp.header("content-type"), Some("application/x-ndjson"));
    let ns: Vec<u64> = resp
        .text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json line")["n"].as_u64().expect("n"))
        .collect();
    // Lines in [10:00, 11:00) from both nodes, merged by time.
    assert_eq!(ns, [1, 3, 4, 5], "{}", resp.text);

    // A range with nothing in it.
    let empty = "from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z";
    assert_eq!(
        keys(app.get(&format!("{base}?{empty}"), &owner.token).await.expect(200)),
        Vec::<String>::new()
    );
    let resp = app.get(&format!("{base}/download?{empty}"), &owner.token).await;
    assert_eq!((resp.status, resp.text.as_str()), (200, ""));
}

#[tokio::test]
async fn ranges_are_validated_and_access_is_for_admins_of_the_org() {
    let (app, s3) = audit_app().await;
    let owner = app.new_user().await;
    let org = owner.own_org.clone();
    let (cluster, bucket) = audited_cluster(&app, &s3, &owner).await;
    ship(&s3, &bucket, &cluster, 0, 0, &[("2026-11-22T10:00:00Z", 1)]).await;
    let base = format!("/v1/orgs/{org}/clusters/{cluster}/audit-logs");
    let ok = "from=2026-11-22T10:00:00Z&to=2026-11-22T11:00:00Z";

    for query in [
        "from=2026-11-22T11:00:00Z&to=2026-11-22T10:00:00Z",
        "from=2026-11-22T10:00:00Z&to=2026-11-22T10:00:00Z",
        "from=2026-11-01T00:00:00Z&to=2026-11-08T00:00:01Z",
        "from=yesterday&to=2026-11-22T10:00:00Z",
        "from=2026-11-22T10:00:00Z",
        "",
        "from=2026-11-22T10:00:00Z&to=2026-11-22T11:00:00Z&bucket=other",
    ] {
        for path in [format!("{base}?{query}"), format!("{base}/download?{query}")] {
            app.get(&path, &owner.token).await.expect_error(400, "invalid_argument");
        }
    }
    // Exactly seven days is allowed.
    app.get(&format!("{base}?from=2026-11-01T00:00:00Z&to=2026-11-08T00:00:00Z"), &owner.token)
        .await
        .expect(200);

    let admin = app.add_member(&org, &owner.token, "admin").await;
    assert_eq!(keys(app.get(&format!("{base}?{ok}"), &admin.token).await.expect(200)).len(), 1);
    for role in ["viewer", "contributor"] {
        let member = app.add_member(&org, &owner.token, role).await;
        for path in [format!("{base}?{ok}"), format!("{base}/download?{ok}")] {
            app.get(&path, &member.token).await.expect_error(403, "permission_denied");
        }
    }
    let sp = app.create_sp(&org, &owner.token, "contributor").await;
    let sp_token = app.sp_token(&sp).await;
    app.get(&format!("{base}?{ok}"), &sp_token).await.expect_error(403, "permission_denied");

    // Another org: not found, whether through its own org id or ours.
    let other = app.new_user().await;
    let (theirs, _) = audited_cluster(&app, &s3, &other).await;
    for path in [
        format!("{base}?{ok}"),
        format!("{base}/download?{ok}"),
        format!("/v1/orgs/{}/clusters/{cluster}/audit-logs?{ok}", other.own_org),
        format!("/v1/orgs/{org}/clusters/{theirs}/audit-logs?{ok}"),
    ] {
        app.get(&path, &other.token).await.expect_error(404, "not_found");
    }
    // Their cluster's bucket is theirs: our listing of our cluster never shows it, and their
    // (empty) listing never shows ours.
    let their_listing = app
        .get(&format!("/v1/orgs/{}/clusters/{theirs}/audit-logs?{ok}", other.own_org), &other.token)
        .await
        .expect(200)
        .clone();
    assert_eq!(keys(&their_listing), Vec::<String>::new());
}

#[tokio::test]
async fn a_cluster_without_an_audit_bucket_has_no_logs() {
    // No object store configured at all: a never-provisioned cluster still answers.
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let (cluster, _) = app.create_cluster(&owner.own_org, &owner.token, &unique_name("c")).await;
    let base =
        format!("/v1/orgs/{}/clusters/{}/audit-logs", owner.own_org, str_field(&cluster, "id"));
    let ok = "from=2026-11-22T10:00:00Z&to=2026-11-22T11:00:00Z";
    let listing = app.get(&format!("{base}?{ok}"), &owner.token).await.expect(200).clone();
    assert_eq!(listing, serde_json::json!({"objects": [], "truncated": false}));
    let resp = app.get(&format!("{base}/download?{ok}"), &owner.token).await;
    assert_eq!((resp.status, resp.text.as_str()), (200, ""));
}

#[tokio::test]
async fn listings_and_downloads_are_capped() {
    let (app, s3) = audit_app_with(|s| {
        s.audit_logs.max_objects = 2;
        s.audit_logs.max_download_bytes = 4096;
    })
    .await;
    let owner = app.new_user().await;
    let (cluster, bucket) = audited_cluster(&app, &s3, &owner).await;
    for (i, minute) in ["10:01", "10:02", "10:03"].iter().enumerate() {
        let t = format!("2026-11-22T{minute}:00Z");
        ship(&s3, &bucket, &cluster, 0, i as u64 * 100, &[(t.as_str(), i as u32)]).await;
    }
    let base = format!("/v1/orgs/{}/clusters/{cluster}/audit-logs", owner.own_org);
    let range = "from=2026-11-22T10:00:00Z&to=2026-11-22T11:00:00Z";
    let listing = app.get(&format!("{base}?{range}"), &owner.token).await.expect(200).clone();
    assert_eq!(keys(&listing).len(), 2, "{listing}");
    assert_eq!(listing["truncated"], true);
    let msg = app
        .get(&format!("{base}/download?{range}"), &owner.token)
        .await
        .expect_error(400, "invalid_argument");
    assert!(msg.contains("shorter range"), "{msg}");

    // Two objects fit the count, but not the byte budget once decompressed.
    let big: Vec<(String, u32)> =
        (0..100).map(|n| (format!("2026-11-22T10:01:{:02}Z", n * 30 / 100), n)).collect();
    let big: Vec<(&str, u32)> = big.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    ship(&s3, &bucket, &cluster, 1, 0, &big).await;
    let wide = "from=2026-11-22T10:01:00Z&to=2026-11-22T10:01:30Z";
    let listing = app.get(&format!("{base}?{wide}"), &owner.token).await.expect(200).clone();
    assert_eq!(
        (keys(&listing).len(), &listing["truncated"]),
        (2, &Value::Bool(false)),
        "{listing}"
    );
    let msg = app
        .get(&format!("{base}/download?{wide}"), &owner.token)
        .await
        .expect_error(400, "invalid_argument");
    assert!(msg.contains("KiB of audit logs"), "{msg}");

    // Within both limits the download works.
    let one = "from=2026-11-22T10:02:00Z&to=2026-11-22T10:02:30Z";
    let resp = app.get(&format!("{base}/download?{one}"), &owner.token).await;
    assert_eq!((resp.status, resp.text.as_str()), (200, line("2026-11-22T10:02:00Z", 1).as_str()));
}
