//! Engine tests: the provisioning engine as it ships, i.e. the built `coffer-control-plane`
//! binary run as a child process against PostgreSQL and a moto server, checked from outside
//! (the public API for intent and node registration, the AWS SDK for what was built).
//!
//! Why a second test binary: these tests start processes, kill them and wait for AWS-shaped
//! work, so they are slower and need moto; the API suite (`tests/api`) stays fast without it.
//! Tests share one moto and isolate by cluster id (every AWS resource is tagged with it) and by
//! a fresh database each.

// Test helpers unwrap: a failed call there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod cases;
