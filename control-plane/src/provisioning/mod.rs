//! The provisioning engine: turns each cluster's desired state into AWS resources.
//!
//! The API records intent (cluster spec + an operation with its step plan). The engine claims
//! operations with a lease (`FOR UPDATE SKIP LOCKED` + heartbeat; several replicas share one
//! database), runs their steps in order through [`coffer_cloud::Cloud`], records every AWS
//! resource in `cluster_resources` as soon as it exists, retries transient cloud errors with
//! exponential back-off and jitter, and fails the operation (cluster `failed`, resources still
//! tracked) with a customer-actionable message on permanent ones. Progress (step, attempt,
//! last error) is written to `operation_steps`, which the operations API shows.
//!
//! Layout: [`settings`] (the `[provisioning]` config section), [`retry`] (back-off policy),
//! [`db`] (the engine's SQL, lease-fenced), [`steps`] (one module per group of steps),
//! [`runner`] (one operation), [`engine`] (claim loop, bucket purger), [`fault`] (the
//! `COFFER_FAULT_EXIT_AFTER_STEP` crash hook for tests), [`cloud`] (building the AWS client).

pub mod cloud;
pub mod db;
pub mod engine;
pub mod error;
pub mod fault;
pub mod retry;
pub mod runner;
pub mod settings;
pub mod steps;

#[cfg(test)]
mod tests;

pub use engine::Engine;
pub use error::StepError;
pub use fault::{FaultAction, FaultHook};
pub use retry::RetryPolicy;
pub use settings::{AwsConnectSettings, ProvisioningSettings, RetrySettings};
