//! The agent's S3 client, for snapshots and audit shipping.
//!
//! Built like the rest of the workspace's AWS clients (coffer-kms-seal, coffer-cloud): the
//! smithy hyper client on rustls + ring instead of the SDK default (which builds aws-lc), the
//! instance role through the default credential chain unless explicit credentials are given.
//! An endpoint override (`AWS_ENDPOINT_URL`: moto in tests, a VPC endpoint in production) also
//! switches to path-style addressing, because such endpoints do not serve
//! `bucket.host` virtual-host names.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use secrecy::ExposeSecret;

use crate::config::StaticAwsCredentials;

/// Attempts per call inside the SDK (standard retry with backoff). Callers retry whole
/// operations on top (the shipper forever, a snapshot command once per delivery).
const SDK_MAX_ATTEMPTS: u32 = 3;

/// A client for `region`. `endpoint`: an override URL (path-style addressing then);
/// `credentials`: `None` for the default chain (the instance role).
pub async fn client(
    region: &str,
    endpoint: Option<&str>,
    credentials: Option<&StaticAwsCredentials>,
) -> aws_sdk_s3::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    // No whole-operation timeout: a snapshot upload may legitimately take minutes. A stalled
    // connection is caught by the read timeout instead.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(60))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new(region.to_owned()))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(SDK_MAX_ATTEMPTS));
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    if let Some(c) = credentials {
        loader = loader.credentials_provider(Credentials::new(
            &c.access_key_id,
            c.secret_access_key.expose_secret(),
            None,
            None,
            "coffer-agent-static",
        ));
    }
    let base = loader.load().await;
    let conf =
        aws_sdk_s3::config::Builder::from(&base).force_path_style(endpoint.is_some()).build();
    aws_sdk_s3::Client::from_conf(conf)
}
