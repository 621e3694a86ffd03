//! Typed configuration tree.
//!
//! Sources, later ones win: built-in defaults, an optional TOML file, then environment variables
//! prefixed `COFFER_` with `__` separating nesting levels (`COFFER_DATABASE__URL`). Secrets are
//! held in [`SecretString`] so they never show up in `Debug` output or logs.
//!
//! A complete file (only `database.url` is required; the rest shows the defaults):
//!
//! ```toml
//! [http]
//! listen_addr = "127.0.0.1:8080"
//! body_limit_bytes = 65536
//! secure_cookies = false          # set true when clients reach the API over TLS
//! allowed_origins = []            # e.g. ["https://console.coffer.example"]
//! # Serve HTTPS directly (rustls). Unset: plain HTTP, for TLS terminated in front.
//! # tls = { cert_file = "/etc/coffer/tls/chain.pem", key_file = "/etc/coffer/tls/key.pem" }
//!
//! [database]
//! url = "postgres://coffer@localhost/coffer"
//! max_connections = 10
//! connect_timeout_secs = 5
//!
//! [auth]
//! access_token_ttl_secs = 3600
//! service_token_ttl_secs = 3600
//! password_hash = { memory_kib = 19456, iterations = 2, parallelism = 1 }
//!
//! [telemetry]
//! log_format = "text"             # or "json"
//! log_filter = "info,sqlx::postgres::notice=warn"
//! # otlp_endpoint = "http://localhost:4318"   # needs the `otlp` cargo feature
//!
//! [provisioning]                  # the engine that turns cluster specs into AWS resources
//! enabled = false
//! poll_interval_ms = 1000
//! lease_duration_ms = 30000
//! max_concurrent_operations = 16
//! join_token_ttl_secs = 3600
//! bucket_retention_days = 30
//! kms_deletion_window_days = 30
//! control_plane_url = "http://127.0.0.1:8080"   # how nodes reach this API
//! tls_only_buckets = true                       # false only where S3 is plain HTTP (moto)
//! retry = { initial_backoff_ms = 250, max_backoff_ms = 30000, max_attempts = 10 }
//!
//! [provisioning.aws]
//! home_region = "us-east-1"
//! control_plane_principal_arn = ""              # required when enabled
//! s3_force_path_style = false
//! # endpoint_url = "http://127.0.0.1:5000"      # e.g. moto
//! # access_key_id = "test"                      # static credentials; unset: default chain
//! # secret_access_key = "test"
//!
//! [platform]                      # operator accounts and the orphan sweeper
//! operator_token_ttl_secs = 3600
//! sweeper = { enabled = false, interval_secs = 900, regions = [] }   # [] = every region
//!
//! [nodes]                         # the node channel (commands, heartbeats)
//! heartbeat_interval_secs = 10
//! command_timeout_ms = 20000      # how long e.g. an admin-token request waits for the node
//! # settled/expired commands older than max_age_secs are deleted, batch_size rows at a time
//! retention = { enabled = true, max_age_secs = 604800, interval_secs = 3600, batch_size = 1000 }
//!
//! [msp]                           # the key that signs operator-policy bundles
//! signing_key_file = "/etc/coffer/msp.key"   # required; 32 raw bytes or base64
//! generate_if_missing = false     # true (development only): create the file on first start
//!
//! [snapshots]                     # taken, restored and deleted by the cluster's node
//! take_timeout_secs = 1800        # a snapshot not stored by then fails ("node did not answer")
//! restore_timeout_secs = 3600
//! delete_timeout_secs = 3600
//! schedule = { enabled = false, interval_secs = 900, max_age_secs = 86400 }   # production tiers
//!
//! [audit_logs]                    # read from each cluster's audit bucket
//! enabled = false                 # read S3 with [provisioning.aws] even when provisioning is off
//! max_range_secs = 604800         # longest from..to of one request
//! max_objects = 1000
//! max_download_bytes = 67108864
//! object_span_secs = 86400        # longest first-to-last line span of one shipped object
//! ```

use std::net::SocketAddr;
use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::Deserialize;

pub use crate::msp_key::MspSettings;
pub use crate::platform::PlatformSettings;
pub use crate::provisioning::ProvisioningSettings;
pub use crate::service::{AuditLogSettings, NodeSettings, SnapshotSettings};

/// Configuration could not be read or did not match the expected shape.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(Box<figment::Error>),
    #[error("invalid configuration: {0}")]
    OutOfRange(&'static str),
}

