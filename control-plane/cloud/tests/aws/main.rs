//! Integration tests of `AwsCloud` against a real moto server through the real AWS SDK.
//! Each test uses its own cluster ids (and often its own region) instead of resetting moto, so
//! tests run in parallel against one server.

// Test helpers (not only #[test] fns) unwrap: a failed AWS call there is a failed test.
#![allow(clippy::unwrap_used)]

mod moto;
mod support;

mod iam;
mod instances;
mod kms;
mod s3;
mod sg;
mod sweep;
