//! Business vocabulary of the control plane, parsed and validated at the edge.
//!
//! Every type here is constructed only through a fallible parser, so code further in can rely
//! on a `ClusterName` being a valid DNS label or a `Role` being a known role without
//! re-checking. Nothing in this module knows about HTTP, SQL or async: that keeps the rules
//! testable as plain functions and reusable by the future console and provisioning engine.

mod cluster;
mod duration;
mod email;
mod names;
mod network;
mod operation;
mod page;
mod password;
mod role;
mod token_ttl;

pub use cluster::{ClusterName, ClusterState, Region, Size, Tier, Version};
pub use duration::WaitTimeout;
pub use email::Email;
pub use names::DisplayName;
pub use network::{Cidr, IpAllowList};
pub use operation::{OperationKind, OperationState, StepState, UpdatePlan};
pub use page::{PageSize, PageToken};
pub use password::Password;
pub use role::{Action, Role};
pub use token_ttl::AdminTokenTtl;

/// Input that does not satisfy a domain rule; the message tells the caller what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

impl ValidationError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}