/// Root of the configuration tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    #[serde(default)]
    pub auth: AuthSettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub provisioning: ProvisioningSettings,
    #[serde(default)]
    pub platform: PlatformSettings,
    #[serde(default)]
    pub nodes: NodeSettings,
    #[serde(default)]
    pub msp: MspSettings,
    #[serde(default)]
    pub snapshots: SnapshotSettings,
    #[serde(default)]
    pub audit_logs: AuditLogSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Address to bind; port 0 picks a free port (tests rely on this).
    pub listen_addr: SocketAddr,
    /// Largest accepted request body. Every JSON body in the API is small.
    pub body_limit_bytes: usize,
    /// Mark the session cookie `Secure`. Enable whenever the API is reached over TLS (when
    /// TLS terminates in front of this process, it cannot detect that itself).
    pub secure_cookies: bool,
    /// Origins allowed to make cookie-authenticated changes (the web console), such as
    /// `https://console.coffer.example`. Empty: the `Origin` must match the request's `Host`,
    /// which is right unless a proxy rewrites `Host`.
    pub allowed_origins: Vec<String>,
    /// Serve HTTPS on `listen_addr` (env `COFFER_HTTP__TLS__CERT_FILE`, `..._KEY_FILE`).
    /// Unset: plain HTTP, for a proxy or load balancer that terminates TLS in front.
    pub tls: Option<TlsSettings>,
}

/// PEM files for the API listener, read once at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The server certificate followed by any intermediates.
    pub cert_file: std::path::PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: std::path::PathBuf,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 64 * 1024,
            secure_cookies: false,
            allowed_origins: Vec::new(),
            tls: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Postgres URL; it may embed a password, hence secret.
    pub url: SecretString,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
}

fn default_max_connections() -> u32 {
    10
}

fn default_connect_timeout_secs() -> u64 {
    5
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Lifetime of user access tokens and console sessions.
    pub access_token_ttl_secs: u64,
    /// Lifetime of service-principal tokens from `/oauth/token`.
    pub service_token_ttl_secs: u64,
    pub password_hash: PasswordHashSettings,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            service_token_ttl_secs: 3600,
            password_hash: PasswordHashSettings::default(),
        }
    }
}

/// Argon2id cost for new password hashes. Verification reads the cost stored in each hash,
/// so changing these only affects hashes written afterwards.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordHashSettings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordHashSettings {
    /// OWASP's recommended argon2id baseline (19 MiB, 2 passes, 1 lane).
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
    /// `tracing-subscriber` filter directive; `RUST_LOG` overrides it when set.
    pub log_filter: String,
    /// OTLP/HTTP collector base URL (e.g. `http://localhost:4318`). Unset: no trace export.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        // sqlx reports harmless server NOTICEs (e.g. "relation already exists") at info.
        Self {
            log_format: LogFormat::Text,
            log_filter: "info,sqlx::postgres::notice=warn".to_owned(),
            otlp_endpoint: None,
        }
    }
}

/// Only `COFFER_<SECTION>__...` variables configure this service. Other `COFFER_*` variables
/// (e.g. `COFFER_TEST_DATABASE_URL` used by test tooling) belong to other tools; without this
/// filter they would be rejected as unknown fields. Typos inside a section are still rejected.
fn is_section_key(key: &figment::value::UncasedStr) -> bool {
    let section = key.as_str().split('.').next().unwrap_or_default();
    [
        "http",
        "database",
        "auth",
        "telemetry",
        "provisioning",
        "platform",
        "nodes",
        "msp",
        "snapshots",
        "audit_logs",
    ]
    .iter()
    .any(|s| s.eq_ignore_ascii_case(section))
}

