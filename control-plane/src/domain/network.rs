//! CIDR blocks for a cluster's IP allow list.

use std::net::IpAddr;

use super::ValidationError;

/// Enough for realistic office/VPN ranges while keeping security-group rules bounded.
const MAX_ENTRIES: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `x::/n`. Host bits must be zero so the string means exactly one
    /// network (a typo such as `10.0.0.1/8` would otherwise silently open a wider range).
    pub fn parse(raw: &str) -> Result<Cidr, ValidationError> {
        let bad = || {
            ValidationError::new(format!(
                "ip_allow_list entry {raw:?} must be a CIDR block like 10.0.0.0/8 or 2001:db8::/32"
            ))
        };
        let (addr, prefix) = raw.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let host_bits_zero = match addr {
            IpAddr::V4(v4) => {
                if prefix > 32 {
                    return Err(bad());
                }
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(v4) & !mask == 0
            }
            IpAddr::V6(v6) => {
                if prefix > 128 {
                    return Err(bad());
                }
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(v6) & !mask == 0
            }
        };
        if !host_bits_zero {
            return Err(ValidationError::new(format!(
                "ip_allow_list entry {raw:?} has host bits set; use the network address"
            )));
        }
        Ok(Cidr { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An ordered, bounded list of CIDR blocks in canonical text form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpAllowList(Vec<String>);

impl IpAllowList {
    pub fn parse(raw: &[String]) -> Result<IpAllowList, ValidationError> {
        if raw.len() > MAX_ENTRIES {
            return Err(ValidationError::new(format!(
                "ip_allow_list must have at most {MAX_ENTRIES} entries"
            )));
        }
        let mut out: Vec<String> = Vec::with_capacity(raw.len());
        for entry in raw {
            let canonical = Cidr::parse(entry)?.to_string();
            if !out.contains(&canonical) {
                out.push(canonical);
            }
        }
        Ok(IpAllowList(out))
    }

    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Option<&str>) {
        assert_eq!(
            Cidr::parse(input).ok().map(|c| c.to_string()),
            expect.map(str::to_owned),
            "{input}"
        );
    }

    #[test]
    fn cidr_table() {
        check("10.0.0.0/8", Some("10.0.0.0/8"));
        check("203.0.113.7/32", Some("203.0.113.7/32"));
        check("0.0.0.0/0", Some("0.0.0.0/0"));
        check("2001:db8::/32", Some("2001:db8::/32"));
        check("2001:0db8::/32", Some("2001:db8::/32"));
        check("::/0", Some("::/0"));
        check("10.0.0.1/8", None);
        check("10.0.0.0/33", None);
        check("10.0.0.0", None);
        check("10.0.0.0/", None);
        check("10.0.0.0/+8", None);
        check("10.0.0/8", None);
        check("example.com/8", None);
        check("2001:db8::/129", None);
    }

    #[test]
    fn list_dedupes_and_bounds() {
        let l = IpAllowList::parse(&["10.0.0.0/8".into(), "10.0.0.0/8".into()]).unwrap();
        assert_eq!(l.into_inner(), vec!["10.0.0.0/8".to_owned()]);
        let many: Vec<String> = (0..51).map(|i| format!("10.0.{i}.0/24")).collect();
        assert!(IpAllowList::parse(&many).is_err());
    }
}
