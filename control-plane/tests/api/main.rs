//! Black-box tests of the control-plane HTTP API: each test starts the real application on a
//! fresh Postgres database (see `helpers`) and talks to it over HTTP, as a customer would.
#![forbid(unsafe_code)]

mod fixture;
mod helpers;
mod logs;
mod routes;

mod admin_tokens;
mod audit_logs;
mod auth;
mod binary;
mod bodies;
mod cluster_validation;
mod clusters;
mod concurrency;
mod console_clusters;
mod console_parity;
mod isolation;
mod lifecycle;
mod lists;
mod logout;
mod members;
mod node_channel;
mod openapi;
mod operations;
mod outage;
mod platform;
mod roles;
mod secrets;
mod service_principals;
mod session;
mod shapes;
mod snapshots;
mod tls;