impl Settings {
    /// Typed config tree: optional TOML file, then env vars `COFFER_` with `__` as the
    /// nesting separator (e.g. `COFFER_DATABASE__URL`, `COFFER_HTTP__LISTEN_ADDR`).
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        let settings: Settings = figment
            .merge(Env::prefixed("COFFER_").split("__").filter(is_section_key))
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Range checks serde cannot express; a value of zero here would silently break the
    /// service (every token instantly expired, every body rejected, no connections).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let checks = [
            (self.http.body_limit_bytes >= 1024, "http.body_limit_bytes must be at least 1024"),
            (self.database.max_connections >= 1, "database.max_connections must be at least 1"),
            (
                self.database.connect_timeout_secs >= 1,
                "database.connect_timeout_secs must be at least 1",
            ),
            (
                self.auth.access_token_ttl_secs >= 60,
                "auth.access_token_ttl_secs must be at least 60",
            ),
            (
                self.auth.service_token_ttl_secs >= 60,
                "auth.service_token_ttl_secs must be at least 60",
            ),
        ];
        if let Some(msg) = self.provisioning.problem() {
            return Err(ConfigError::OutOfRange(msg));
        }
        if let Some(msg) = self.platform.problem() {
            return Err(ConfigError::OutOfRange(msg));
        }
        if let Some(msg) = self.nodes.problem() {
            return Err(ConfigError::OutOfRange(msg));
        }
        if let Some(msg) = self.snapshots.problem().or_else(|| self.audit_logs.problem()) {
            return Err(ConfigError::OutOfRange(msg));
        }
        match checks.into_iter().find(|(ok, _)| !ok) {
            Some((_, msg)) => Err(ConfigError::OutOfRange(msg)),
            None => Ok(()),
        }
    }

    /// Defaults for a local/test instance: listen on 127.0.0.1:0, the given database.
    ///
    /// Password hashing uses a deliberately cheap argon2id cost so test suites that sign up
    /// many users stay fast; never use these settings for a deployment.
    pub fn local(database_url: SecretString) -> Settings {
        Settings {
            http: HttpSettings {
                listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                ..HttpSettings::default()
            },
            database: DatabaseSettings {
                url: database_url,
                max_connections: default_max_connections(),
                connect_timeout_secs: default_connect_timeout_secs(),
            },
            auth: AuthSettings {
                password_hash: PasswordHashSettings {
                    memory_kib: 1024,
                    iterations: 1,
                    parallelism: 1,
                },
                ..AuthSettings::default()
            },
            telemetry: TelemetrySettings::default(),
            // Off: API tests expect operations to stay pending. Engine tests turn it on.
            provisioning: ProvisioningSettings::default(),
            // Sweeper off: it needs AWS. Its own tests turn it on against moto.
            platform: PlatformSettings::default(),
            nodes: NodeSettings::default(),
            // An ephemeral key unless a test or developer names a file.
            msp: MspSettings { signing_key_file: None, generate_if_missing: true },
            // Scheduler off: API tests drive schedule passes themselves.
            snapshots: SnapshotSettings::default(),
            audit_logs: AuditLogSettings::default(),
        }
    }
}

#[cfg(test)]
// figment::Jail's closure signature returns figment's (large) error type; not ours to shrink.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn file_then_env_override() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "[database]\nurl = \"postgres://file\"\n[http]\nlisten_addr = \"127.0.0.1:9000\"\n",
            )?;
            jail.set_env("COFFER_DATABASE__URL", "postgres://env");
            jail.set_env("COFFER_SOME_OTHER_TOOL", "ignored");
            let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.database.url.expose_secret(), "postgres://env");
            assert_eq!(s.http.listen_addr.port(), 9000);
            assert_eq!(s.auth.access_token_ttl_secs, 3600);
            Ok(())
        });
    }

    #[test]
    fn listener_tls_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COFFER_DATABASE__URL", "postgres://env");
            assert!(Settings::load(None).map_err(|e| e.to_string())?.http.tls.is_none());
            jail.set_env("COFFER_HTTP__TLS__CERT_FILE", "/etc/coffer/chain.pem");
            jail.set_env("COFFER_HTTP__TLS__KEY_FILE", "/etc/coffer/key.pem");
            let tls = Settings::load(None).map_err(|e| e.to_string())?.http.tls;
            let tls = tls.ok_or("http.tls was not set")?;
            assert_eq!(tls.cert_file, Path::new("/etc/coffer/chain.pem"));
            assert_eq!(tls.key_file, Path::new("/etc/coffer/key.pem"));
            Ok(())
        });
    }

    #[test]
    fn unknown_key_inside_a_section_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("COFFER_DATABASE__URL", "postgres://env");
            jail.set_env("COFFER_DATABASE__URLL", "postgres://typo");
            assert!(Settings::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn documented_example_parses() {
        let doc = include_str!("config.rs");
        let example: String = doc
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start_matches(' ')))
            .collect();
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("example.toml", &example)?;
            let s = Settings::load(Some(Path::new("example.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.auth.password_hash.memory_kib, 19456);
            assert_eq!(s.http.listen_addr.port(), 8080);
            Ok(())
        });
    }

    #[test]
    fn out_of_range_values_are_errors() {
        let check = |change: fn(&mut Settings), ok: bool| {
            let mut s = Settings::local(SecretString::from("postgres://x"));
            change(&mut s);
            assert_eq!(s.validate().is_ok(), ok);
        };
        check(|_| {}, true);
        check(|s| s.http.body_limit_bytes = 0, false);
        check(|s| s.database.max_connections = 0, false);
        check(|s| s.auth.access_token_ttl_secs = 0, false);
        check(|s| s.auth.service_token_ttl_secs = 59, false);
        check(|s| s.auth.service_token_ttl_secs = 60, true);
    }

    #[test]
    fn missing_database_url_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            assert!(Settings::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn debug_output_hides_the_database_url() {
        let s = Settings::local(SecretString::from("postgres://user:hunter2@db/x"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
