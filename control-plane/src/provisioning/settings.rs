//! The `[provisioning]` configuration section.
//!
//! Off by default: an instance without AWS access (tests of the API alone, a developer's
//! laptop) must not start launching machines. Everything time-related is in milliseconds so
//! tests can run the engine with short leases and back-offs.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::retry::RetryPolicy;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvisioningSettings {
    /// Run the engine in this process.
    pub enabled: bool,
    /// How often to look for claimable operations and re-check waiting steps.
    pub poll_interval_ms: u64,
    /// How long a claim lasts without a heartbeat. Heartbeats happen every third of it.
    pub lease_duration_ms: u64,
    /// Operations one replica drives at the same time.
    pub max_concurrent_operations: usize,
    pub retry: RetrySettings,
    /// Lifetime of the one-time token a node registers with.
    pub join_token_ttl_secs: u64,
    /// How long a deleted cluster's buckets are kept before they are purged. 0: at once.
    pub bucket_retention_days: u32,
    /// KMS pending-deletion window for a deleted cluster's key (7..=30).
    pub kms_deletion_window_days: i32,
    /// Base URL nodes use to reach this control plane; goes into every bootstrap document.
    pub control_plane_url: String,
    /// PEM bundle of the CA(s) nodes trust for `control_plane_url` besides their system roots
    /// (a private CA). Copied into every bootstrap document, hence small. Unset: system roots.
    pub control_plane_ca_file: Option<PathBuf>,
    /// The contents of `control_plane_ca_file`, read and checked once at start-up.
    #[serde(skip)]
    pub control_plane_ca_pem: Option<String>,
    pub aws: AwsConnectSettings,
    /// Give every cluster bucket a policy denying requests without TLS. Off only where the S3
    /// endpoint is plain HTTP (the local moto stack), or nothing could reach the buckets.
    pub tls_only_buckets: bool,
    /// Base64 Ed25519 key nodes verify operator-policy bundles with; goes into every bootstrap
    /// document. Not configuration: start-up derives it from the `[msp]` signing key.
    #[serde(skip)]
    pub msp_public_key: Option<String>,
}

impl Default for ProvisioningSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            poll_interval_ms: 1000,
            lease_duration_ms: 30_000,
            max_concurrent_operations: 16,
            retry: RetrySettings::default(),
            join_token_ttl_secs: 3600,
            bucket_retention_days: 30,
            kms_deletion_window_days: 30,
            control_plane_url: "http://127.0.0.1:8080".to_owned(),
            control_plane_ca_file: None,
            control_plane_ca_pem: None,
            aws: AwsConnectSettings::default(),
            tls_only_buckets: true,
            msp_public_key: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Back-off before the first retry; doubles per attempt up to `max_backoff_ms`.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Tries of one step (first try included) before a transient error fails the operation.
    pub max_attempts: u32,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self { initial_backoff_ms: 250, max_backoff_ms: 30_000, max_attempts: 10 }
    }
}

/// How to reach AWS. Defaults suit a real deployment (the SDK's credential chain).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AwsConnectSettings {
    /// Region for IAM and the SDK's own default; clusters use their own region.
    pub home_region: String,
    /// Overrides every service endpoint, e.g. a local moto server.
    pub endpoint_url: Option<String>,
    /// Static credentials for local stacks; unset: the SDK's default credential chain.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    pub session_token: Option<SecretString>,
    /// The principal the control plane runs as; it administers every cluster key.
    pub control_plane_principal_arn: String,
    /// Path-style S3 addressing (needed by moto).
    pub s3_force_path_style: bool,
}

impl Default for AwsConnectSettings {
    fn default() -> Self {
        Self {
            home_region: "us-east-1".to_owned(),
            endpoint_url: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            control_plane_principal_arn: String::new(),
            s3_force_path_style: false,
        }
    }
}

/// Largest CA bundle copied into user data: EC2 allows 16 KiB for the whole document.
pub const MAX_CONTROL_PLANE_CA_BYTES: usize = 8 * 1024;

/// `provisioning.control_plane_ca_file` cannot go into bootstrap documents.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    #[error("provisioning.control_plane_ca_file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("provisioning.control_plane_ca_file {path}: {problem}")]
    Invalid { path: String, problem: &'static str },
}

