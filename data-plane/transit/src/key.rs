//! A named transit key: its versions, policy settings (min versions, exportability, derivation)
//! and lifecycle operations (create, rotate, configure, describe, export).
//!
//! The cryptographic operations live in sibling modules as further `impl Key` blocks; this one
//! owns the invariants they rely on (version bounds, which features a type supports).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::material::KeyVersion;
use crate::{KeyType, TransitError};

/// Options for creating a key (Vault's `POST transit/keys/:name` fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOptions {
    pub key_type: KeyType,
    pub derived: bool,
    pub convergent_encryption: bool,
    pub exportable: bool,
    pub allow_plaintext_backup: bool,
    /// Seconds; 0 disables automatic rotation (scheduling is the server's job).
    pub auto_rotate_period: u64,
}

impl KeyOptions {
    pub fn new(key_type: KeyType) -> KeyOptions {
        KeyOptions {
            key_type,
            derived: false,
            convergent_encryption: false,
            exportable: false,
            allow_plaintext_backup: false,
            auto_rotate_period: 0,
        }
    }
}

/// A named, versioned key. Serialise it (serde) to persist it through the barrier; the version
/// caches are rebuilt lazily after deserialisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Key {
    name: String,
    #[serde(rename = "type")]
    key_type: KeyType,
    versions: BTreeMap<u32, KeyVersion>,
    latest_version: u32,
    min_decryption_version: u32,
    min_encryption_version: u32,
    /// Versions below this were trimmed (deleted for good); 0 = never trimmed.
    #[serde(default)]
    min_available_version: u32,
    deletion_allowed: bool,
    exportable: bool,
    allow_plaintext_backup: bool,
    derived: bool,
    convergent_encryption: bool,
    auto_rotate_period: u64,
}

/// Changes to a key's settings (Vault's `transit/keys/:name/config`). `None` leaves a field as
/// is. Deserialises from the request body, JSON nulls included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct KeyConfigUpdate {
    pub min_decryption_version: Option<u32>,
    pub min_encryption_version: Option<u32>,
    pub deletion_allowed: Option<bool>,
    pub exportable: Option<bool>,
    pub allow_plaintext_backup: Option<bool>,
    /// Seconds (JSON number, or a duration string such as `"24h"`).
    #[serde(deserialize_with = "crate::request::duration_secs")]
    pub auto_rotate_period: Option<u64>,
}

/// What `export` can return (Vault's `transit/export/:type/:name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    EncryptionKey,
    SigningKey,
    HmacKey,
    PublicKey,
}

impl ExportKind {
    /// Parses the URL segment (`encryption-key`, `signing-key`, `hmac-key`, `public-key`).
    pub fn parse(s: &str) -> Option<ExportKind> {
        Some(match s {
            "encryption-key" => ExportKind::EncryptionKey,
            "signing-key" => ExportKind::SigningKey,
            "hmac-key" => ExportKind::HmacKey,
            "public-key" => ExportKind::PublicKey,
            _ => return None,
        })
    }

    const fn as_str(self) -> &'static str {
        match self {
            ExportKind::EncryptionKey => "encryption-key",
            ExportKind::SigningKey => "signing-key",
            ExportKind::HmacKey => "hmac-key",
            ExportKind::PublicKey => "public-key",
        }
    }
}

impl Key {
    /// Creates a key with version 1.
    pub fn create(name: &str, opts: KeyOptions) -> Result<Key, TransitError> {
        if opts.derived && !opts.key_type.supports_derivation() {
            return Err(TransitError::DerivationNotSupported(opts.key_type));
        }
        if opts.convergent_encryption && (!opts.derived || !opts.key_type.supports_encryption()) {
            return Err(TransitError::ConvergentNotSupported);
        }
        crate::request::check_auto_rotate_period(opts.auto_rotate_period)?;
        let mut versions = BTreeMap::new();
        versions.insert(1, KeyVersion::generate(opts.key_type));
        Ok(Key {
            name: name.to_owned(),
            key_type: opts.key_type,
            versions,
            latest_version: 1,
            min_decryption_version: 1,
            min_encryption_version: 0,
            min_available_version: 0,
            deletion_allowed: false,
            exportable: opts.exportable,
            allow_plaintext_backup: opts.allow_plaintext_backup,
            derived: opts.derived,
            convergent_encryption: opts.convergent_encryption,
            auto_rotate_period: opts.auto_rotate_period,
        })
    }

