//! `/v1/platform/*`: operator accounts (created by the admin command), operator login, the
//! separation of operator and customer credentials in both directions, and the orphan sweeper
//! against a real moto server.

mod admin;
mod login;
pub(crate) use coffer_test_support::moto;
mod support;
mod sweeper;
