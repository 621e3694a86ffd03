//! The compiled access-control list for one token: its policies merged into a lookup index.
//!
//! The server builds an [`Acl`] when a token's policy set is first seen (and caches it), then
//! asks it per request: [`Acl::allowed`] for the capability decision and sudo status, and the
//! returned [`Decision`] for Vault's second-stage checks (wrapping TTL bounds and request
//! parameter constraints) that need the request body.

mod index;
mod params;

use serde_json::{Map, Value};

use crate::capability::{CapSet, Capability};
use crate::policy::{Permissions, Policy};
use index::Index;

/// The kind of request being authorised (Vault's logical operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Read,
    Update,
    Patch,
    Delete,
    List,
    /// `?help=1`; always allowed, as in Vault.
    Help,
    Renew,
    Revoke,
    Rollback,
}

impl Operation {
    /// The capability that grants this operation (`None` for help, which needs none).
    pub const fn capability(self) -> Option<Capability> {
        Some(match self {
            Operation::Create => Capability::Create,
            Operation::Read => Capability::Read,
            Operation::Update | Operation::Renew | Operation::Revoke | Operation::Rollback => {
                Capability::Update
            }
            Operation::Patch => Capability::Patch,
            Operation::Delete => Capability::Delete,
            Operation::List => Capability::List,
            Operation::Help => return None,
        })
    }

    /// Operations whose request body is subject to parameter constraints.
    const fn checks_parameters(self) -> bool {
        matches!(self, Operation::Read | Operation::Create | Operation::Update | Operation::Patch)
    }
}

/// Why a request was refused. Safe to show to the client (it names only their own inputs); the
/// server normally maps every variant to Vault's generic "permission denied".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("permission denied")]
    NoCapability,
    #[error("wrapping TTL is required and must be between the policy's bounds")]
    WrappingTtl,
    #[error("missing required parameter {0:?}")]
    MissingRequiredParameter(String),
    #[error("parameter {0:?} is denied")]
    ParameterDenied(String),
    #[error("parameter {0:?} is not allowed")]
    ParameterNotAllowed(String),
}

/// A token's merged policies, ready for lookups. `Send + Sync`; share it behind an `Arc`.
pub struct Acl {
    root: bool,
    index: Index,
}

impl Acl {
    /// Compiles policies. If any is the `root` policy the ACL allows everything.
    pub fn new<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> Acl {
        let mut root = false;
        let index = Index::build(policies.into_iter().inspect(|p| root |= p.is_root()));
        Acl { root, index }
    }

    /// An ACL equivalent to the `root` policy.
    pub fn root() -> Acl {
        Acl::new(&[Policy::root()])
    }

    pub fn is_root(&self) -> bool {
        self.root
    }

    /// The capabilities the token has on `path` (Vault's `sys/capabilities` lookup, which uses
    /// LIST semantics so `foo/` also finds a rule for `foo`). Root gets every capability.
    pub fn capabilities(&self, path: &str) -> CapSet {
        if self.root {
            return ALL_CAPS;
        }
        self.index.lookup(path, true).map_or(CapSet::EMPTY, |p| p.capabilities)
    }

    /// Capability names as `sys/capabilities*` returns them: `["root"]` for root, `["deny"]`
    /// when nothing is granted.
    pub fn capability_names(&self, path: &str) -> Vec<&'static str> {
        if self.root {
            return vec![crate::ROOT_POLICY];
        }
        self.capabilities(path).names()
    }

    /// The capability decision for `op` on `path`. Parameter and wrapping checks, which need
    /// the request, are on the returned [`Decision`].
    pub fn allowed(&self, path: &str, op: Operation) -> Decision<'_> {
        if self.root {
            return Decision { allowed: true, sudo_ok: true, is_root: true, op, perms: None };
        }
        if op == Operation::Help {
            return Decision { allowed: true, sudo_ok: false, is_root: false, op, perms: None };
        }
        let perms = self.index.lookup(path, op == Operation::List);
        let caps = perms.map_or(CapSet::EMPTY, |p| p.capabilities);
        let allowed = op.capability().is_some_and(|c| caps.contains(c));
        Decision { allowed, sudo_ok: caps.contains(Capability::Sudo), is_root: false, op, perms }
    }

    /// Shorthand: whether the capability for `op` is granted (no body-dependent checks).
    pub fn allows(&self, path: &str, op: Operation) -> bool {
        self.allowed(path, op).allowed
    }
}

const ALL_CAPS: CapSet = CapSet::from_bits_const(
    Capability::Create.bit()
        | Capability::Read.bit()
        | Capability::Update.bit()
        | Capability::Delete.bit()
        | Capability::List.bit()
        | Capability::Sudo.bit()
        | Capability::Patch.bit()
        | Capability::Subscribe.bit(),
);

/// The result of [`Acl::allowed`].
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// The matched rule grants the operation's capability.
    pub allowed: bool,
    /// The matched rule grants `sudo` (needed for root-protected paths), or the token is root.
    pub sudo_ok: bool,
    pub is_root: bool,
    op: Operation,
    perms: Option<&'a Permissions>,
}

impl Decision<'_> {
    /// The matched rule, if any (none for root, help, or no match).
    pub fn permissions(&self) -> Option<&Permissions> {
        self.perms
    }

    /// Vault's wrapping-TTL bounds: if the rule sets a min or max, the request must ask for
    /// response wrapping (`requested_ttl_secs`) within them.
    pub fn check_wrapping_ttl(&self, requested_ttl_secs: Option<u64>) -> Result<(), Denial> {
        let Some(p) = self.perms else { return Ok(()) };
        if p.max_wrapping_ttl > 0 && requested_ttl_secs.is_none_or(|t| t > p.max_wrapping_ttl) {
            return Err(Denial::WrappingTtl);
        }
        if p.min_wrapping_ttl > 0 && requested_ttl_secs.is_none_or(|t| t < p.min_wrapping_ttl) {
            return Err(Denial::WrappingTtl);
        }
        if p.min_wrapping_ttl != 0
            && p.max_wrapping_ttl != 0
            && p.max_wrapping_ttl < p.min_wrapping_ttl
        {
            return Err(Denial::WrappingTtl);
        }
        Ok(())
    }

    /// Vault's parameter constraints against the request body (only for read, create, update
    /// and patch; other operations pass).
    pub fn check_parameters(&self, data: &Map<String, Value>) -> Result<(), Denial> {
        match self.perms {
            Some(p) if self.op.checks_parameters() => params::check(p, data),
            _ => Ok(()),
        }
    }

    /// Every check Vault's `AllowOperation` makes, in its order: capability, wrapping TTL,
    /// parameters.
    pub fn authorize(
        &self,
        data: &Map<String, Value>,
        wrap_ttl_secs: Option<u64>,
    ) -> Result<(), Denial> {
        if !self.allowed {
            return Err(Denial::NoCapability);
        }
        if self.is_root {
            return Ok(());
        }
        self.check_wrapping_ttl(wrap_ttl_secs)?;
        self.check_parameters(data)
    }
}
