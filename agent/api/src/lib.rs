//! The wire types between Coffer's control plane and its nodes.
//!
//! Both sides compile this crate, so a field renamed on one side breaks the other's build instead
//! of a node at boot. It depends on serde and little else on purpose: the node agent must stay
//! small, and the control plane must not pull node code.
#![forbid(unsafe_code)]

pub mod bootstrap;
pub mod commands;
pub mod heartbeat;
pub mod msp;
pub mod register;
pub mod seal;

pub use bootstrap::{
    BootstrapDocument, BootstrapError, JoinToken, BOOTSTRAP_VERSION, MAX_USER_DATA_BYTES,
};
pub use register::{NodeCredential, RegisterNodeRequest, RegisterNodeResponse, REGISTER_PATH};
