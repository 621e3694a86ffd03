//! Server configuration: the typed form of Vault's HCL config file (see `hcl.rs` for parsing)
//! plus the dev-mode variant built from CLI flags. Kept separate from parsing so tests and
//! embedders can construct a [`Config`] directly.

mod hcl;
mod load;

use std::path::PathBuf;

pub use self::hcl::parse as parse_hcl;
use self::hcl::parse;
pub use self::load::{json_to_hcl, load};

/// Vault's default listen address.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8200";
/// Vault's default max_request_size (32 MiB).
pub const DEFAULT_MAX_REQUEST_SIZE: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    pub storage: StorageConfig,
    pub listeners: Vec<ListenerConfig>,
    pub seal: Option<SealConfig>,
    pub api_addr: Option<String>,
    pub cluster_name: Option<String>,
    /// Default and maximum lease TTL in seconds (Vault: 768h for both).
    pub default_lease_ttl: u64,
    pub max_lease_ttl: u64,
    pub dev: Option<DevConfig>,
}

#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The declared type (`redb`, `file`, `raft`); all are served by the redb store.
    pub kind: String,
    /// `None` keeps everything in memory (dev mode only).
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ListenerConfig {
    pub address: String,
    pub tls: Option<TlsFiles>,
    pub max_request_size: usize,
    /// Vault's `http_read_header_timeout` (default 10s): slow-loris guard.
    pub read_header_timeout: std::time::Duration,
    /// `telemetry { unauthenticated_metrics_access = true }`: sys/metrics without a token.
    pub unauthenticated_metrics_access: bool,
}

/// Vault's default `http_read_header_timeout`.
pub const DEFAULT_READ_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// Auto-unseal configuration: the `seal "awskms"` stanza's attributes as given (coffer-kms-seal
/// fills gaps from the environment like Vault). Debug hides credential values.
#[derive(Clone)]
pub enum SealConfig {
    AwsKms { stanza: std::collections::BTreeMap<String, String> },
}

impl std::fmt::Debug for SealConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealConfig::AwsKms { stanza } => {
                let shown: Vec<(&str, &str)> = stanza
                    .iter()
                    .map(|(k, v)| {
                        let secret =
                            matches!(k.as_str(), "secret_key" | "session_token" | "access_key");
                        (k.as_str(), if secret { "<redacted>" } else { v.as_str() })
                    })
                    .collect();
                f.debug_struct("AwsKms").field("stanza", &shown).finish()
            }
        }
    }
}

/// Dev mode: in-memory storage, auto-initialised and unsealed.
#[derive(Clone, Default)]
pub struct DevConfig {
    pub root_token_id: Option<String>,
}

impl std::fmt::Debug for DevConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevConfig").field("root_token_id", &"<redacted>").finish()
    }
}

impl Config {
    /// Dev-mode config listening on `address` (use `127.0.0.1:0` in tests).
    pub fn dev(address: &str, root_token_id: Option<String>) -> Config {
        Config {
            storage: StorageConfig { kind: "inmem".into(), path: None },
            listeners: vec![ListenerConfig {
                address: address.to_owned(),
                tls: None,
                max_request_size: DEFAULT_MAX_REQUEST_SIZE,
                read_header_timeout: DEFAULT_READ_HEADER_TIMEOUT,
                unauthenticated_metrics_access: false,
            }],
            seal: None,
            api_addr: None,
            cluster_name: None,
            default_lease_ttl: 768 * 3600,
            max_lease_ttl: 768 * 3600,
            dev: Some(DevConfig { root_token_id }),
        }
    }

    /// A non-dev config with plain HTTP on `address` and redb storage at `path`.
    pub fn with_storage(address: &str, path: PathBuf) -> Config {
        let mut c = Config::dev(address, None);
        c.storage = StorageConfig { kind: "redb".into(), path: Some(path) };
        c.dev = None;
        c
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config syntax error: {0}")]
    Syntax(String),
    #[error("config error: {0}")]
    Invalid(String),
}
