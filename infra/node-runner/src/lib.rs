//! `coffer-node-runner`: the local node runtime. It plays the part of EC2's hypervisor for local
//! development and tests: for every running instance the provisioning engine launched in moto it
//! starts a real `coffer-agent` (which starts `coffer-server`) on a loopback address of its own,
//! restarts it when it dies (like a reboot), and stops it when the instance stops or terminates.
//!
//! Why: moto creates instances on paper only. Without this, a cluster created through the API
//! never gets a node, never registers, never reaches `running`; with it, `./dev up` and the
//! end-to-end tests exercise the whole path (engine, bootstrap, agent, server, pull channel)
//! with the same binaries production runs.
//!
//! Layout: [`args`] (command line), [`ec2`] (what moto reports), [`address`] (a loopback address
//! per node), [`process`] (agent process groups), [`state`] (`nodes.json`), [`supervisor`] (the
//! reconcile loop).
#![forbid(unsafe_code)]

pub mod address;
pub mod args;
pub mod ec2;
pub mod process;
pub mod state;
pub mod supervisor;

pub use args::{parse_args, RunnerConfig, UsageError};
pub use supervisor::{run, RunnerError};
