//! [`AwsCloud`]: the [`Cloud`] implementation on the AWS SDK.
//!
//! This file only builds clients and routes calls; each service module (`kms`, `s3`, `iam`,
//! `ec2/`) owns its SDK types, and `sdk_error` owns the error mapping. Clusters live in many
//! regions, so regional clients are built on first use and cached per region.

mod ec2;
mod iam;
mod kms;
mod objects;
mod s3;
mod sdk_error;

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use secrecy::{ExposeSecret, SecretString};

pub use ec2::instances::client_token;

use crate::cloud::Cloud;
use crate::cluster::{BucketPurpose, ClusterRef};
use crate::error::CloudError;
use crate::resources::{
    Bucket, Ingress, Instance, InstanceSpec, KmsKey, NodeRole, SecurityGroup, TaggedResource,
};

/// Where credentials come from.
#[derive(Debug, Clone)]
pub enum CredentialSource {
    /// The SDK's default chain: environment, profile, web identity, ECS, instance metadata.
    DefaultChain,
    Static {
        access_key_id: String,
        secret_access_key: SecretString,
        session_token: Option<SecretString>,
    },
}

#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// Region for global services (IAM) and the SDK's own default.
    pub home_region: String,
    /// Overrides every service endpoint (moto in tests and local development).
    pub endpoint_url: Option<String>,
    pub credentials: CredentialSource,
    /// The principal the control plane runs as; it administers every cluster key.
    pub control_plane_principal_arn: String,
    /// Path-style S3 addressing, needed by endpoints without virtual-host buckets (moto).
    pub s3_force_path_style: bool,
}

impl AwsSettings {
    /// Production defaults: default credential chain, real endpoints.
    pub fn new(
        home_region: impl Into<String>,
        control_plane_principal_arn: impl Into<String>,
    ) -> Self {
        AwsSettings {
            home_region: home_region.into(),
            endpoint_url: None,
            credentials: CredentialSource::DefaultChain,
            control_plane_principal_arn: control_plane_principal_arn.into(),
            s3_force_path_style: false,
        }
    }
}

#[derive(Clone)]
struct RegionClients {
    kms: aws_sdk_kms::Client,
    s3: aws_sdk_s3::Client,
    ec2: aws_sdk_ec2::Client,
}

pub struct AwsCloud {
    base: SdkConfig,
    iam: aws_sdk_iam::Client,
    admin_arn: String,
    force_path_style: bool,
    /// See [`AwsCloud::with_tls_only_bucket_policy`].
    tls_only_policy: bool,
    /// Read-mostly: a write happens once per region for the life of the process.
    regions: RwLock<HashMap<String, RegionClients>>,
}

impl std::fmt::Debug for AwsCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCloud").field("admin_arn", &self.admin_arn).finish_non_exhaustive()
    }
}

/// `aws`, `aws-cn` or `aws-us-gov`: ARNs we build ourselves must carry the right partition.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl AwsCloud {
    /// Attempts per call inside the SDK (standard retry with backoff) before a transient error
    /// reaches the caller. Small, because the workflow engine retries whole steps itself.
    pub const DEFAULT_SDK_MAX_ATTEMPTS: u32 = 3;

    pub async fn new(settings: AwsSettings) -> AwsCloud {
        AwsCloud::with_sdk_max_attempts(settings, AwsCloud::DEFAULT_SDK_MAX_ATTEMPTS).await
    }

    /// Like [`AwsCloud::new`] with a chosen number of SDK attempts per call (at least 1).
    pub async fn with_sdk_max_attempts(settings: AwsSettings, sdk_max_attempts: u32) -> AwsCloud {
        // rustls on ring, the provider the rest of the workspace uses; avoids building aws-lc.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .operation_timeout(Duration::from_secs(90))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.home_region.clone()))
            .http_client(http)
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(sdk_max_attempts.max(1)));
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let CredentialSource::Static { access_key_id, secret_access_key, session_token } =
            &settings.credentials
        {
            loader = loader.credentials_provider(Credentials::new(
                access_key_id,
                secret_access_key.expose_secret(),
                session_token.as_ref().map(|t| t.expose_secret().to_owned()),
                None,
                "coffer-static",
            ));
        }
        let base = loader.load().await;
        AwsCloud {
            iam: aws_sdk_iam::Client::new(&base),
            base,
            admin_arn: settings.control_plane_principal_arn,
            force_path_style: settings.s3_force_path_style,
            tls_only_policy: true,
            regions: RwLock::new(HashMap::new()),
        }
    }

    /// Whether new buckets get the policy denying requests without TLS (on by default). Only a
    /// stack whose S3 endpoint is plain HTTP (moto on loopback) turns it off: there the policy
    /// would refuse every object request, since none of them uses TLS.
    pub fn with_tls_only_bucket_policy(mut self, on: bool) -> AwsCloud {
        self.tls_only_policy = on;
        self
    }

    fn clients(&self, region: &str) -> Result<RegionClients, CloudError> {
        ClusterRef::check_region(region)?;
        // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
        if let Some(c) = self.regions.read().unwrap_or_else(|p| p.into_inner()).get(region) {
            return Ok(c.clone());
        }
        let r = Region::new(region.to_owned());
        let clients = RegionClients {
            kms: aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(&self.base).region(r.clone()).build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&self.base)
                    .region(r.clone())
                    .force_path_style(self.force_path_style)
                    .build(),
            ),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&self.base).region(r).build(),
            ),
        };
        let mut map = self.regions.write().unwrap_or_else(|p| p.into_inner());
        Ok(map.entry(region.to_owned()).or_insert(clients).clone())
    }
}

