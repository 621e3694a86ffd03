//! Supported key types and what each can do. Names are Vault's `type` strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::TransitError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyType {
    #[serde(rename = "aes256-gcm96")]
    Aes256Gcm96,
    #[serde(rename = "chacha20-poly1305")]
    ChaCha20Poly1305,
    #[serde(rename = "ed25519")]
    Ed25519,
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
}

impl KeyType {
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyType::Aes256Gcm96 => "aes256-gcm96",
            KeyType::ChaCha20Poly1305 => "chacha20-poly1305",
            KeyType::Ed25519 => "ed25519",
            KeyType::EcdsaP256 => "ecdsa-p256",
        }
    }

    pub const fn supports_encryption(self) -> bool {
        matches!(self, KeyType::Aes256Gcm96 | KeyType::ChaCha20Poly1305)
    }

    pub const fn supports_signing(self) -> bool {
        matches!(self, KeyType::Ed25519 | KeyType::EcdsaP256)
    }

    pub const fn supports_derivation(self) -> bool {
        matches!(self, KeyType::Aes256Gcm96 | KeyType::ChaCha20Poly1305 | KeyType::Ed25519)
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyType {
    type Err = TransitError;

    fn from_str(s: &str) -> Result<KeyType, TransitError> {
        Ok(match s {
            "aes256-gcm96" => KeyType::Aes256Gcm96,
            "chacha20-poly1305" => KeyType::ChaCha20Poly1305,
            "ed25519" => KeyType::Ed25519,
            "ecdsa-p256" => KeyType::EcdsaP256,
            _ => return Err(TransitError::UnknownKeyType(s.to_owned())),
        })
    }
}
