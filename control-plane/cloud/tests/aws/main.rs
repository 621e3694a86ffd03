//! Integration tests of `AwsCloud` against a real moto server through the real AWS SDK.
//! Each test uses its own cluster ids (and often its own region) instead of resetting moto, so
//! tests run in parallel against one server.

mod moto;
mod support;

mod iam;
mod instances;
mod kms;
mod s3;
mod sg;
mod sweep;
