//! Shared set-up: the `AwsCloud` under test and raw SDK clients to check its work by describing
//! resources directly, never through the code under test.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use coffer_cloud::{AwsCloud, AwsSettings, ClusterRef, CredentialSource};
use secrecy::SecretString;
use uuid::Uuid;

use coffer_test_support::moto;

pub const ADMIN_ARN: &str = "arn:aws:iam::123456789012:role/coffer-control-plane";

pub async fn cloud() -> AwsCloud {
    cloud_at(&moto::url().await, 3).await
}

pub async fn cloud_at(endpoint: &str, sdk_max_attempts: u32) -> AwsCloud {
    let settings = AwsSettings {
        home_region: "us-east-1".into(),
        endpoint_url: Some(endpoint.to_owned()),
        credentials: CredentialSource::Static {
            access_key_id: "test".into(),
            secret_access_key: SecretString::from("test"),
            session_token: None,
        },
        control_plane_principal_arn: ADMIN_ARN.into(),
        s3_force_path_style: true,
    };
    AwsCloud::with_sdk_max_attempts(settings, sdk_max_attempts).await
}

/// A fresh cluster: tests share one moto and isolate by cluster id.
pub fn cluster(region: &str) -> ClusterRef {
    ClusterRef::new(Uuid::new_v4(), Uuid::new_v4(), region)
}

async fn sdk(region: &str) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .http_client(http)
        .endpoint_url(moto::url().await)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await
}

pub async fn kms(region: &str) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk(region).await)
}

pub async fn s3(region: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&sdk(region).await).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub async fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk("us-east-1").await)
}

pub async fn ec2(region: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&sdk(region).await)
}

/// IAM returns policy documents URL-encoded; moto sometimes does not. Accept both.
pub fn policy_json(doc: &str) -> serde_json::Value {
    if let Ok(v) = serde_json::from_str(doc) {
        return v;
    }
    let bytes = doc.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("utf8");
                out.push(u8::from_str_radix(hex, 16).expect("percent escape"));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("policy {doc:?} is not JSON: {e}"))
}

/// Tags as sorted (key, value) pairs, for whole-set comparison.
pub fn expected_tags(
    c: &ClusterRef,
    name: &str,
    extra: &[(&str, String)],
) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = c
        .tags(name)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())))
        .collect();
    v.sort();
    v
}

pub fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}
