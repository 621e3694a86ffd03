//! Test harness: a fresh database per test ([`db`]), one moto server ([`moto`]), raw SDK
//! clients and tag-based resource counts ([`aws`]), the control plane as a child process
//! ([`process`]), a typed API client that also registers nodes like the agent ([`api`]), and
//! a fault-injecting proxy in front of moto ([`proxy`]).

pub mod api;
pub mod aws;
pub mod db;
pub mod env;
pub mod moto;
pub mod process;
pub mod proxy;

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Polls `probe` until it returns `Some`, or panics naming `what` and the last observation.
pub async fn poll<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) => {
                assert!(
                    Instant::now() < deadline,
                    "timed out after {within:?} waiting for {what}: {last}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
