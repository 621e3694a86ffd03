//! Cluster specification vocabulary: name, tier, size, region, version and lifecycle state.

use super::ValidationError;

/// A cluster name doubles as a DNS label in the cluster's address, hence the strict rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterName(String);

impl ClusterName {
    pub fn parse(raw: &str) -> Result<ClusterName, ValidationError> {
        let bytes = raw.as_bytes();
        let ok = (3..=32).contains(&bytes.len())
            && bytes[0].is_ascii_lowercase()
            && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && !raw.ends_with('-');
        if !ok {
            return Err(ValidationError::new(
                "name must be 3 to 32 characters of a-z, 0-9 and '-', start with a letter and not end with '-'",
            ));
        }
        Ok(ClusterName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn parse(raw: &str) -> Result<$name, ValidationError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw).ok_or_else(|| {
                    let valid: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    ValidationError::new(format!(
                        "{} must be one of: {}", $field, valid.join(", ")
                    ))
                })
            }
        }
    };
}

string_enum!(
    /// Product tier; decides availability (node count) and the sizes on offer.
    Tier, "tier" { Dev => "dev", Essentials => "essentials", Standard => "standard" }
);
string_enum!(Size, "size" { Small => "small", Medium => "medium", Large => "large" });
string_enum!(
    /// Regions we can provision into. Fixed for now; a catalog table can replace this later.
    Region, "region" {
        UsEast1 => "us-east-1",
        UsWest2 => "us-west-2",
        EuWest1 => "eu-west-1",
        EuCentral1 => "eu-central-1",
        ApSoutheast1 => "ap-southeast-1",
        ApNortheast1 => "ap-northeast-1",
    }
);
string_enum!(
    /// Observed lifecycle state, written by the provisioning engine (pending until it exists).
    ClusterState, "state" {
        Pending => "pending",
        Creating => "creating",
        Running => "running",
        Updating => "updating",
        Deleting => "deleting",
        Deleted => "deleted",
        Failed => "failed",
    }
);

impl Tier {
    pub fn sizes(self) -> &'static [Size] {
        match self {
            Tier::Dev => &[Size::Small],
            Tier::Essentials => &[Size::Small, Size::Medium],
            Tier::Standard => &[Size::Small, Size::Medium, Size::Large],
        }
    }

    /// Dev clusters are a single node; paid tiers run a 3-node Raft cluster for availability.
    pub fn node_count(self) -> i32 {
        match self {
            Tier::Dev => 1,
            Tier::Essentials | Tier::Standard => 3,
        }
    }

    pub fn check_size(self, size: Size) -> Result<(), ValidationError> {
        if self.sizes().contains(&size) {
            return Ok(());
        }
        let valid: Vec<&str> = self.sizes().iter().map(|s| s.as_str()).collect();
        Err(ValidationError::new(format!(
            "size {} is not available for tier {}; valid sizes: {}",
            size.as_str(),
            self.as_str(),
            valid.join(", ")
        )))
    }
}

impl ClusterState {
    /// States in which the cluster still exists or is being torn down; name stays reserved.
    pub fn is_deleting_or_gone(self) -> bool {
        matches!(self, ClusterState::Deleting | ClusterState::Deleted)
    }
}

/// A release version string like `1.0.0`. Whether it exists is checked against the
/// `releases` catalog by the service layer; this only checks the shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(String);

impl Version {
    pub fn parse(raw: &str) -> Result<Version, ValidationError> {
        let parts: Vec<&str> = raw.split('.').collect();
        let ok = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(ValidationError::new("version must look like 1.2.3"));
        }
        Ok(Version(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_name(input: &str, ok: bool) {
        assert_eq!(ClusterName::parse(input).is_ok(), ok, "{input:?}");
    }

    #[test]
    fn cluster_name_table() {
        check_name("prod", true);
        check_name("a1-b2", true);
        check_name("abc", true);
        check_name(&format!("a{}", "b".repeat(31)), true);
        check_name(&format!("a{}", "b".repeat(32)), false);
        check_name("ab", false);
        check_name("1abc", false);
        check_name("-abc", false);
        check_name("abc-", false);
        check_name("Prod", false);
        check_name("pro_d", false);
        check_name("pröd", false);
        check_name("", false);
    }

    #[test]
    fn tier_size_table() {
        let table = [
            (Tier::Dev, Size::Small, true),
            (Tier::Dev, Size::Medium, false),
            (Tier::Dev, Size::Large, false),
            (Tier::Essentials, Size::Small, true),
            (Tier::Essentials, Size::Medium, true),
            (Tier::Essentials, Size::Large, false),
            (Tier::Standard, Size::Large, true),
        ];
        for (tier, size, ok) in table {
            assert_eq!(tier.check_size(size).is_ok(), ok, "{tier:?} {size:?}");
        }
        let msg = Tier::Essentials.check_size(Size::Large).unwrap_err().0;
        assert!(msg.contains("small, medium"), "{msg}");
    }

    #[test]
    fn enums_parse() {
        assert_eq!(Tier::parse("dev"), Ok(Tier::Dev));
        assert_eq!(Region::parse("eu-central-1"), Ok(Region::EuCentral1));
        assert!(Region::parse("mars-1").unwrap_err().0.contains("us-east-1"));
        assert!(Size::parse("SMALL").is_err());
        for s in ClusterState::ALL {
            assert_eq!(ClusterState::parse(s.as_str()), Ok(*s));
        }
    }

    #[test]
    fn version_table() {
        for (input, ok) in [
            ("1.0.0", true),
            ("10.20.30", true),
            ("1.0", false),
            ("v1.0.0", false),
            ("1.0.0-rc1", false),
            ("", false),
        ] {
            assert_eq!(Version::parse(input).is_ok(), ok, "{input}");
        }
    }
}
