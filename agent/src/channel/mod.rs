//! The agent's channel to the control plane after registration: the command long-poll loop,
//! the heartbeat loop, the journal that makes command application at-most-once, and the
//! dispatcher that routes each command to its handler.

pub mod failure;

pub use failure::CommandFailure;
