//! What the runner asks EC2 (moto): the instances the provisioning engine launched, and their
//! user data (the bootstrap document the agent starts from).
//!
//! Only instances tagged `coffer:cluster-id` are Coffer nodes; that is the tag the engine puts on
//! every resource (`coffer_cloud::cluster::TAG_CLUSTER_ID`, not imported: that crate links the
//! KMS, S3 and IAM SDKs this tool does not need).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_ec2::error::DisplayErrorContext;
use aws_sdk_ec2::types::{Filter, InstanceAttributeName, InstanceStateName};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use base64::Engine as _;

pub const TAG_CLUSTER_ID: &str = "coffer:cluster-id";

/// An instance as EC2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub instance_id: String,
    pub cluster_id: String,
    /// `running`: the node should run. Anything else (pending, stopping, stopped, shutting-down,
    /// terminated): it should not, or not yet.
    pub running: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum Ec2Error {
    #[error("{op} in {region} failed: {detail}")]
    Call { op: &'static str, region: String, detail: String },
    #[error("instance {0} has no user data")]
    NoUserData(String),
    #[error("user data of instance {0} is not base64")]
    BadUserData(String),
}

/// One EC2 client per watched region.
#[derive(Debug, Clone)]
pub struct Ec2 {
    clients: Vec<(String, aws_sdk_ec2::Client)>,
}

impl Ec2 {
    pub async fn new(endpoint: &str, regions: &[String], key_id: &str, secret: &str) -> Ec2 {
        let base = sdk_config(endpoint, key_id, secret).await;
        let clients = regions
            .iter()
            .map(|r| {
                let conf = aws_sdk_ec2::config::Builder::from(&base).region(Region::new(r.clone()));
                (r.clone(), aws_sdk_ec2::Client::from_conf(conf.build()))
            })
            .collect();
        Ec2 { clients }
    }

    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.clients.iter().map(|(r, _)| r.as_str())
    }

    fn client(&self, region: &str) -> Option<&aws_sdk_ec2::Client> {
        self.clients.iter().find(|(r, _)| r == region).map(|(_, c)| c)
    }

    fn call_error(op: &'static str, region: &str, e: impl std::error::Error) -> Ec2Error {
        Ec2Error::Call { op, region: region.to_owned(), detail: DisplayErrorContext(e).to_string() }
    }

    /// Every Coffer instance EC2 lists in `region`, in any state.
    pub async fn instances(&self, region: &str) -> Result<Vec<Observed>, Ec2Error> {
        let Some(client) = self.client(region) else { return Ok(Vec::new()) };
        let filter = Filter::builder().name("tag-key").values(TAG_CLUSTER_ID).build();
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = client
                .describe_instances()
                .filters(filter.clone())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| Self::call_error("DescribeInstances", region, e))?;
            for inst in page.reservations().iter().flat_map(|r| r.instances()) {
                let Some(id) = inst.instance_id() else { continue };
                let cluster = inst
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some(TAG_CLUSTER_ID))
                    .and_then(|t| t.value())
                    .unwrap_or_default();
                let state = inst.state().and_then(|s| s.name());
                out.push(Observed {
                    instance_id: id.to_owned(),
                    cluster_id: cluster.to_owned(),
                    running: state == Some(&InstanceStateName::Running),
                });
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    /// The instance's user data, decoded (EC2 hands it out base64-encoded).
    pub async fn user_data(&self, region: &str, instance_id: &str) -> Result<Vec<u8>, Ec2Error> {
        let Some(client) = self.client(region) else {
            return Err(Ec2Error::NoUserData(instance_id.to_owned()));
        };
        let out = client
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::UserData)
            .send()
            .await
            .map_err(|e| Self::call_error("DescribeInstanceAttribute", region, e))?;
        let encoded = out
            .user_data()
            .and_then(|v| v.value())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Ec2Error::NoUserData(instance_id.to_owned()))?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| Ec2Error::BadUserData(instance_id.to_owned()))
    }
}

/// The SDK configuration for `endpoint` with static credentials: rustls on ring like the rest of
/// the workspace (no aws-lc C build). Public for tests that drive moto's EC2 directly.
pub async fn sdk_config(endpoint: &str, key_id: &str, secret: &str) -> aws_config::SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(20))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .http_client(http)
        .timeout_config(timeouts)
        // The poll loop is the retry: a failed describe is simply asked again next tick.
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .credentials_provider(Credentials::new(key_id, secret, None, None, "coffer-node-runner"))
        .load()
        .await
}

/// The `control_plane_url` a bootstrap document names, if it is one.
pub fn control_plane_url(user_data: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(user_data).ok()?;
    doc.get("control_plane_url")?.as_str().map(|u| u.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_plane_url_of_user_data() {
        let check = |raw: &str, want: Option<&str>| {
            assert_eq!(control_plane_url(raw.as_bytes()).as_deref(), want, "{raw}");
        };
        check(
            r#"{"control_plane_url":"http://127.0.0.1:8080/","x":1}"#,
            Some("http://127.0.0.1:8080"),
        );
        check(r#"{"control_plane_url":"http://cp"}"#, Some("http://cp"));
        check(r#"{"control_plane_url":7}"#, None);
        check(r#"{"other":"x"}"#, None);
        check("#!/bin/sh\necho hi", None);
    }
}
