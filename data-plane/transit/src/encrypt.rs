//! Authenticated encryption with the symmetric key types: encrypt, decrypt, rewrap, datakey.
//!
//! Ciphertext is `vault:v<N>:base64(nonce || ciphertext || tag)` with a 96-bit nonce, random
//! unless the key is convergent, in which case it is an HMAC of the plaintext (and associated
//! data) under a context-derived key, so equal inputs give equal ciphertexts (Vault's
//! convergence v3 idea). The hot path does two allocations: the sealed buffer and its text.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::Nonce;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::envelope;
use crate::material::{Engine, KeyVersion, Purpose};
use crate::{Key, TransitError};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Optional inputs to [`Key::encrypt`].
#[derive(Debug, Clone, Copy, Default)]
pub struct EncryptParams<'a> {
    /// Required for derived keys; ignored otherwise (as in Vault).
    pub context: Option<&'a [u8]>,
    /// Accepted for convergent keys (ignored: the nonce is derived); refused otherwise.
    pub nonce: Option<&'a [u8]>,
    /// `None`/0 = latest.
    pub key_version: Option<u32>,
    /// Authenticated but not encrypted; must be given again to decrypt.
    pub associated_data: Option<&'a [u8]>,
}

/// Optional inputs to [`Key::decrypt`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DecryptParams<'a> {
    pub context: Option<&'a [u8]>,
    pub associated_data: Option<&'a [u8]>,
}

/// A ciphertext and the key version that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    pub ciphertext: String,
    pub key_version: u32,
}

/// Whether `datakey` returns the plaintext key too (Vault's `plaintext` vs `wrapped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKeyKind {
    Plaintext,
    Wrapped,
}

impl DataKeyKind {
    pub fn parse(s: &str) -> Option<DataKeyKind> {
        match s {
            "plaintext" => Some(DataKeyKind::Plaintext),
            "wrapped" => Some(DataKeyKind::Wrapped),
            _ => None,
        }
    }
}

/// A freshly generated data key.
#[derive(Clone)]
pub struct DataKey {
    pub ciphertext: String,
    pub key_version: u32,
    /// Present for [`DataKeyKind::Plaintext`].
    pub plaintext: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("ciphertext", &self.ciphertext)
            .field("key_version", &self.key_version)
            .field("plaintext", &self.plaintext.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A primitive that is either the version's cached one or a per-call derived one.
enum EngineRef<'a> {
    Cached(&'a Engine),
    Derived(Engine),
}

impl EngineRef<'_> {
    fn get(&self) -> &Engine {
        match self {
            EngineRef::Cached(e) => e,
            EngineRef::Derived(e) => e,
        }
    }
}

impl Key {
    fn check_encryption_supported(&self) -> Result<(), TransitError> {
        if self.key_type().supports_encryption() {
            Ok(())
        } else {
            Err(TransitError::UnsupportedOperation {
                key_type: self.key_type(),
                operation: "encryption",
            })
        }
    }

