//! `coffer-server`: a secrets server that speaks HashiCorp Vault's HTTP API, so hvac, the
//! `vault` CLI and Terraform work unchanged.
//!
//! Layers, top to bottom: `http` (wire format, in one place) → `core` (seal state, mounts,
//! tokens, policies, request flow; no HTTP types) → `sys`, `auth`, `engines` (the API areas) →
//! `coffer-barrier` (encrypted durable storage). Embedders and tests use [`Server`]:
//! `Server::build(config).await`, `local_addr()`, `run(cancel).await`.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod core;
pub mod engines;
pub mod http;
pub mod kms;
pub mod server;
pub mod sys;
pub mod tls;
pub mod util;

pub use config::Config;
pub use server::{DevCredentials, Server, ServerError};
