//! Coffer control plane: the multi-tenant API that manages organisations, their members and
//! service principals, and the desired state of managed secrets clusters.
//!
//! Layering (each folder is a boundary, dependencies only point downwards):
//! - [`domain`]: validated newtypes and business rules, no I/O and no framework types;
//! - [`store`]: Postgres persistence, one repository per aggregate;
//! - [`service`]: use-cases and authorization, shared by the HTTP API and the future console;
//! - [`http`]: axum routers, extractors, the wire error model and the OpenAPI document;
//! - [`platform`]: platform operators (own accounts and tokens) and the orphan sweeper;
//! - [`msp_key`]: the key that signs operator-policy bundles for every cluster;
//! - [`snapshot_scheduler`]: the daily automatic snapshot of production-tier clusters;
//! - [`command_retention`]: the periodic pruning of settled and expired node commands;
//! - [`startup`], [`config`], [`telemetry`]: process wiring.
#![forbid(unsafe_code)]

pub mod command_retention;
pub mod config;
pub mod console;
pub mod domain;
pub mod http;
pub mod msp_key;
pub mod platform;
pub mod provisioning;
pub mod service;
pub mod snapshot_scheduler;
pub mod startup;
pub mod store;
pub mod telemetry;
