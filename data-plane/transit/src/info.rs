//! The read-key view (`GET transit/keys/:name`): everything Vault reports about a key, never
//! secret material. The server serialises it as the response's `data`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Key, KeyType};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KeyInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// Version -> creation time (unix seconds) for symmetric keys, or details with the public
    /// key for signing keys, as Vault shows them.
    pub keys: BTreeMap<String, VersionInfo>,
    pub latest_version: u32,
    pub min_available_version: u32,
    pub min_decryption_version: u32,
    pub min_encryption_version: u32,
    pub deletion_allowed: bool,
    pub exportable: bool,
    pub allow_plaintext_backup: bool,
    pub derived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kdf: Option<&'static str>,
    pub convergent_encryption: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convergent_encryption_version: Option<i32>,
    pub supports_encryption: bool,
    pub supports_decryption: bool,
    pub supports_derivation: bool,
    pub supports_signing: bool,
    pub auto_rotate_period: u64,
    pub imported_key: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum VersionInfo {
    Created(u64),
    Asymmetric { creation_time: String, name: &'static str, public_key: String },
}

impl Key {
    /// The Vault-shaped description of this key.
    pub fn info(&self) -> KeyInfo {
        let kt = self.key_type();
        let keys = self
            .versions()
            .map(|(v, material)| {
                let info = if kt.supports_signing() {
                    VersionInfo::Asymmetric {
                        creation_time: rfc3339(material.creation_time),
                        name: match kt {
                            KeyType::EcdsaP256 => "P-256",
                            _ => "ed25519",
                        },
                        // Derived ed25519 keys have no single public key (it depends on context).
                        public_key: if self.derived() {
                            String::new()
                        } else {
                            crate::export::public_key(kt, material).unwrap_or_default()
                        },
                    }
                } else {
                    VersionInfo::Created(material.creation_time)
                };
                (v.to_string(), info)
            })
            .collect();
        KeyInfo {
            name: self.name().to_owned(),
            key_type: kt,
            keys,
            latest_version: self.latest_version(),
            min_available_version: self.min_available_version(),
            min_decryption_version: self.min_decryption_version(),
            min_encryption_version: self.min_encryption_version(),
            deletion_allowed: self.deletion_allowed(),
            exportable: self.exportable(),
            allow_plaintext_backup: self.allow_plaintext_backup(),
            derived: self.derived(),
            kdf: self.derived().then_some("hkdf_sha256"),
            convergent_encryption: self.convergent_encryption(),
            convergent_encryption_version: self.convergent_encryption().then_some(3),
            supports_encryption: kt.supports_encryption(),
            supports_decryption: kt.supports_encryption(),
            supports_derivation: kt.supports_derivation(),
            supports_signing: kt.supports_signing(),
            auto_rotate_period: self.auto_rotate_period(),
            imported_key: false,
        }
    }
}

/// Unix seconds to RFC 3339 UTC (`2024-01-02T03:04:05Z`), via the civil-from-days algorithm.
pub(crate) fn rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_table() {
        for (unix, expect) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
        ] {
            assert_eq!(super::rfc3339(unix), expect);
        }
    }
}
