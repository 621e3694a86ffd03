//! Organisation roles and the permission table.
//!
//! Roles are totally ordered (viewer < contributor < admin < owner) and each action needs a
//! minimum role, so an authorization check is one comparison. Keeping the table here, away
//! from HTTP, lets the console and the API enforce exactly the same rules.

use super::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Contributor,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Contributor, Role::Admin, Role::Owner];

    pub fn parse(raw: &str) -> Result<Role, ValidationError> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw).ok_or_else(|| {
            ValidationError::new("role must be one of viewer, contributor, admin, owner")
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Contributor => "contributor",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn allows(self, action: Action) -> bool {
        self >= action.min_role()
    }
}

/// Things a caller can do inside an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Every GET inside the org.
    Read,
    /// Create, update and delete clusters.
    ManageClusters,
    /// Add members, change roles and remove non-owners; manage service principals.
    ManageMembers,
    /// Grant or revoke the owner role.
    ManageOwners,
    /// Reach into a cluster's data: admin tokens, snapshot restore/delete, audit logs.
    AccessClusterData,
}

impl Action {
    pub fn min_role(self) -> Role {
        match self {
            Action::Read => Role::Viewer,
            Action::ManageClusters => Role::Contributor,
            Action::ManageMembers => Role::Admin,
            Action::ManageOwners => Role::Owner,
            Action::AccessClusterData => Role::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert!(Role::parse("Owner").is_err());
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn permission_table() {
        use Action::*;
        use Role::*;
        let table = [
            (Viewer, [true, false, false, false, false]),
            (Contributor, [true, true, false, false, false]),
            (Admin, [true, true, true, false, true]),
            (Owner, [true, true, true, true, true]),
        ];
        for (role, expect) in table {
            let got = [Read, ManageClusters, ManageMembers, ManageOwners, AccessClusterData]
                .map(|a| role.allows(a));
            assert_eq!(got, expect, "{role:?}");
        }
    }
}
