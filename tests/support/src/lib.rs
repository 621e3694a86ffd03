//! Real components for the workspace's integration tests, in one place instead of a copy per
//! test harness: a moto server ([`moto`]), free loopback ports ([`net`]), polling with a
//! deadline ([`wait`]) and, with the `pg` feature, an empty PostgreSQL database per test
//! ([`pg`]).
//!
//! A dev-dependency only. Every function here panics with a message naming what failed, as an
//! assertion would: a missing moto or database is a failed (or misconfigured) test run, and the
//! callers are tests that could do nothing else with an error.

#![forbid(unsafe_code)]

pub mod moto;
pub mod net;
#[cfg(feature = "pg")]
pub mod pg;
pub mod wait;
