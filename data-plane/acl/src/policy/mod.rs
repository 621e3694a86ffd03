//! Parsed, validated ACL policies.
//!
//! A [`Policy`] is the compiled form of one policy document: its path rules with capabilities
//! already turned into bitsets and parameter names already lower-cased, so building an
//! [`crate::Acl`] from policies is cheap and a request lookup never re-parses anything.
//! Parsing itself (HCL or the JSON form Terraform sometimes sends) lives in [`parse`]; this module
//! only holds the resulting types.

mod duration;
mod parse;

use std::collections::HashMap;

use serde_json::Value;

use crate::capability::CapSet;

pub use parse::ParseError;

/// How a rule's path pattern matches request paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// The path must equal the pattern.
    Exact,
    /// Pattern ended in `*` (and has no `+` segment): any path starting with the stem matches.
    Prefix,
    /// Pattern has at least one `+` segment (and may end in `*`).
    SegmentWildcard,
}

/// Parameter constraints: lower-cased parameter name to allowed/denied values. An empty list
/// means "any value" (Vault's rule). The name `*` stands for every parameter.
pub type ParamConstraints = HashMap<String, Vec<Value>>;

/// What one path rule grants, after merging duplicate blocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permissions {
    pub capabilities: CapSet,
    pub allowed_parameters: ParamConstraints,
    pub denied_parameters: ParamConstraints,
    pub required_parameters: Vec<String>,
    /// Seconds; 0 = unset.
    pub min_wrapping_ttl: u64,
    /// Seconds; 0 = unset.
    pub max_wrapping_ttl: u64,
}

impl Permissions {
    /// Merges `other` into `self` the way Vault merges two rules for the same pattern: deny wins
    /// outright, capabilities union, parameter value lists concatenate (an empty list, meaning
    /// "any value", absorbs the other side), the smaller wrapping TTL bound wins.
    pub fn merge(&mut self, other: &Permissions) {
        if self.capabilities.is_deny() {
            return;
        }
        if other.capabilities.is_deny() {
            self.capabilities = CapSet::DENY;
            self.allowed_parameters.clear();
            self.denied_parameters.clear();
            return;
        }
        self.capabilities = self.capabilities.merge(other.capabilities);
        if other.max_wrapping_ttl > 0
            && (self.max_wrapping_ttl == 0 || other.max_wrapping_ttl < self.max_wrapping_ttl)
        {
            self.max_wrapping_ttl = other.max_wrapping_ttl;
        }
        if other.min_wrapping_ttl > 0
            && (self.min_wrapping_ttl == 0 || other.min_wrapping_ttl < self.min_wrapping_ttl)
        {
            self.min_wrapping_ttl = other.min_wrapping_ttl;
        }
        merge_constraints(&mut self.allowed_parameters, &other.allowed_parameters);
        merge_constraints(&mut self.denied_parameters, &other.denied_parameters);
        for p in &other.required_parameters {
            if !self.required_parameters.contains(p) {
                self.required_parameters.push(p.clone());
            }
        }
    }
}

fn merge_constraints(into: &mut ParamConstraints, from: &ParamConstraints) {
    for (key, values) in from {
        match into.get_mut(key) {
            Some(existing) if existing.is_empty() || values.is_empty() => existing.clear(),
            Some(existing) => existing.extend(values.iter().cloned()),
            None => {
                into.insert(key.clone(), values.clone());
            }
        }
    }
}

/// One `path "..." { ... }` block.
#[derive(Debug, Clone, PartialEq)]
pub struct PathRule {
    /// The pattern as the ACL matches it: leading `/` removed; for [`PathKind::Prefix`] the
    /// trailing `*` is removed too (Vault's representation); segment-wildcard patterns keep it.
    pub pattern: String,
    pub kind: PathKind,
    pub permissions: Permissions,
}

/// A named, parsed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    name: String,
    rules: Vec<PathRule>,
}

impl Policy {
    /// Parses policy text (Vault HCL, or its JSON equivalent) into a policy called `name`.
    /// Duplicate blocks for the same pattern are merged, like Vault.
    pub fn parse(name: &str, text: &str) -> Result<Policy, ParseError> {
        let rules = parse::parse_rules(text)?;
        Ok(Policy { name: name.to_owned(), rules })
    }

    /// The built-in `root` policy: grants everything on every path.
    pub fn root() -> Policy {
        Policy { name: crate::ROOT_POLICY.to_owned(), rules: Vec::new() }
    }

    /// Vault's built-in `default` policy, parsed from [`crate::DEFAULT_POLICY_HCL`].
    pub fn default_policy() -> Policy {
        // The text is a compile-time constant covered by tests; an error here is a build defect,
        // and an empty policy (grants nothing) is the safe fallback.
        Policy::parse(crate::DEFAULT_POLICY, crate::DEFAULT_POLICY_HCL)
            .unwrap_or(Policy { name: crate::DEFAULT_POLICY.to_owned(), rules: Vec::new() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is the all-powerful `root` policy.
    pub fn is_root(&self) -> bool {
        self.name == crate::ROOT_POLICY
    }

    pub fn rules(&self) -> &[PathRule] {
        &self.rules
    }
}
