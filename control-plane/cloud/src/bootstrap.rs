//! The bootstrap document: what a node learns at first boot, delivered as EC2 user data.
//!
//! The types live in `coffer-node-api` (shared with the node agent, which parses what this
//! crate writes); this module re-exports them and maps their errors into [`CloudError`].

pub use coffer_node_api::bootstrap::{
    BootstrapDocument, BootstrapError, JoinToken, BOOTSTRAP_VERSION, MAX_USER_DATA_BYTES,
};

use crate::error::CloudError;

impl From<BootstrapError> for CloudError {
    fn from(e: BootstrapError) -> Self {
        // Both cases are input we refuse before calling EC2: permanent, never retried.
        CloudError::invalid("bootstrap", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_documents_are_permanent_cloud_errors() {
        let e: CloudError = BootstrapError::TooLarge(MAX_USER_DATA_BYTES + 1).into();
        assert!(!e.retryable());
        assert!(e.to_string().contains("user data limit"), "{e}");
    }
}
