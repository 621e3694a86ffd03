//! `ObjectStore` for AwsCloud against moto: listing with prefix / start-after / delimiter /
//! pages, HEAD with user metadata, GET with a size cap, and "not found" classification. Objects
//! are written with the raw SDK, never through the code under test.

use aws_sdk_s3::primitives::ByteStream;
use coffer_cloud::objects::TOO_LARGE_CODE;
use coffer_cloud::{BucketLocation, ErrorKind, ListQuery, ObjectStore};
use uuid::Uuid;

use super::support::{cloud, s3};

const REGION: &str = "eu-central-1";

/// An object to put: key, body, user metadata.
type Put<'a> = (&'a str, &'a [u8], &'a [(&'a str, &'a str)]);

async fn bucket_with(keys: &[Put<'_>]) -> String {
    let client = s3(REGION).await;
    let bucket = format!("coffer-objects-test-{}", Uuid::new_v4().simple());
    let cfg = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
        .build();
    client.create_bucket().bucket(&bucket).create_bucket_configuration(cfg).send().await.unwrap();
    for (key, body, meta) in keys {
        let mut put =
            client.put_object().bucket(&bucket).key(*key).body(ByteStream::from(body.to_vec()));
        for (k, v) in *meta {
            put = put.metadata(*k, *v);
        }
        put.send().await.unwrap();
    }
    bucket
}

fn keys(page: &coffer_cloud::ObjectPage) -> Vec<&str> {
    page.objects.iter().map(|o| o.key.as_str()).collect()
}

#[tokio::test]
async fn listing_seeks_pages_and_groups() {
    let cloud = cloud().await;
    let bucket = bucket_with(&[
        ("audit/c/node-0/2026/11/22/09/a.gz", b"1", &[]),
        ("audit/c/node-0/2026/11/22/10/b.gz", b"22", &[]),
        ("audit/c/node-0/2026/11/22/11/c.gz", b"333", &[]),
        ("audit/c/node-1/2026/11/22/10/d.gz", b"4444", &[]),
        ("other/x", b"5", &[]),
    ])
    .await;
    let at = BucketLocation { region: REGION, bucket: &bucket };

    // Seek: start_after need not exist; it positions the listing in the time-ordered layout.
    let q = ListQuery {
        prefix: "audit/c/node-0/",
        start_after: Some("audit/c/node-0/2026/11/22/10/"),
        ..ListQuery::default()
    };
    let page = cloud.list_objects(at, q).await.unwrap();
    assert_eq!(
        keys(&page),
        ["audit/c/node-0/2026/11/22/10/b.gz", "audit/c/node-0/2026/11/22/11/c.gz"]
    );
    assert_eq!(page.objects[0].size, 2);
    assert!(!page.truncated);

    // Pages: max_keys 2, continue after the last key.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = ListQuery {
            prefix: "audit/",
            start_after: after.as_deref(),
            max_keys: Some(2),
            ..ListQuery::default()
        };
        let page = cloud.list_objects(at, q).await.unwrap();
        assert!(page.objects.len() <= 2);
        seen.extend(page.objects.iter().map(|o| o.key.clone()));
        if !page.truncated {
            break;
        }
        after = page.objects.last().map(|o| o.key.clone());
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "ascending: {seen:?}");

    // Delimiter: the node "directories".
    let q = ListQuery { prefix: "audit/c/", delimiter: Some("/"), ..ListQuery::default() };
    let page = cloud.list_objects(at, q).await.unwrap();
    assert!(page.objects.is_empty());
    assert_eq!(page.common_prefixes, ["audit/c/node-0/", "audit/c/node-1/"]);
}

#[tokio::test]
async fn head_and_get_read_metadata_and_respect_the_cap() {
    let cloud = cloud().await;
    let body = b"{\"time\":\"2026-11-22T10:00:00Z\"}\n".repeat(10);
    let bucket = bucket_with(&[(
        "k.gz",
        &body,
        &[("first-time", "2026-11-22T10:00:00Z"), ("last-time", "2026-11-22T10:05:00Z")],
    )])
    .await;
    let at = BucketLocation { region: REGION, bucket: &bucket };

    let head = cloud.head_object(at, "k.gz").await.unwrap();
    assert_eq!(head.size, body.len() as u64);
    assert_eq!(head.metadata.get("first-time").map(String::as_str), Some("2026-11-22T10:00:00Z"));
    assert_eq!(head.metadata.get("last-time").map(String::as_str), Some("2026-11-22T10:05:00Z"));

    let got = cloud.get_object(at, "k.gz", body.len() as u64).await.unwrap();
    assert_eq!(got, body);

    let err = cloud.get_object(at, "k.gz", body.len() as u64 - 1).await.unwrap_err();
    assert_eq!(err.code(), Some(TOO_LARGE_CODE), "{err}");
    assert_eq!(err.kind(), ErrorKind::Permanent);

    for err in [
        cloud.head_object(at, "missing").await.unwrap_err(),
        cloud.get_object(at, "missing", 10).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
    let gone = BucketLocation { region: REGION, bucket: "coffer-no-such-bucket-for-objects" };
    let err = cloud.list_objects(gone, ListQuery::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}