impl ProvisioningSettings {
    /// Reads `control_plane_ca_file`, if set, into `control_plane_ca_pem`, refusing a file
    /// that is too large for user data or holds no PEM certificate (nodes would then fail to
    /// reach the control plane long after start-up).
    pub fn load_control_plane_ca(&mut self) -> Result<(), CaFileError> {
        let Some(path) = &self.control_plane_ca_file else { return Ok(()) };
        let shown = path.display().to_string();
        let invalid = |problem| CaFileError::Invalid { path: shown.clone(), problem };
        let bytes = std::fs::read(path)
            .map_err(|source| CaFileError::Read { path: shown.clone(), source })?;
        if bytes.len() > MAX_CONTROL_PLANE_CA_BYTES {
            return Err(invalid("larger than 8 KiB; bootstrap documents must fit in user data"));
        }
        let pem = String::from_utf8(bytes).map_err(|_| invalid("not a PEM text file"))?;
        let certs = rustls_pemfile::certs(&mut pem.as_bytes()).collect::<Result<Vec<_>, _>>();
        if !certs.is_ok_and(|c| !c.is_empty()) {
            return Err(invalid("holds no PEM certificate"));
        }
        self.control_plane_ca_pem = Some(pem);
        Ok(())
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    pub fn lease_duration(&self) -> Duration {
        Duration::from_millis(self.lease_duration_ms)
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(self.retry.initial_backoff_ms),
            max: Duration::from_millis(self.retry.max_backoff_ms),
            max_attempts: self.retry.max_attempts,
        }
    }

    /// Range checks; `None` when valid, else what is wrong.
    pub fn problem(&self) -> Option<&'static str> {
        let checks = [
            (self.poll_interval_ms >= 10, "provisioning.poll_interval_ms must be at least 10"),
            (self.lease_duration_ms >= 300, "provisioning.lease_duration_ms must be at least 300"),
            (
                self.max_concurrent_operations >= 1,
                "provisioning.max_concurrent_operations must be at least 1",
            ),
            (self.retry.max_attempts >= 1, "provisioning.retry.max_attempts must be at least 1"),
            (
                self.retry.initial_backoff_ms <= self.retry.max_backoff_ms,
                "provisioning.retry.initial_backoff_ms must not exceed max_backoff_ms",
            ),
            (
                self.join_token_ttl_secs >= 60,
                "provisioning.join_token_ttl_secs must be at least 60",
            ),
            (
                (7..=30).contains(&self.kms_deletion_window_days),
                "provisioning.kms_deletion_window_days must be between 7 and 30",
            ),
            (
                self.control_plane_url.starts_with("http://")
                    || self.control_plane_url.starts_with("https://"),
                "provisioning.control_plane_url must be an http(s) URL",
            ),
            (
                !self.enabled || !self.aws.control_plane_principal_arn.is_empty(),
                "provisioning.aws.control_plane_principal_arn is required when enabled",
            ),
            (
                self.aws.access_key_id.is_some() == self.aws.secret_access_key.is_some(),
                "provisioning.aws.access_key_id and secret_access_key go together",
            ),
        ];
        checks.into_iter().find(|(ok, _)| !ok).map(|(_, msg)| msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let check = |change: fn(&mut ProvisioningSettings), ok: bool| {
            let mut s = ProvisioningSettings::default();
            change(&mut s);
            assert_eq!(s.problem().is_none(), ok, "{:?}", s.problem());
        };
        check(|_| {}, true);
        check(|s| s.enabled = true, false);
        check(
            |s| {
                s.enabled = true;
                s.aws.control_plane_principal_arn = "arn:aws:iam::1:role/cp".into();
            },
            true,
        );
        check(|s| s.lease_duration_ms = 10, false);
        check(|s| s.kms_deletion_window_days = 6, false);
        check(|s| s.kms_deletion_window_days = 31, false);
        check(|s| s.retry.max_attempts = 0, false);
        check(|s| s.retry.initial_backoff_ms = 60_000, false);
        check(|s| s.control_plane_url = "ftp://x".into(), false);
        check(|s| s.aws.access_key_id = Some("AKIA".into()), false);
    }

    #[test]
    fn control_plane_ca_file_is_checked_and_loaded() {
        let dir = std::env::temp_dir().join(format!("coffer-ca-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let load = |name: &str, contents: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, contents).unwrap();
            let mut s =
                ProvisioningSettings { control_plane_ca_file: Some(path), ..Default::default() };
            s.load_control_plane_ca().map(|()| s.control_plane_ca_pem)
        };
        let mut none = ProvisioningSettings::default();
        assert!(none.load_control_plane_ca().is_ok() && none.control_plane_ca_pem.is_none());
        // A syntactically valid PEM block is enough here; rustls checks the DER at the node.
        let pem = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        assert_eq!(load("ok.pem", pem.as_bytes()).unwrap().as_deref(), Some(pem));
        let e = load("empty.pem", b"not a certificate").unwrap_err().to_string();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        let big = pem.repeat(MAX_CONTROL_PLANE_CA_BYTES / pem.len() + 1);
        assert!(load("big.pem", big.as_bytes()).unwrap_err().to_string().contains("8 KiB"));
        let mut missing = ProvisioningSettings {
            control_plane_ca_file: Some(dir.join("absent.pem")),
            ..Default::default()
        };
        assert!(matches!(missing.load_control_plane_ca(), Err(CaFileError::Read { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
