//! Why a command failed, split into what the customer may see and what only the log may see.
//!
//! A command result travels to the control plane and is shown to the customer, so it must be
//! free of secrets and internals (paths, Vault error bodies, AWS request ids). The handler knows
//! both, so it returns both: `public` goes into `CommandResult::Failed`, `detail` into the
//! agent's log (itself kept free of tokens and keys by the handlers that build it).

use std::fmt;

/// A failed command: `public` is sent to the control plane, `detail` is only logged.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandFailure {
    /// Customer-safe text: no secrets, no internal error text.
    pub public: String,
    /// Internal detail for the agent log (never tokens or key material).
    pub detail: String,
}

impl CommandFailure {
    /// A failure whose public text and log detail differ.
    pub fn new(public: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { public: public.into(), detail: detail.into() }
    }

    /// A failure with nothing to hide: the same text for customer and log.
    pub fn plain(public: impl Into<String>) -> Self {
        let public = public.into();
        Self { detail: public.clone(), public }
    }
}

impl fmt::Debug for CommandFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandFailure")
            .field("public", &self.public)
            .field("detail", &self.detail)
            .finish()
    }
}

impl fmt::Display for CommandFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.public, self.detail)
    }
}

impl std::error::Error for CommandFailure {}
