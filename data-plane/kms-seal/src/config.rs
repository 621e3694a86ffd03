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

    /// Builds the configuration from a Vault `seal "awskms"` stanza: `stanza` looks up its
    /// string fields (`region`, `kms_key_id`, `endpoint`, `access_key`, `secret_key`,
    /// `session_token`), `env` looks up environment variables. Stanza values win; gaps are filled
    /// as Vault documents: `kms_key_id` from `VAULT_AWSKMS_SEAL_KEY_ID`, `region` from
    /// `AWS_REGION` then `AWS_DEFAULT_REGION` then `us-east-1`, `endpoint` from
    /// `AWS_KMS_ENDPOINT`. Empty strings count as unset. Credentials missing from the stanza are
    /// left to the SDK's default chain (which reads `AWS_ACCESS_KEY_ID` and friends itself).
    pub fn from_vault_stanza(
        stanza: impl Fn(&str) -> Option<String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<KmsSealConfig, KmsSealError> {
        let set = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let field = |name: &str| set(stanza(name));
        let var = |name: &str| set(env(name));
        let kms_key_id = field("kms_key_id")
            .or_else(|| var("VAULT_AWSKMS_SEAL_KEY_ID"))
            .ok_or(KmsSealError::Config("kms_key_id is required"))?;
        let region = field("region")
            .or_else(|| var("AWS_REGION"))
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".to_owned());
        let cfg = KmsSealConfig {
            region,
            kms_key_id,
            endpoint: field("endpoint").or_else(|| var("AWS_KMS_ENDPOINT")),
            access_key: field("access_key"),
            secret_key: field("secret_key").map(SecretString::from),
            session_token: field("session_token").map(SecretString::from),
        };
        cfg.validate()?;
        Ok(cfg)
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

    /// Looks names up in a fixed list, like a parsed stanza or an environment.
    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn from_vault_stanza_precedence() {
        type Expect<'a> = Result<(&'a str, &'a str, Option<&'a str>), &'a str>;
        let check = |stanza: &[(&str, &str)], env: &[(&str, &str)], expect: Expect<'_>| {
            let got = KmsSealConfig::from_vault_stanza(lookup(stanza), lookup(env));
            let got = match got {
                Ok(ref c) => Ok((c.region.as_str(), c.kms_key_id.as_str(), c.endpoint.as_deref())),
                Err(KmsSealError::Config(m)) => Err(m),
                Err(ref other) => panic!("unexpected {other:?}"),
            };
            assert_eq!(got, expect, "stanza {stanza:?} env {env:?}");
        };
        check(&[("kms_key_id", "k1")], &[], Ok(("us-east-1", "k1", None)));
        check(&[], &[("VAULT_AWSKMS_SEAL_KEY_ID", "k-env")], Ok(("us-east-1", "k-env", None)));
        check(
            &[("kms_key_id", "k1")],
            &[("VAULT_AWSKMS_SEAL_KEY_ID", "k-env")],
            Ok(("us-east-1", "k1", None)),
        );
        check(&[("kms_key_id", "")], &[], Err("kms_key_id is required"));
        check(&[], &[], Err("kms_key_id is required"));
        check(
            &[("kms_key_id", "k"), ("region", "eu-west-1")],
            &[("AWS_REGION", "us-west-2")],
            Ok(("eu-west-1", "k", None)),
        );
        check(
            &[("kms_key_id", "k")],
            &[("AWS_REGION", "us-west-2"), ("AWS_DEFAULT_REGION", "ap-south-1")],
            Ok(("us-west-2", "k", None)),
        );
        check(
            &[("kms_key_id", "k")],
            &[("AWS_DEFAULT_REGION", "ap-south-1")],
            Ok(("ap-south-1", "k", None)),
        );
        check(
            &[("kms_key_id", "k")],
            &[("AWS_KMS_ENDPOINT", "http://127.0.0.1:1")],
            Ok(("us-east-1", "k", Some("http://127.0.0.1:1"))),
        );
        check(
            &[("kms_key_id", "k"), ("endpoint", "https://vpce.example")],
            &[("AWS_KMS_ENDPOINT", "http://127.0.0.1:1")],
            Ok(("us-east-1", "k", Some("https://vpce.example"))),
        );
        check(
            &[("kms_key_id", "k"), ("endpoint", "vpce.example")],
            &[],
            Err("endpoint must start with http:// or https://"),
        );
        check(
            &[("kms_key_id", "k"), ("access_key", "AKIA")],
            &[],
            Err("access_key is set without secret_key"),
        );
        let full = KmsSealConfig::from_vault_stanza(
            lookup(&[
                ("kms_key_id", "k"),
                ("access_key", "AKIA"),
                ("secret_key", "s"),
                ("session_token", "t"),
            ]),
            lookup(&[]),
        )
        .unwrap();
        assert_eq!(full.access_key.as_deref(), Some("AKIA"));
        assert_eq!(full.secret_key.as_ref().map(|s| s.expose_secret()), Some("s"));
        assert_eq!(full.session_token.as_ref().map(|s| s.expose_secret()), Some("t"));
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
