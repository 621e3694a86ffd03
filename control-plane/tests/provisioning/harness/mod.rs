//! Test harness: a fresh database per test ([`db`]), one moto server ([`moto`]), raw SDK
//! clients and tag-based resource counts ([`aws`]), the control plane as a child process
//! ([`process`]), a typed API client that also registers nodes like the agent ([`api`]), and
//! a fault-injecting proxy in front of moto ([`proxy`]).

pub mod api;
pub mod aws;
pub mod db;
pub mod env;
pub use coffer_test_support::moto;
pub mod process;
pub mod proxy;

/// Polls a probe (`Err(last observation)` until done) with a deadline; see
/// `coffer_test_support::wait`.
pub use coffer_test_support::wait::until as poll;