#[async_trait]
impl Cloud for AwsCloud {
    async fn ensure_kms_key(
        &self,
        c: &ClusterRef,
        node_role_arn: Option<&str>,
    ) -> Result<KmsKey, CloudError> {
        kms::ensure_key(&self.clients(&c.region)?.kms, c, &self.admin_arn, node_role_arn).await
    }

    async fn schedule_kms_key_deletion(
        &self,
        c: &ClusterRef,
        key_id: &str,
        days: i32,
    ) -> Result<(), CloudError> {
        kms::schedule_deletion(&self.clients(&c.region)?.kms, c, key_id, days).await
    }

    async fn ensure_bucket(
        &self,
        c: &ClusterRef,
        purpose: BucketPurpose,
        kms_key_arn: &str,
    ) -> Result<Bucket, CloudError> {
        s3::ensure_bucket(
            &self.clients(&c.region)?.s3,
            c,
            partition(&c.region),
            purpose,
            kms_key_arn,
            self.tls_only_policy,
        )
        .await
    }

    async fn delete_bucket(
        &self,
        c: &ClusterRef,
        purpose: BucketPurpose,
    ) -> Result<(), CloudError> {
        s3::delete_bucket(&self.clients(&c.region)?.s3, c, purpose).await
    }

    async fn ensure_node_role(
        &self,
        c: &ClusterRef,
        kms_key_arn: &str,
        buckets: &[Bucket],
    ) -> Result<NodeRole, CloudError> {
        iam::ensure_node_role(&self.iam, c, kms_key_arn, buckets).await
    }

    async fn delete_node_role(&self, c: &ClusterRef) -> Result<(), CloudError> {
        iam::delete_node_role(&self.iam, c).await
    }

    async fn ensure_security_group(
        &self,
        c: &ClusterRef,
        ingress: &Ingress,
    ) -> Result<SecurityGroup, CloudError> {
        ec2::sg::ensure(&self.clients(&c.region)?.ec2, c, ingress).await
    }

    async fn delete_security_group(&self, c: &ClusterRef) -> Result<(), CloudError> {
        ec2::sg::delete(&self.clients(&c.region)?.ec2, c).await
    }

    async fn ensure_instance(
        &self,
        c: &ClusterRef,
        spec: &InstanceSpec,
    ) -> Result<Instance, CloudError> {
        ec2::instances::ensure(&self.clients(&c.region)?.ec2, c, spec).await
    }

    async fn describe_instances(&self, c: &ClusterRef) -> Result<Vec<Instance>, CloudError> {
        ec2::instances::describe_cluster(&self.clients(&c.region)?.ec2, c).await
    }

    async fn terminate_instances(&self, c: &ClusterRef) -> Result<(), CloudError> {
        ec2::instances::terminate(&self.clients(&c.region)?.ec2, c).await
    }

    async fn list_tagged_resources(&self, region: &str) -> Result<Vec<TaggedResource>, CloudError> {
        let clients = self.clients(region)?;
        let mut out = kms::list_tagged(&clients.kms, region).await?;
        out.extend(s3::list_tagged(&clients.s3, region).await?);
        out.extend(ec2::list_tagged(&clients.ec2, region).await?);
        out.extend(iam::list_tagged(&self.iam).await?);
        Ok(out)
    }

    async fn list_cluster_kms_keys(&self, c: &ClusterRef) -> Result<Vec<String>, CloudError> {
        kms::cluster_keys(&self.clients(&c.region)?.kms, c).await
    }
}

#[cfg(test)]
mod tests {
    use super::partition;

    #[test]
    fn partitions() {
        let check = |r: &str, p: &str| assert_eq!(partition(r), p, "{r}");
        check("eu-west-1", "aws");
        check("cn-north-1", "aws-cn");
        check("us-gov-west-1", "aws-us-gov");
    }
}
