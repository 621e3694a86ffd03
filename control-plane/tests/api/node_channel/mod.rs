//! The node channel as nodes and customers see it: the long poll hands each command out once,
//! results are scoped to the node and written once, heartbeats drive node health and the
//! cluster address, MSP bundles are signed, versioned and queued to every cluster, and old
//! settled commands are pruned.

mod commands;
mod heartbeat;
mod msp;
mod retention;
pub mod support;
