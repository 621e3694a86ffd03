//! One version of a named key: its secret material, its HMAC key, and a lazily built cipher or
//! signing key cached for the version's lifetime.
//!
//! The cache is why this is a type of its own: building an AES key schedule (or decoding a P-256
//! scalar) per request would dominate a small encrypt, so the first use builds it and later
//! requests reuse it. Derived (per-context) keys cannot be cached and are built per call.
//! Secrets are zeroized on drop and never appear in `Debug`.

use std::fmt;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aes_gcm::{Aes256Gcm, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{KeyType, TransitError};

/// Secret bytes as they are persisted (base64 in the serialised key).
pub(crate) type Secret = Zeroizing<Vec<u8>>;

/// A ready-to-use primitive for one key version (or one derived key).
#[derive(Clone)]
pub(crate) enum Engine {
    Aes(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
    Ed25519(Box<ed25519_dalek::SigningKey>),
    P256(Box<p256::ecdsa::SigningKey>),
}

impl Engine {
    /// Builds the primitive for `key_type` from 32 bytes of key material.
    pub(crate) fn build(key_type: KeyType, key: &[u8]) -> Result<Engine, TransitError> {
        const BAD: TransitError =
            TransitError::Internal("stored key material has the wrong length");
        Ok(match key_type {
            KeyType::Aes256Gcm96 => {
                Engine::Aes(Box::new(Aes256Gcm::new_from_slice(key).map_err(|_| BAD)?))
            }
            KeyType::ChaCha20Poly1305 => {
                Engine::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).map_err(|_| BAD)?))
            }
            KeyType::Ed25519 => {
                let seed: &[u8; 32] = key.try_into().map_err(|_| BAD)?;
                Engine::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(seed)))
            }
            KeyType::EcdsaP256 => Engine::P256(Box::new(
                p256::ecdsa::SigningKey::from_slice(key)
                    .map_err(|_| TransitError::Internal("stored P-256 scalar is invalid"))?,
            )),
        })
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct KeyVersion {
    #[serde(with = "secret_b64")]
    key: Secret,
    #[serde(with = "secret_b64")]
    hmac_key: Secret,
    /// Unix seconds.
    pub(crate) creation_time: u64,
    #[serde(skip)]
    engine: OnceLock<Engine>,
}

impl fmt::Debug for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyVersion")
            .field("key", &"[redacted]")
            .field("hmac_key", &"[redacted]")
            .field("creation_time", &self.creation_time)
            .finish()
    }
}

/// Domain-separation labels for HKDF so the same version key never yields the same subkey for
/// two purposes.
#[derive(Clone, Copy)]
pub(crate) enum Purpose {
    Encryption,
    ConvergentNonce,
    Signing,
}

impl Purpose {
    const fn label(self) -> &'static [u8] {
        match self {
            Purpose::Encryption => b"coffer-transit/enc\x00",
            Purpose::ConvergentNonce => b"coffer-transit/nonce\x00",
            Purpose::Signing => b"coffer-transit/sign\x00",
        }
    }
}

impl KeyVersion {
    pub(crate) fn generate(key_type: KeyType) -> KeyVersion {
        let mut rng = rand::rngs::OsRng;
        let key = match key_type {
            KeyType::EcdsaP256 => {
                Zeroizing::new(p256::SecretKey::random(&mut rng).to_bytes().to_vec())
            }
            _ => random_secret(32),
        };
        KeyVersion {
            key,
            hmac_key: random_secret(32),
            creation_time: now_unix(),
            engine: OnceLock::new(),
        }
    }

    /// The cached primitive for this version, built on first use.
    pub(crate) fn engine(&self, key_type: KeyType) -> Result<&Engine, TransitError> {
        if let Some(engine) = self.engine.get() {
            return Ok(engine);
        }
        let built = Engine::build(key_type, &self.key)?;
        // A concurrent first use may have won the race; either value is identical.
        let _ = self.engine.set(built);
        self.engine.get().ok_or(TransitError::Internal("engine cache"))
    }

    /// A primitive for a context-derived key (HKDF-SHA256 over the version key).
    pub(crate) fn derived_engine(
        &self,
        key_type: KeyType,
        context: &[u8],
    ) -> Result<Engine, TransitError> {
        let purpose =
            if key_type.supports_signing() { Purpose::Signing } else { Purpose::Encryption };
        let derived = self.derive(purpose, context)?;
        Engine::build(key_type, derived.as_slice())
    }

    pub(crate) fn derive(
        &self,
        purpose: Purpose,
        context: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, TransitError> {
        let hk = Hkdf::<Sha256>::new(Some(b"coffer-transit-derivation-v1"), &self.key);
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand_multi_info(&[purpose.label(), context], out.as_mut())
            .map_err(|_| TransitError::Internal("hkdf expand"))?;
        Ok(out)
    }

    pub(crate) fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    pub(crate) fn hmac_key(&self) -> &[u8] {
        &self.hmac_key
    }
}

fn random_secret(len: usize) -> Secret {
    let mut v = Zeroizing::new(vec![0u8; len]);
    rand::rngs::OsRng.fill_bytes(&mut v);
    v
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Base64 (standard) serde for secret bytes, zeroizing the intermediate text.
mod secret_b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    use super::Secret;

    pub(super) fn serialize<S: Serializer>(v: &Secret, s: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(STANDARD.encode(v.as_slice()));
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        STANDARD
            .decode(text.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| serde::de::Error::custom("invalid base64 key material"))
    }
}
