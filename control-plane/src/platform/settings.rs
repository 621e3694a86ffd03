//! The `[platform]` configuration section: operator tokens and the orphan sweeper.
//!
//! The sweeper is off by default: it needs AWS access (`[provisioning.aws]`), which API tests
//! and developer machines do not have.

use serde::Deserialize;

use crate::domain::Region;

/// Operator tokens reach every tenant's metadata; a month is already generous.
const MAX_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformSettings {
    /// Lifetime of operator bearer tokens from `POST /v1/platform/login`.
    pub operator_token_ttl_secs: u64,
    pub sweeper: SweeperSettings,
}

impl Default for PlatformSettings {
    fn default() -> Self {
        Self { operator_token_ttl_secs: 3600, sweeper: SweeperSettings::default() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SweeperSettings {
    /// Run the periodic sweep in this process (one sweep at start-up, then every interval).
    pub enabled: bool,
    pub interval_secs: u64,
    /// Regions to list. Empty: every region clusters can be created in.
    pub regions: Vec<String>,
}

impl Default for SweeperSettings {
    fn default() -> Self {
        Self { enabled: false, interval_secs: 900, regions: Vec::new() }
    }
}

impl SweeperSettings {
    /// The regions a sweep lists, in configuration order.
    pub fn regions(&self) -> Vec<String> {
        if self.regions.is_empty() {
            Region::ALL.iter().map(|r| r.as_str().to_owned()).collect()
        } else {
            self.regions.clone()
        }
    }
}

impl PlatformSettings {
    /// The first range problem, if any (checked at start-up by `Settings::validate`).
    pub fn problem(&self) -> Option<&'static str> {
        if self.operator_token_ttl_secs < 60 {
            return Some("platform.operator_token_ttl_secs must be at least 60");
        }
        if self.operator_token_ttl_secs > MAX_TOKEN_TTL_SECS {
            return Some("platform.operator_token_ttl_secs must be at most 2592000 (30 days)");
        }
        if self.sweeper.interval_secs < 1 {
            return Some("platform.sweeper.interval_secs must be at least 1");
        }
        if self.sweeper.regions.iter().any(|r| Region::parse(r).is_err()) {
            return Some("platform.sweeper.regions must name regions clusters can be created in");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_table() {
        let check = |change: fn(&mut PlatformSettings), ok: bool| {
            let mut s = PlatformSettings::default();
            change(&mut s);
            assert_eq!(s.problem().is_none(), ok, "{s:?}");
        };
        check(|_| {}, true);
        check(|s| s.operator_token_ttl_secs = 59, false);
        check(|s| s.operator_token_ttl_secs = 60, true);
        check(|s| s.operator_token_ttl_secs = 30 * 24 * 3600, true);
        check(|s| s.operator_token_ttl_secs = 30 * 24 * 3600 + 1, false);
        check(|s| s.sweeper.interval_secs = 0, false);
        check(|s| s.sweeper.regions = vec!["eu-west-1".into()], true);
        check(|s| s.sweeper.regions = vec!["eu-west-1".into(), "mars-1".into()], false);
    }

    #[test]
    fn empty_regions_mean_every_supported_region() {
        let all = SweeperSettings::default().regions();
        assert_eq!(all.len(), Region::ALL.len());
        assert!(all.iter().any(|r| r == "eu-central-1"));
        let one = SweeperSettings { regions: vec!["us-west-2".into()], ..Default::default() };
        assert_eq!(one.regions(), vec!["us-west-2".to_owned()]);
    }
}