    fn engine_for<'a>(
        &self,
        material: &'a KeyVersion,
        context: Option<&[u8]>,
    ) -> Result<EngineRef<'a>, TransitError> {
        Ok(match context {
            Some(c) => EngineRef::Derived(material.derived_engine(self.key_type(), c)?),
            None => EngineRef::Cached(material.engine(self.key_type())?),
        })
    }

    /// Encrypts `plaintext` (raw bytes; the server base64-decodes the request field).
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        p: &EncryptParams<'_>,
    ) -> Result<Encrypted, TransitError> {
        self.check_encryption_supported()?;
        let context = self.require_context(p.context)?;
        if !self.convergent_encryption() && p.nonce.is_some_and(|n| !n.is_empty()) {
            return Err(TransitError::InvalidNonce("provided nonce not allowed for this key"));
        }
        let (version, material) = self.encryption_version(p.key_version)?;
        let aad = p.associated_data.unwrap_or_default();

        let mut nonce = [0u8; NONCE_LEN];
        if self.convergent_encryption() {
            // Convergent keys are always derived, so a context is present.
            let nonce_key =
                material.derive(Purpose::ConvergentNonce, context.unwrap_or_default())?;
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(nonce_key.as_ref())
                .map_err(|_| TransitError::Internal("hmac key"))?;
            mac.update(&(aad.len() as u64).to_be_bytes());
            mac.update(aad);
            mac.update(plaintext);
            nonce.copy_from_slice(&mac.finalize().into_bytes()[..NONCE_LEN]);
        } else {
            rand::thread_rng().fill_bytes(&mut nonce);
        }

        let engine = self.engine_for(material, context)?;
        let mut buf = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(plaintext);
        let n = Nonce::from_slice(&nonce);
        let tag = match engine.get() {
            Engine::Aes(c) => c.encrypt_in_place_detached(n, aad, &mut buf[NONCE_LEN..]),
            Engine::ChaCha(c) => c.encrypt_in_place_detached(n, aad, &mut buf[NONCE_LEN..]),
            _ => return Err(TransitError::Internal("non-AEAD engine for encryption key")),
        }
        .map_err(|_| TransitError::Internal("encryption failed"))?;
        buf.extend_from_slice(&tag);
        Ok(Encrypted { ciphertext: envelope::format_std(version, &buf), key_version: version })
    }

    /// Decrypts a `vault:vN:` ciphertext, returning the raw plaintext.
    pub fn decrypt(
        &self,
        ciphertext: &str,
        p: &DecryptParams<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, TransitError> {
        self.check_encryption_supported()?;
        let context = self.require_context(p.context)?;
        let (version, payload) =
            envelope::parse(ciphertext).map_err(TransitError::InvalidCiphertext)?;
        let material = self.decryption_version(version)?;
        let mut buf = Zeroizing::new(
            STANDARD.decode(payload).map_err(|_| TransitError::InvalidBase64("ciphertext"))?,
        );
        if buf.len() < NONCE_LEN + TAG_LEN {
            return Err(TransitError::InvalidCiphertext("too short"));
        }
        let engine = self.engine_for(material, context)?;
        let aad = p.associated_data.unwrap_or_default();
        let body_end = buf.len() - TAG_LEN;
        let (nonce, rest) = buf.split_at_mut(NONCE_LEN);
        let (body, tag) = rest.split_at_mut(body_end - NONCE_LEN);
        let n = Nonce::from_slice(nonce);
        let t = aes_gcm::Tag::from_slice(tag);
        match engine.get() {
            Engine::Aes(c) => c.decrypt_in_place_detached(n, aad, body, t),
            Engine::ChaCha(c) => c.decrypt_in_place_detached(n, aad, body, t),
            _ => return Err(TransitError::Internal("non-AEAD engine for encryption key")),
        }
        .map_err(|_| TransitError::DecryptionFailed)?;
        buf.copy_within(NONCE_LEN..body_end, 0);
        buf.truncate(body_end - NONCE_LEN);
        Ok(buf)
    }

    /// Decrypts and re-encrypts under `key_version` (latest by default), so callers can move
    /// old ciphertexts forward without seeing the plaintext.
    pub fn rewrap(
        &self,
        ciphertext: &str,
        context: Option<&[u8]>,
        key_version: Option<u32>,
    ) -> Result<Encrypted, TransitError> {
        let plaintext =
            self.decrypt(ciphertext, &DecryptParams { context, associated_data: None })?;
        self.encrypt(
            &plaintext,
            &EncryptParams { context, nonce: None, key_version, associated_data: None },
        )
    }

    /// Generates a random data key of `bits` (128, 256 or 512) encrypted under this key.
    pub fn datakey(
        &self,
        kind: DataKeyKind,
        bits: u32,
        p: &EncryptParams<'_>,
    ) -> Result<DataKey, TransitError> {
        if !matches!(bits, 128 | 256 | 512) {
            return Err(TransitError::InvalidBits(bits));
        }
        let mut key = Zeroizing::new(vec![0u8; (bits / 8) as usize]);
        rand::rngs::OsRng.fill_bytes(&mut key);
        let sealed = self.encrypt(&key, p)?;
        Ok(DataKey {
            ciphertext: sealed.ciphertext,
            key_version: sealed.key_version,
            plaintext: (kind == DataKeyKind::Plaintext).then_some(key),
        })
    }
}
