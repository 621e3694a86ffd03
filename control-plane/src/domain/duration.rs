//! Timeouts for long-poll endpoints, written like `500ms`, `5s` or `1m`.

use std::time::Duration;

use super::ValidationError;

const MAX: Duration = Duration::from_secs(60);
const DEFAULT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeout(Duration);

impl Default for WaitTimeout {
    fn default() -> Self {
        WaitTimeout(DEFAULT)
    }
}

impl WaitTimeout {
    pub fn parse(raw: &str) -> Result<WaitTimeout, ValidationError> {
        let bad =
            || ValidationError::new("timeout must be a duration like 500ms, 5s or 1m, at most 60s");
        let split = raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (digits, unit) = raw.split_at(split);
        if digits.is_empty() || digits.len() > 6 {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            _ => return Err(bad()),
        };
        if d > MAX {
            return Err(bad());
        }
        Ok(WaitTimeout(d))
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Option<Duration>) {
        assert_eq!(WaitTimeout::parse(input).ok().map(WaitTimeout::get), expect, "{input}");
    }

    #[test]
    fn parse_table() {
        check("500ms", Some(Duration::from_millis(500)));
        check("5s", Some(Duration::from_secs(5)));
        check("0s", Some(Duration::ZERO));
        check("1m", Some(Duration::from_secs(60)));
        check("60s", Some(Duration::from_secs(60)));
        check("61s", None);
        check("2m", None);
        check("5", None);
        check("s", None);
        check("5h", None);
        check("-5s", None);
        check("5 s", None);
        check("99999999999s", None);
        assert_eq!(WaitTimeout::default().get(), Duration::from_secs(5));
    }
}
