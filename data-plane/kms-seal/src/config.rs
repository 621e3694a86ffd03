//! Seal configuration (the fields of Vault's `seal "awskms"` stanza) and the KMS client built
//! from it.
//!
//! Credentials come from the AWS default chain (environment, profile, web identity, ECS, IMDS)
//! unless the stanza names an access key explicitly, as Vault allows. `endpoint` points the
//! client at a KMS-compatible service (a VPC endpoint, or moto in tests).

use std::time::Duration;

use aws_config::{timeout::TimeoutConfig, BehaviorVersion, Region};
use aws_sdk_kms::config::Credentials;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use secrecy::{ExposeSecret, SecretString};

use crate::error::KmsSealError;

/// Unseal waits on KMS: bound each attempt and the whole call (retries included) so a
/// black-holed endpoint fails the unseal instead of hanging it.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the root key's KMS key lives and how to reach it.
#[derive(Clone, Debug)]
pub struct KmsSealConfig {
    /// AWS region of the key, e.g. `eu-west-1`.
    pub region: String,
    /// Key id, key ARN, alias name (`alias/...`) or alias ARN of a symmetric KMS key.
    pub kms_key_id: String,
    /// Override for the KMS endpoint URL (`http://` or `https://`).
    pub endpoint: Option<String>,
    /// Explicit access key id; `None` uses the default credential chain.
    pub access_key: Option<String>,
    /// Secret for `access_key` (required with it). Redacted in `Debug`.
    pub secret_key: Option<SecretString>,
    /// Optional session token for temporary `access_key` credentials. Redacted in `Debug`.
    pub session_token: Option<SecretString>,
}

impl KmsSealConfig {
    /// A configuration using the default credential chain and the regional endpoint.
    pub fn new(region: impl Into<String>, kms_key_id: impl Into<String>) -> KmsSealConfig {
        KmsSealConfig {
            region: region.into(),
            kms_key_id: kms_key_id.into(),
            endpoint: None,
            access_key: None,
            secret_key: None,
            session_token: None,
        }
    }

    /// Checks the fields that can be checked without calling AWS.
    pub fn validate(&self) -> Result<(), KmsSealError> {
        if self.region.trim().is_empty() {
            return Err(KmsSealError::Config("region is empty"));
        }
        if self.kms_key_id.trim().is_empty() {
            return Err(KmsSealError::Config("kms_key_id is empty"));
        }
        if let Some(endpoint) = &self.endpoint {
            let rest = endpoint
                .strip_prefix("https://")
                .or_else(|| endpoint.strip_prefix("http://"))
                .ok_or(KmsSealError::Config("endpoint must start with http:// or https://"))?;
            if rest.is_empty() || rest.starts_with('/') {
                return Err(KmsSealError::Config("endpoint has no host"));
            }
        }
        match (&self.access_key, &self.secret_key) {
            (Some(_), None) => Err(KmsSealError::Config("access_key is set without secret_key")),
            (None, Some(_)) => Err(KmsSealError::Config("secret_key is set without access_key")),
            _ if self.session_token.is_some() && self.access_key.is_none() => {
                Err(KmsSealError::Config("session_token is set without access_key"))
            }
            _ => Ok(()),
        }
    }

    /// A KMS client for this configuration. Public so operators' tooling and tests can create
    /// keys against the same endpoint with the same credentials.
    pub async fn client(&self) -> Result<aws_sdk_kms::Client, KmsSealError> {
        self.validate()?;
        // rustls with ring: the TLS stack the rest of the workspace already compiles.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(self.region.clone()))
            .timeout_config(timeouts);
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let (Some(access), Some(secret)) = (&self.access_key, &self.secret_key) {
            loader = loader.credentials_provider(Credentials::new(
                access,
                secret.expose_secret(),
                self.session_token.as_ref().map(|t| t.expose_secret().to_owned()),
                None,
                "coffer-seal-config",
            ));
        }
        Ok(aws_sdk_kms::Client::new(&loader.load().await))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(edit: impl FnOnce(&mut KmsSealConfig), expect: Result<(), &str>) {
        let mut cfg = KmsSealConfig::new("us-east-1", "alias/coffer");
        edit(&mut cfg);
        let got = cfg.validate().map_err(|e| match e {
            KmsSealError::Config(m) => m,
            other => panic!("unexpected error {other:?}"),
        });
        assert_eq!(got, expect, "{cfg:?}");
    }

    #[test]
    fn validation() {
        let secret = || Some(SecretString::from("s3cr3t"));
        check(|_| {}, Ok(()));
        check(|c| c.region = " ".into(), Err("region is empty"));
        check(|c| c.kms_key_id = String::new(), Err("kms_key_id is empty"));
        check(|c| c.endpoint = Some("http://127.0.0.1:5000".into()), Ok(()));
        check(|c| c.endpoint = Some("https://kms.vpce.example".into()), Ok(()));
        check(
            |c| c.endpoint = Some("127.0.0.1:5000".into()),
            Err("endpoint must start with http:// or https://"),
        );
        check(|c| c.endpoint = Some("http://".into()), Err("endpoint has no host"));
        check(|c| c.access_key = Some("AKIA".into()), Err("access_key is set without secret_key"));
        check(|c| c.secret_key = secret(), Err("secret_key is set without access_key"));
        check(|c| c.session_token = secret(), Err("session_token is set without access_key"));
        check(
            |c| {
                c.access_key = Some("AKIA".into());
                c.secret_key = secret();
                c.session_token = secret();
            },
            Ok(()),
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut cfg = KmsSealConfig::new("us-east-1", "k");
        cfg.access_key = Some("AKIAEXAMPLE".into());
        cfg.secret_key = Some(SecretString::from("very-secret-key"));
        cfg.session_token = Some(SecretString::from("very-secret-token"));
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("AKIAEXAMPLE"), "{shown}");
    }
}
