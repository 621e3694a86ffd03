//! `coffer-agent`: the process systemd starts on every Coffer node.
//!
//! It turns a freshly booted instance into a working cluster member: it reads the bootstrap
//! document (EC2 user data), writes `coffer-server`'s configuration (KMS auto-unseal, local
//! storage, one listener), starts and supervises the server, provisions it once (init with
//! recovery shares kept only KMS-encrypted, audit device, the customer-admin / operator / agent
//! policies, root token revoked) and registers the node with the control plane using the
//! one-time join token. After that it serves the control-plane channel ([`channel`]):
//! heartbeats, and commands pulled by long poll (admin tokens, operator policy bundles,
//! snapshots), each applied at most once.
//!
//! The agent is a separate process from the server on purpose: it holds the AWS role and the
//! control-plane credential, restarts a crashed server, and is the only thing on the node that
//! ever sees the initial root token (for the few seconds before it revokes it).
#![forbid(unsafe_code)]

pub mod admin_tokens;
pub mod audit_ship;
pub mod bootstrap;
pub mod channel;
pub mod config;
pub mod files;
pub mod msp;
pub mod provision;
pub mod register;
pub mod run;
pub mod s3;
pub mod server;
pub mod snapshots;
pub mod tls;
pub mod vault;
pub mod vault_snapshots;

pub use config::{AgentConfig, BootstrapSource, StaticAwsCredentials};
pub use run::{run, run_until, Node, RunError};
