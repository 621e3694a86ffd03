//! Request bodies for key management, deserialised straight from Vault-shaped JSON (nulls
//! accepted, durations as seconds or Go-style strings like `"24h"`).

use serde::{Deserialize, Deserializer};

use crate::{KeyOptions, KeyType, TransitError};

/// Body of `POST transit/keys/:name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CreateKeyRequest {
    #[serde(rename = "type")]
    pub key_type: Option<String>,
    pub derived: Option<bool>,
    pub convergent_encryption: Option<bool>,
    pub exportable: Option<bool>,
    pub allow_plaintext_backup: Option<bool>,
    #[serde(deserialize_with = "duration_secs")]
    pub auto_rotate_period: Option<u64>,
}

impl CreateKeyRequest {
    /// Validated options; the type defaults to `aes256-gcm96` as in Vault.
    pub fn options(&self) -> Result<KeyOptions, TransitError> {
        let key_type = match self.key_type.as_deref() {
            None | Some("") => KeyType::Aes256Gcm96,
            Some(t) => t.parse()?,
        };
        Ok(KeyOptions {
            key_type,
            derived: self.derived.unwrap_or(false),
            convergent_encryption: self.convergent_encryption.unwrap_or(false),
            exportable: self.exportable.unwrap_or(false),
            allow_plaintext_backup: self.allow_plaintext_backup.unwrap_or(false),
            auto_rotate_period: self.auto_rotate_period.unwrap_or(0),
        })
    }
}

/// Vault's rule for automatic rotation periods: 0 (off) or at least an hour.
pub(crate) fn check_auto_rotate_period(secs: u64) -> Result<(), TransitError> {
    if secs != 0 && secs < 3600 {
        return Err(TransitError::InvalidConfig(
            "auto rotate period must be 0 to disable or at least an hour",
        ));
    }
    Ok(())
}

/// Deserialises an optional duration given as seconds (number or numeric string) or as a
/// Go-style duration string (`"1h30m"`, `"90s"`, `"2d"`).
pub(crate) fn duration_secs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Int(n)) => Ok(Some(n)),
        Some(Raw::Text(s)) => parse_duration(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid duration {s:?}"))),
    }
}

fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(n.checked_mul(mult)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_table() {
        for (input, expect) in [
            ("", Some(0)),
            ("0", Some(0)),
            ("3600", Some(3600)),
            ("1h", Some(3600)),
            ("1h30m", Some(5400)),
            ("90s", Some(90)),
            ("2d", Some(172_800)),
            ("1.5h", None),
            ("h", None),
            ("5y", None),
            ("-1h", None),
        ] {
            assert_eq!(parse_duration(input), expect, "{input:?}");
        }
    }
}
