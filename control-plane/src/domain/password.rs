//! Passwords chosen by users. Held as a secret from the moment they are parsed.

use secrecy::{ExposeSecret, SecretString};

use super::ValidationError;

const MIN_CHARS: usize = 12;
/// Bound the input to argon2 so a huge password cannot be used to burn CPU.
const MAX_BYTES: usize = 1024;

pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl Password {
    /// New passwords must have at least 12 characters (length beats composition rules).
    pub fn parse_new(raw: SecretString) -> Result<Password, ValidationError> {
        let s = raw.expose_secret();
        if s.chars().count() < MIN_CHARS {
            return Err(ValidationError::new(format!(
                "password must be at least {MIN_CHARS} characters"
            )));
        }
        if s.len() > MAX_BYTES {
            return Err(ValidationError::new(format!(
                "password must be at most {MAX_BYTES} bytes"
            )));
        }
        Ok(Password(raw))
    }

    /// A password offered at login is only bounded, never policy-checked: policy changes must
    /// not lock out existing users, and a distinct error would leak information.
    pub fn for_login(raw: SecretString) -> Option<Password> {
        (raw.expose_secret().len() <= MAX_BYTES).then_some(Password(raw))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, ok: bool) {
        assert_eq!(Password::parse_new(SecretString::from(input)).is_ok(), ok, "{input}");
    }

    #[test]
    fn parse_table() {
        check("correct horse battery", true);
        check("twelve chars", true);
        check("elevenchars", false);
        check("", false);
        check("ééééééééééééé", true);
        check(&"x".repeat(1025), false);
    }

    #[test]
    fn debug_is_redacted() {
        let p = Password::parse_new(SecretString::from("super secret value")).unwrap();
        assert!(!format!("{p:?}").contains("secret value"));
    }
}
