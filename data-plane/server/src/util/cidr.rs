//! CIDR blocks (`10.0.0.0/8`, `::1/128`, or a bare address) for Vault's `*_bound_cidrs`
//! settings: parsed once when configured, matched against the client's address.

use std::net::IpAddr;

/// Parses a CIDR or a bare IP. `None` when malformed.
pub fn parse(s: &str) -> Option<(IpAddr, u8)> {
    let s = s.trim();
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

/// Validates a list of CIDRs (for configuration endpoints).
pub fn validate(list: &[String]) -> Result<(), String> {
    match list.iter().find(|c| parse(c).is_none()) {
        Some(bad) => Err(format!("invalid CIDR block {bad:?}")),
        None => Ok(()),
    }
}

fn contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    let ip = match (net, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => return false,
        },
        (_, ip) => ip,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Whether `ip` is allowed by `list` (an empty list allows everything; an unknown client
/// address is refused when the list is not empty).
pub fn allows(list: &[String], ip: Option<IpAddr>) -> bool {
    if list.is_empty() {
        return true;
    }
    let Some(ip) = ip else { return false };
    list.iter().filter_map(|c| parse(c)).any(|(net, bits)| contains(net, bits, ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(list: &[&str], ip: &str, expect: bool) {
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        assert_eq!(allows(&list, ip.parse().ok()), expect, "{list:?} {ip}");
    }

    #[test]
    fn matching() {
        check(&[], "1.2.3.4", true);
        check(&["127.0.0.1/32"], "127.0.0.1", true);
        check(&["127.0.0.1/32"], "127.0.0.2", false);
        check(&["10.0.0.0/8"], "10.200.1.1", true);
        check(&["10.0.0.0/8"], "11.0.0.1", false);
        check(&["0.0.0.0/0"], "8.8.8.8", true);
        check(&["192.168.1.7"], "192.168.1.7", true);
        check(&["::1/128"], "::1", true);
        check(&["fd00::/8"], "fd12::1", true);
        check(&["fd00::/8"], "fe80::1", false);
        check(&["127.0.0.0/8"], "::ffff:127.0.0.1", true);
        check(&["127.0.0.1/32"], "::1", false);
        check(&["not-a-cidr"], "1.2.3.4", false);
    }

    #[test]
    fn validation() {
        assert!(validate(&["10.0.0.0/8".into(), "::1".into()]).is_ok());
        assert!(validate(&["10.0.0.0/33".into()]).is_err());
        assert!(validate(&["x".into()]).is_err());
    }
}
