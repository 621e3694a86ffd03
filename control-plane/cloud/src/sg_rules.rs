//! Security-group ingress as a set of atomic rules, and the diff that rewrites a group to match.
//!
//! AWS stores rules grouped into "permissions" with several sources each; comparing those shapes
//! directly is error-prone. Flattening both sides to (protocol, ports, one source) makes "revoke
//! what is extra, authorize what is missing" a plain set difference, which is what makes updating
//! an allow list idempotent.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::error::CloudError;
use crate::resources::ApiAccess;

/// The Vault API port: the only port open to clients.
pub const API_PORT: i32 = 8200;

/// Upper bound on allow-list entries, under EC2's default 60 rules per group.
pub const MAX_ALLOW_LIST: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleSource {
    Ipv4(String),
    Ipv6(String),
    Group(String),
    PrefixList(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rule {
    /// `tcp`, `udp`, `icmp`, or `-1` for all traffic.
    pub protocol: String,
    /// `None` when the protocol is `-1` (ports do not apply).
    pub ports: Option<(i32, i32)>,
    pub source: RuleSource,
}

impl Rule {
    /// Builds a rule from EC2's fields, normalising the spellings EC2 uses for "all".
    pub fn new(protocol: &str, from: Option<i32>, to: Option<i32>, source: RuleSource) -> Rule {
        let protocol = match protocol.to_ascii_lowercase().as_str() {
            "-1" | "all" => "-1".to_owned(),
            "6" => "tcp".to_owned(),
            "17" => "udp".to_owned(),
            other => other.to_owned(),
        };
        let ports = if protocol == "-1" {
            None
        } else {
            match (from, to) {
                (Some(f), Some(t)) => Some((f, t)),
                _ => None,
            }
        };
        Rule { protocol, ports, source }
    }

    fn api(source: RuleSource) -> Rule {
        Rule { protocol: "tcp".to_owned(), ports: Some((API_PORT, API_PORT)), source }
    }
}

/// Parses and canonicalises a CIDR block (AWS reports IPv6 in lowercase compressed form).
pub fn parse_cidr(raw: &str) -> Result<RuleSource, CloudError> {
    let bad = || CloudError::invalid("security-group", format!("{raw:?} is not a CIDR block"));
    let (addr, prefix) = raw.trim().split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    match addr {
        IpAddr::V4(_) if prefix <= 32 => Ok(RuleSource::Ipv4(format!("{addr}/{prefix}"))),
        IpAddr::V6(_) if prefix <= 128 => Ok(RuleSource::Ipv6(format!("{addr}/{prefix}"))),
        _ => Err(bad()),
    }
}

/// The client-facing rules: TCP 8200 from each allowed source. Validates the input, so call it
/// before touching the group.
pub fn api_rules(access: &ApiAccess) -> Result<BTreeSet<Rule>, CloudError> {
    let mut rules = BTreeSet::new();
    match access {
        ApiAccess::Public => {
            rules.insert(Rule::api(RuleSource::Ipv4("0.0.0.0/0".to_owned())));
        }
        ApiAccess::AllowList(cidrs) => {
            if cidrs.len() > MAX_ALLOW_LIST {
                return Err(CloudError::invalid(
                    "security-group",
                    format!("{} allow-list entries exceeds {MAX_ALLOW_LIST}", cidrs.len()),
                ));
            }
            for cidr in cidrs {
                rules.insert(Rule::api(parse_cidr(cidr)?));
            }
        }
    }
    Ok(rules)
}

/// The exact ingress a cluster group should have: the API rules plus all traffic from members of
/// the group itself (node-to-node). Nothing else, in particular never port 22.
pub fn with_node_traffic(mut api: BTreeSet<Rule>, own_group_id: &str) -> BTreeSet<Rule> {
    api.insert(Rule::new("-1", None, None, RuleSource::Group(own_group_id.to_owned())));
    api
}

pub fn desired_rules(access: &ApiAccess, own_group_id: &str) -> Result<BTreeSet<Rule>, CloudError> {
    Ok(with_node_traffic(api_rules(access)?, own_group_id))
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RuleDiff {
    pub revoke: Vec<Rule>,
    pub authorize: Vec<Rule>,
}

impl RuleDiff {
    pub fn is_empty(&self) -> bool {
        self.revoke.is_empty() && self.authorize.is_empty()
    }
}

pub fn diff(current: &BTreeSet<Rule>, desired: &BTreeSet<Rule>) -> RuleDiff {
    RuleDiff {
        revoke: current.difference(desired).cloned().collect(),
        authorize: desired.difference(current).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(c: &str) -> RuleSource {
        RuleSource::Ipv4(c.into())
    }

    #[test]
    fn cidr_parsing() {
        let check = |raw: &str, expect: Option<RuleSource>| {
            assert_eq!(parse_cidr(raw).ok(), expect, "{raw}")
        };
        check("10.0.0.0/8", Some(v4("10.0.0.0/8")));
        check(" 192.168.1.0/24 ", Some(v4("192.168.1.0/24")));
        check("2001:DB8:0::/32", Some(RuleSource::Ipv6("2001:db8::/32".into())));
        check("10.0.0.0/33", None);
        check("10.0.0.0", None);
        check("example.com/8", None);
        check("::/129", None);
    }

    #[test]
    fn desired_rules_never_open_ssh() {
        let check = |access: ApiAccess, expect_api: &[RuleSource]| {
            let rules = desired_rules(&access, "sg-1").unwrap();
            let self_rule = Rule::new("-1", None, None, RuleSource::Group("sg-1".into()));
            assert!(rules.contains(&self_rule));
            let api: Vec<RuleSource> =
                rules.iter().filter(|r| r.protocol == "tcp").map(|r| r.source.clone()).collect();
            assert_eq!(api, expect_api);
            assert!(rules
                .iter()
                .all(|r| r.ports.is_none_or(|(f, t)| (f, t) == (API_PORT, API_PORT))));
            assert_eq!(rules.len(), expect_api.len() + 1);
        };
        check(ApiAccess::Public, &[v4("0.0.0.0/0")]);
        check(ApiAccess::AllowList(vec![]), &[]);
        check(
            ApiAccess::AllowList(vec![
                "10.0.0.0/8".into(),
                "2001:db8::/32".into(),
                "10.0.0.0/8".into(),
            ]),
            &[v4("10.0.0.0/8"), RuleSource::Ipv6("2001:db8::/32".into())],
        );
        assert!(desired_rules(&ApiAccess::AllowList(vec!["nope".into()]), "sg-1").is_err());
        let many = (0..=MAX_ALLOW_LIST).map(|i| format!("10.0.{i}.0/24")).collect();
        assert!(desired_rules(&ApiAccess::AllowList(many), "sg-1").is_err());
    }

    #[test]
    fn diff_revokes_extra_and_authorizes_missing() {
        let ssh = Rule::new("tcp", Some(22), Some(22), v4("0.0.0.0/0"));
        let old = Rule::new("tcp", Some(8200), Some(8200), v4("10.0.0.0/8"));
        let keep = Rule::new("-1", Some(-1), Some(-1), RuleSource::Group("sg-1".into()));
        let new = Rule::new("tcp", Some(8200), Some(8200), v4("192.168.0.0/16"));
        let current: BTreeSet<_> = [ssh.clone(), old.clone(), keep.clone()].into();
        let desired: BTreeSet<_> = [keep.clone(), new.clone()].into();
        let d = diff(&current, &desired);
        assert_eq!(
            d.revoke,
            vec![ssh, old].into_iter().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>()
        );
        assert_eq!(d.authorize, vec![new]);
        assert!(diff(&desired, &desired).is_empty());
    }

    #[test]
    fn all_traffic_spellings_are_equal() {
        let g = || RuleSource::Group("sg-1".into());
        assert_eq!(Rule::new("-1", None, None, g()), Rule::new("all", Some(-1), Some(-1), g()));
        assert_eq!(Rule::new("6", Some(1), Some(2), g()), Rule::new("TCP", Some(1), Some(2), g()));
    }
}
