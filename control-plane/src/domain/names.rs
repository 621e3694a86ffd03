//! Human-facing display names (organisations, service principals).

use super::ValidationError;

const MAX_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// 1..=64 characters after trimming, no control characters (they break logs and UIs).
    pub fn parse(field: &str, raw: &str) -> Result<DisplayName, ValidationError> {
        let s = raw.trim();
        let n = s.chars().count();
        if n == 0 || n > MAX_CHARS || s.chars().any(char::is_control) {
            return Err(ValidationError::new(format!(
                "{field} must be 1 to {MAX_CHARS} characters without control characters"
            )));
        }
        Ok(DisplayName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Option<&str>) {
        assert_eq!(
            DisplayName::parse("name", input).ok().map(|n| n.0),
            expect.map(str::to_owned),
            "{input:?}"
        );
    }

    #[test]
    fn parse_table() {
        check("Acme", Some("Acme"));
        check("  Acme Corp  ", Some("Acme Corp"));
        check("", None);
        check("   ", None);
        check("a\nb", None);
        check(&"x".repeat(64), Some(&"x".repeat(64)));
        check(&"x".repeat(65), None);
    }
}
