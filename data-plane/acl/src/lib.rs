//! Vault-compatible ACL policies for Coffer's data plane.
//!
//! Pure logic, no I/O: parse policy text ([`Policy::parse`]), combine a token's policies into an
//! [`Acl`], and answer "may this token do `op` on `path`?" with Vault's exact matching and
//! precedence rules (exact > best non-exact by Vault's priority order, `deny` wins within a
//! pattern, `root` allows everything). The index is precompiled so a lookup never parses,
//! compiles a pattern or allocates; the server caches one `Acl` per policy set.
#![forbid(unsafe_code)]

mod acl;
mod capability;
mod default_policy;
mod policy;

pub use acl::{Acl, Decision, Denial, Operation};
pub use capability::{CapSet, Capability};
pub use default_policy::{is_reserved_name, DEFAULT_POLICY, DEFAULT_POLICY_HCL, ROOT_POLICY};
pub use policy::{ParamConstraints, ParseError, PathKind, PathRule, Permissions, Policy};
