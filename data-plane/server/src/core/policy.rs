//! The policy store: ACL policies persisted as HCL text under `sys/policy/`, compiled with
//! coffer-acl, and a cache of compiled ACLs per policy set (tokens share few distinct sets, so
//! a request normally costs one hash lookup, not a parse).

use super::error::{CoreError, CoreResult};
use super::request::Operation;
use super::storage::View;
use coffer_acl::{Acl, Policy, DEFAULT_POLICY, DEFAULT_POLICY_HCL, ROOT_POLICY};
use coffer_barrier::Barrier;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

const PREFIX: &str = "sys/policy/";

#[derive(Serialize, Deserialize)]
struct Stored {
    name: String,
    policy: String,
}

/// A compiled ACL for one token's policy set.
pub struct AclHandle {
    acl: Acl,
}

fn map_op(op: Operation) -> coffer_acl::Operation {
    match op {
        Operation::Read => coffer_acl::Operation::Read,
        Operation::Create => coffer_acl::Operation::Create,
        Operation::Update => coffer_acl::Operation::Update,
        Operation::Patch => coffer_acl::Operation::Patch,
        Operation::Delete => coffer_acl::Operation::Delete,
        Operation::List => coffer_acl::Operation::List,
    }
}

impl AclHandle {
    pub fn root() -> Self {
        AclHandle { acl: Acl::root() }
    }
    pub fn is_root(&self) -> bool {
        self.acl.is_root()
    }
    pub fn allows(&self, path: &str, op: Operation) -> bool {
        self.acl.allows(path, map_op(op))
    }
    /// The full Vault check: capability, wrapping-TTL bounds and parameter constraints.
    pub fn authorize(
        &self,
        path: &str,
        op: Operation,
        data: &serde_json::Map<String, serde_json::Value>,
        wrap_ttl: Option<u64>,
    ) -> bool {
        self.acl.allowed(path, map_op(op)).authorize(data, wrap_ttl).is_ok()
    }

    pub fn has_sudo(&self, path: &str) -> bool {
        self.acl.is_root() || self.acl.capabilities(path).contains(coffer_acl::Capability::Sudo)
    }
    pub fn capability_names(&self, path: &str) -> Vec<&'static str> {
        self.acl.capability_names(path)
    }
}

#[derive(Default)]
pub struct PolicyStore {
    acls: RwLock<HashMap<Vec<String>, Arc<AclHandle>>>,
}

impl PolicyStore {
    fn view(barrier: &Barrier) -> View<'_> {
        View::new(barrier, PREFIX)
    }

    pub fn clear(&self) {
        if let Ok(mut g) = self.acls.write() {
            g.clear();
        }
    }

    /// The compiled ACL for a set of policy names (cached).
    pub fn acl(&self, barrier: &Barrier, names: &[String]) -> CoreResult<Arc<AclHandle>> {
        if let Some(a) = self.acls.read().ok().and_then(|g| g.get(names).cloned()) {
            return Ok(a);
        }
        let mut policies = Vec::with_capacity(names.len());
        for n in names {
            if n == ROOT_POLICY {
                policies.push(Policy::root());
            } else if let Some(text) = self.get(barrier, n)? {
                match Policy::parse(n, &text) {
                    Ok(p) => policies.push(p),
                    Err(e) => {
                        tracing::warn!(policy = %n, error = %e, "stored policy does not parse; ignored")
                    }
                }
            }
        }
        let handle = Arc::new(AclHandle { acl: Acl::new(policies.iter()) });
        if let Ok(mut g) = self.acls.write() {
            g.insert(names.to_vec(), Arc::clone(&handle));
        }
        Ok(handle)
    }

    /// Policy text by name; the built-in default policy unless it was overwritten.
    pub fn get(&self, barrier: &Barrier, name: &str) -> CoreResult<Option<String>> {
        let stored: Option<Stored> = Self::view(barrier).get_json(name)?;
        Ok(match stored {
            Some(s) => Some(s.policy),
            None if name == DEFAULT_POLICY => Some(DEFAULT_POLICY_HCL.to_owned()),
            None => None,
        })
    }

    pub fn put(&self, barrier: &Barrier, name: &str, text: &str) -> CoreResult<()> {
        let name = validate_name(name)?;
        if name == ROOT_POLICY {
            return Err(CoreError::bad("cannot update \"root\" policy"));
        }
        // Wrapping tokens carry this name; a stored policy must never grant them anything.
        if name == crate::core::wrapping::WRAPPING_POLICY {
            return Err(CoreError::bad("cannot update \"response-wrapping\" policy"));
        }
        Policy::parse(&name, text).map_err(|e| CoreError::bad(e.to_string()))?;
        Self::view(barrier)
            .put_json(&name, &Stored { name: name.clone(), policy: text.to_owned() })?;
        self.clear();
        Ok(())
    }

    pub fn delete(&self, barrier: &Barrier, name: &str) -> CoreResult<()> {
        let name = name.to_lowercase();
        if name == ROOT_POLICY || name == DEFAULT_POLICY {
            return Err(CoreError::bad(format!("cannot delete {name:?} policy")));
        }
        Self::view(barrier).delete(&name)?;
        self.clear();
        Ok(())
    }

    /// All policy names (including `default`), sorted; `root` only when asked (the legacy list
    /// shows it, `sys/policies/acl` does not).
    pub fn list(&self, barrier: &Barrier, include_root: bool) -> CoreResult<Vec<String>> {
        let mut names = Self::view(barrier).list("")?;
        names.retain(|n| !n.ends_with('/'));
        if !names.iter().any(|n| n == DEFAULT_POLICY) {
            names.push(DEFAULT_POLICY.to_owned());
        }
        if include_root {
            names.push(ROOT_POLICY.to_owned());
        }
        names.sort();
        Ok(names)
    }
}

/// Policy names are case-insensitive in Vault (stored lower-case).
pub fn validate_name(name: &str) -> CoreResult<String> {
    let n = name.trim().to_lowercase();
    if n.is_empty() || n.contains(['/', '\0']) || n.len() > 256 {
        return Err(CoreError::bad(format!("invalid policy name {name:?}")));
    }
    Ok(n)
}
