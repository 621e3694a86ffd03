//! Integration tests of `AwsCloud` through the real AWS SDK: against a real moto server, and (for
//! the error mapping) against a server answering canned provider errors.
//! Each test uses its own cluster ids (and often its own region) instead of resetting moto, so
//! tests run in parallel against one server.

// Test helpers (not only #[test] fns) unwrap: a failed AWS call there is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

mod errors;
mod iam;
mod instances;
mod kms;
mod objects;
mod s3;
mod sg;
mod sweep;
