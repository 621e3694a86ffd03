//! Capabilities and the compact bitset an ACL lookup returns.
//!
//! Bit values follow Vault's own numbering so a bitmap can be logged or compared with Vault's
//! `capabilities_bitmap` without translation. A `CapSet` is `Copy` and two words wide at most, so
//! a lookup never allocates.

use std::fmt;

/// One capability a policy path block can grant (or `deny`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    Deny,
    Create,
    Read,
    Update,
    Delete,
    List,
    Sudo,
    Patch,
    Subscribe,
}

impl Capability {
    /// Every capability, in the order Vault reports them from `sys/capabilities`.
    pub const REPORT_ORDER: [Capability; 8] = [
        Capability::Sudo,
        Capability::Read,
        Capability::List,
        Capability::Update,
        Capability::Delete,
        Capability::Create,
        Capability::Patch,
        Capability::Subscribe,
    ];

    /// The bit this capability occupies in a [`CapSet`] (Vault's values).
    pub const fn bit(self) -> u32 {
        match self {
            Capability::Deny => 1,
            Capability::Create => 1 << 1,
            Capability::Read => 1 << 2,
            Capability::Update => 1 << 3,
            Capability::Delete => 1 << 4,
            Capability::List => 1 << 5,
            Capability::Sudo => 1 << 6,
            Capability::Patch => 1 << 7,
            Capability::Subscribe => 1 << 8,
        }
    }

    /// The lower-case name used in policy text and API responses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Capability::Deny => "deny",
            Capability::Create => "create",
            Capability::Read => "read",
            Capability::Update => "update",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Sudo => "sudo",
            Capability::Patch => "patch",
            Capability::Subscribe => "subscribe",
        }
    }

    /// Parses a capability name as written in policy text (exact, lower-case, like Vault).
    pub fn parse(name: &str) -> Option<Capability> {
        Some(match name {
            "deny" => Capability::Deny,
            "create" => Capability::Create,
            "read" => Capability::Read,
            "update" => Capability::Update,
            "delete" => Capability::Delete,
            "list" => Capability::List,
            "sudo" => Capability::Sudo,
            "patch" => Capability::Patch,
            "subscribe" => Capability::Subscribe,
            _ => return None,
        })
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of capabilities as a bitmap. `deny` dominates: a set containing `Deny` grants nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapSet(u32);

impl CapSet {
    /// No capability at all (what a path without any matching rule gets).
    pub const EMPTY: CapSet = CapSet(0);
    /// Only `deny`.
    pub const DENY: CapSet = CapSet(Capability::Deny.bit());

    /// Builds a set from capabilities; if `deny` is among them the result is exactly `{deny}`.
    pub fn from_caps<I: IntoIterator<Item = Capability>>(caps: I) -> CapSet {
        let mut set = CapSet::EMPTY;
        for c in caps {
            set.0 |= c.bit();
        }
        set.normalised()
    }

    /// A set from a raw bitmap (Vault's numbering); unknown bits are dropped.
    pub const fn from_bits_const(bits: u32) -> CapSet {
        CapSet(bits & 0x1ff).normalised()
    }

    /// The raw bitmap, Vault's numbering.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether the set holds `cap`. `deny` in the set hides every other capability.
    pub const fn contains(self, cap: Capability) -> bool {
        if self.0 & Capability::Deny.bit() != 0 {
            return matches!(cap, Capability::Deny);
        }
        self.0 & cap.bit() != 0
    }

    /// Whether the set explicitly denies.
    pub const fn is_deny(self) -> bool {
        self.0 & Capability::Deny.bit() != 0
    }

    /// Whether nothing is granted (empty or deny).
    pub const fn grants_nothing(self) -> bool {
        self.is_deny() || self.0 == 0
    }

    /// Union with Vault's merge rule: deny on either side yields only deny.
    pub const fn merge(self, other: CapSet) -> CapSet {
        CapSet(self.0 | other.0).normalised()
    }

    const fn normalised(self) -> CapSet {
        if self.0 & Capability::Deny.bit() != 0 {
            CapSet::DENY
        } else {
            self
        }
    }

    /// The names Vault's `sys/capabilities*` endpoints return for this set: `["deny"]` when the
    /// set denies or is empty, otherwise the granted capabilities in Vault's report order.
    pub fn names(self) -> Vec<&'static str> {
        if self.grants_nothing() {
            return vec![Capability::Deny.as_str()];
        }
        Capability::REPORT_ORDER
            .iter()
            .filter(|c| self.0 & c.bit() != 0)
            .map(|c| c.as_str())
            .collect()
    }
}

impl fmt::Debug for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_dominates_merge_and_contains() {
        let rw = CapSet::from_caps([Capability::Read, Capability::Update]);
        assert!(rw.contains(Capability::Read));
        assert!(!rw.contains(Capability::Deny));
        let merged = rw.merge(CapSet::DENY);
        assert_eq!(merged, CapSet::DENY);
        assert!(!merged.contains(Capability::Read));
        assert_eq!(CapSet::from_caps([Capability::Read, Capability::Deny]), CapSet::DENY);
    }

    #[test]
    fn names_follow_vault_report_order() {
        let set = CapSet::from_caps([Capability::Create, Capability::Sudo, Capability::Read]);
        assert_eq!(set.names(), ["sudo", "read", "create"]);
        assert_eq!(CapSet::EMPTY.names(), ["deny"]);
        assert_eq!(CapSet::DENY.names(), ["deny"]);
    }

    #[test]
    fn parse_round_trips_every_name() {
        for cap in [
            Capability::Deny,
            Capability::Create,
            Capability::Read,
            Capability::Update,
            Capability::Delete,
            Capability::List,
            Capability::Sudo,
            Capability::Patch,
            Capability::Subscribe,
        ] {
            assert_eq!(Capability::parse(cap.as_str()), Some(cap));
        }
        assert_eq!(Capability::parse("READ"), None);
        assert_eq!(Capability::parse("root"), None);
    }
}