    /// Adds a new latest version; older versions stay usable for decryption/verification.
    pub fn rotate(&mut self) -> Result<u32, TransitError> {
        let next = self
            .latest_version
            .checked_add(1)
            .ok_or(TransitError::InvalidConfig("key version limit reached"))?;
        self.versions.insert(next, KeyVersion::generate(self.key_type));
        self.latest_version = next;
        Ok(next)
    }

    /// Applies a configuration change with Vault's validation; on error nothing changes.
    pub fn configure(&mut self, update: &KeyConfigUpdate) -> Result<(), TransitError> {
        let mut min_dec = self.min_decryption_version;
        let mut min_enc = self.min_encryption_version;
        if let Some(v) = update.min_decryption_version {
            // Versions start at 1; Vault forces 0 up to 1.
            let v = v.max(1);
            if v > self.latest_version {
                return Err(TransitError::InvalidConfig(
                    "min_decryption_version cannot be greater than the latest key version",
                ));
            }
            min_dec = v;
        }
        if let Some(v) = update.min_encryption_version {
            if v > self.latest_version {
                return Err(TransitError::InvalidConfig(
                    "min_encryption_version cannot be greater than the latest key version",
                ));
            }
            min_enc = v;
        }
        if min_enc > 0 && min_enc < min_dec {
            return Err(TransitError::InvalidConfig(
                "min_encryption_version must be greater than or equal to min_decryption_version",
            ));
        }
        if let Some(period) = update.auto_rotate_period {
            crate::request::check_auto_rotate_period(period)?;
        }
        if update.exportable == Some(false) && self.exportable {
            return Err(TransitError::InvalidConfig(
                "export cannot be disabled on a key that already has it enabled",
            ));
        }
        if update.allow_plaintext_backup == Some(false) && self.allow_plaintext_backup {
            return Err(TransitError::InvalidConfig(
                "plaintext backup cannot be disabled on a key that already has it enabled",
            ));
        }
        self.min_decryption_version = min_dec;
        self.min_encryption_version = min_enc;
        if let Some(v) = update.deletion_allowed {
            self.deletion_allowed = v;
        }
        if let Some(v) = update.exportable {
            self.exportable = v;
        }
        if let Some(v) = update.allow_plaintext_backup {
            self.allow_plaintext_backup = v;
        }
        if let Some(v) = update.auto_rotate_period {
            self.auto_rotate_period = v;
        }
        Ok(())
    }

    /// Permanently deletes versions below `min_available_version` (Vault's `trim`). Allowed only
    /// up to the minimum decryption (and, if set, encryption) version, and never backwards.
    pub fn trim(&mut self, min_available_version: u32) -> Result<(), TransitError> {
        let problem = if min_available_version == 0 {
            Some("minimum available version should be positive")
        } else if min_available_version < self.min_available_version {
            Some("minimum available version cannot be decremented")
        } else if self.min_encryption_version != 0
            && min_available_version > self.min_encryption_version
        {
            Some("cannot set minimum available version greater than minimum encryption version")
        } else if min_available_version > self.min_decryption_version {
            Some("cannot set minimum available version greater than minimum decryption version")
        } else {
            None
        };
        if let Some(reason) = problem {
            return Err(TransitError::InvalidConfig(reason));
        }
        self.versions.retain(|v, _| *v >= min_available_version);
        self.min_available_version = min_available_version;
        Ok(())
    }

