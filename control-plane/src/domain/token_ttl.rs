//! Lifetime of a cluster admin token, written like `30m`, `6h` or `90s`.
//!
//! Admin tokens carry full power over a customer's secrets, so their lifetime is bounded both
//! ways: at least five minutes (anything shorter expires before a human can use it) and at
//! most a day (the token role on the node caps it there too).

use std::time::Duration;

use super::ValidationError;

const MIN: Duration = Duration::from_secs(5 * 60);
const MAX: Duration = Duration::from_secs(24 * 3600);
const DEFAULT: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminTokenTtl(Duration);

impl Default for AdminTokenTtl {
    fn default() -> Self {
        AdminTokenTtl(DEFAULT)
    }
}

impl AdminTokenTtl {
    pub fn parse(raw: &str) -> Result<AdminTokenTtl, ValidationError> {
        let bad =
            || ValidationError::new("ttl must be a duration like 30m or 6h, between 5m and 24h");
        let split = raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (digits, unit) = raw.split_at(split);
        if digits.is_empty() || digits.len() > 6 {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let secs = match unit {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            _ => return Err(bad()),
        };
        let d = Duration::from_secs(secs);
        if d < MIN || d > MAX {
            return Err(bad());
        }
        Ok(AdminTokenTtl(d))
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Option<u64>) {
        let got = AdminTokenTtl::parse(input).ok().map(|t| t.get().as_secs());
        assert_eq!(got, expect, "{input}");
    }

    #[test]
    fn parse_table() {
        check("6h", Some(21_600));
        check("5m", Some(300));
        check("300s", Some(300));
        check("24h", Some(86_400));
        check("1440m", Some(86_400));
        check("299s", None);
        check("4m", None);
        check("25h", None);
        check("86401s", None);
        check("1d", None);
        check("6", None);
        check("h", None);
        check("-6h", None);
        check("6 h", None);
        check("9999999h", None);
        check("", None);
        assert_eq!(AdminTokenTtl::default().get().as_secs(), 21_600);
    }
}
