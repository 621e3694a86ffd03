//! Running `coffer-server` on the node: its configuration file and its supervision.
//!
//! The agent owns the server's lifecycle so a crash is repaired locally within seconds (the
//! server auto-unseals through KMS on start) instead of waiting for the control plane to notice.

pub mod hcl;
pub mod supervisor;

pub use hcl::{render, ServerLayout};
pub use supervisor::{prepare_dirs, wait_ready, ServerCommand, Supervisor};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot start {bin}: {source}")]
    Spawn { bin: String, source: std::io::Error },
    #[error("cannot prepare the server's files: {0}")]
    Files(#[from] crate::files::FileError),
    #[error("cannot open the server log {path}: {source}")]
    Log { path: String, source: std::io::Error },
    #[error("configuration value for {0} contains a control character")]
    BadValue(&'static str),
    #[error("the server did not become ready within {0:?}")]
    NotReady(std::time::Duration),
}