    pub fn min_available_version(&self) -> u32 {
        self.min_available_version
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }
    pub fn latest_version(&self) -> u32 {
        self.latest_version
    }
    pub fn min_decryption_version(&self) -> u32 {
        self.min_decryption_version
    }
    pub fn min_encryption_version(&self) -> u32 {
        self.min_encryption_version
    }
    pub fn deletion_allowed(&self) -> bool {
        self.deletion_allowed
    }
    pub fn exportable(&self) -> bool {
        self.exportable
    }
    pub fn allow_plaintext_backup(&self) -> bool {
        self.allow_plaintext_backup
    }
    pub fn derived(&self) -> bool {
        self.derived
    }
    pub fn convergent_encryption(&self) -> bool {
        self.convergent_encryption
    }
    pub fn auto_rotate_period(&self) -> u64 {
        self.auto_rotate_period
    }

    /// The version to encrypt/sign/HMAC with: latest unless a specific one is requested
    /// (0 also means latest), bounded by `min_encryption_version`.
    pub(crate) fn encryption_version(
        &self,
        requested: Option<u32>,
    ) -> Result<(u32, &KeyVersion), TransitError> {
        let version = match requested {
            None | Some(0) => self.latest_version,
            Some(v) if v > self.latest_version => {
                return Err(TransitError::VersionTooNew {
                    requested: v,
                    latest: self.latest_version,
                })
            }
            Some(v) if self.min_encryption_version > 0 && v < self.min_encryption_version => {
                return Err(TransitError::BelowMinEncryptionVersion)
            }
            Some(v) => v,
        };
        let material = self.versions.get(&version).ok_or(TransitError::InvalidVersion(version))?;
        Ok((version, material))
    }

    /// The version a ciphertext/signature/HMAC names, if policy still allows using it.
    pub(crate) fn decryption_version(&self, version: u32) -> Result<&KeyVersion, TransitError> {
        if version == 0 {
            return Err(TransitError::InvalidVersion(0));
        }
        if version > self.latest_version {
            return Err(TransitError::VersionTooNew {
                requested: version,
                latest: self.latest_version,
            });
        }
        if version < self.min_decryption_version {
            return Err(TransitError::VersionTooOld);
        }
        self.versions.get(&version).ok_or(TransitError::InvalidVersion(version))
    }

    /// The context to derive with, enforcing that derived keys get one.
    pub(crate) fn require_context<'c>(
        &self,
        context: Option<&'c [u8]>,
    ) -> Result<Option<&'c [u8]>, TransitError> {
        if !self.derived {
            return Ok(None);
        }
        match context {
            Some(c) if !c.is_empty() => Ok(Some(c)),
            _ => Err(TransitError::MissingContext),
        }
    }

    pub(crate) fn versions(&self) -> impl Iterator<Item = (u32, &KeyVersion)> {
        self.versions.iter().map(|(v, k)| (*v, k))
    }

    /// Exported key material per version (all versions, or just `version`). Public keys are
    /// available for signing keys regardless of `exportable`; everything else requires it.
    pub fn export(
        &self,
        kind: ExportKind,
        version: Option<u32>,
    ) -> Result<BTreeMap<u32, Zeroizing<String>>, TransitError> {
        let type_ok = match kind {
            ExportKind::EncryptionKey => self.key_type.supports_encryption(),
            ExportKind::SigningKey | ExportKind::PublicKey => self.key_type.supports_signing(),
            ExportKind::HmacKey => true,
        };
        if !type_ok {
            return Err(TransitError::InvalidExportType(kind.as_str(), self.key_type));
        }
        if kind != ExportKind::PublicKey && !self.exportable {
            return Err(TransitError::NotExportable);
        }
        let mut out = BTreeMap::new();
        for (v, material) in self.versions() {
            if version.is_some_and(|want| want != v) {
                continue;
            }
            let text = match kind {
                ExportKind::EncryptionKey => crate::export::b64(material.key_bytes()),
                ExportKind::HmacKey => crate::export::b64(material.hmac_key()),
                ExportKind::SigningKey => crate::export::private_key(self.key_type, material)?,
                ExportKind::PublicKey => {
                    Zeroizing::new(crate::export::public_key(self.key_type, material)?)
                }
            };
            out.insert(v, text);
        }
        if let Some(v) = version {
            if out.is_empty() {
                return Err(TransitError::InvalidVersion(v));
            }
        }
        Ok(out)
    }
}
