//! Email addresses, normalised to lowercase so uniqueness is case-insensitive.

use super::ValidationError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` with a conservative character set. Full RFC 5322 is not the
    /// goal: the address only has to be plausible and unambiguous as a login name.
    pub fn parse(raw: &str) -> Result<Email, ValidationError> {
        let bad = || ValidationError::new("email must be a valid address like name@example.com");
        let s = raw.trim();
        if s.is_empty() || s.len() > 254 {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return Err(bad());
        }
        let local_ok =
            local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        if !local_ok || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(bad());
        }
        for label in labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(bad());
            }
        }
        Ok(Email(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Option<&str>) {
        assert_eq!(Email::parse(input).ok().map(|e| e.0), expect.map(str::to_owned), "{input}");
    }

    #[test]
    fn parse_table() {
        check("alice@example.com", Some("alice@example.com"));
        check("  Alice.Smith+x@Example.COM ", Some("alice.smith+x@example.com"));
        check("a@b.co", Some("a@b.co"));
        check("", None);
        check("alice", None);
        check("alice@", None);
        check("@example.com", None);
        check("alice@example", None);
        check("a@b@example.com", None);
        check("al ice@example.com", None);
        check(".alice@example.com", None);
        check("alice@-example.com", None);
        check("alice@example..com", None);
        check(&format!("{}@example.com", "a".repeat(65)), None);
    }
}
