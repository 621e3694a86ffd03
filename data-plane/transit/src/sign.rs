//! Signing and verification with ed25519 and ECDSA P-256 keys.
//!
//! ed25519 signs the message itself (hash settings do not apply; derived keys sign with a
//! per-context key). P-256 signs a SHA-2 digest of the input (or the input itself when
//! `prehashed`). Signatures are `vault:vN:` + base64; `asn1` marshaling is DER, `jws` is the
//! fixed 64-byte r||s in unpadded base64url, as Vault does.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ed25519_dalek::{Signer, Verifier};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};

use crate::envelope;
use crate::material::Engine;
use crate::{HashAlgorithm, Key, TransitError};

/// Signature encoding (Vault's `marshaling_algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Marshaling {
    #[default]
    Asn1,
    Jws,
}

impl Marshaling {
    /// Parses Vault's names; empty means the default (`asn1`).
    pub fn parse(s: &str) -> Result<Marshaling, TransitError> {
        match s {
            "" | "asn1" => Ok(Marshaling::Asn1),
            "jws" => Ok(Marshaling::Jws),
            _ => Err(TransitError::UnsupportedMarshaling(s.to_owned())),
        }
    }
}

/// Options for [`Key::sign`] and [`Key::verify`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SignParams<'a> {
    /// Signing only: `None`/0 = latest. (Verification uses the signature's version.)
    pub key_version: Option<u32>,
    pub hash_algorithm: HashAlgorithm,
    pub prehashed: bool,
    pub marshaling: Marshaling,
    /// Required for derived (ed25519) keys.
    pub context: Option<&'a [u8]>,
}

impl Key {
    fn check_signing_supported(&self) -> Result<(), TransitError> {
        if self.key_type().supports_signing() {
            Ok(())
        } else {
            Err(TransitError::UnsupportedOperation {
                key_type: self.key_type(),
                operation: "signing",
            })
        }
    }

    /// Signs `input`, returning `vault:vN:<signature>`.
    pub fn sign(&self, input: &[u8], p: &SignParams<'_>) -> Result<String, TransitError> {
        self.check_signing_supported()?;
        let context = self.require_context(p.context)?;
        let (version, material) = self.encryption_version(p.key_version)?;
        let derived;
        let engine = match context {
            Some(c) => {
                derived = material.derived_engine(self.key_type(), c)?;
                &derived
            }
            None => material.engine(self.key_type())?,
        };
        let sig: Vec<u8> = match engine {
            Engine::Ed25519(sk) => {
                if p.prehashed {
                    return Err(TransitError::UnsupportedOperation {
                        key_type: self.key_type(),
                        operation: "prehashed signing",
                    });
                }
                sk.sign(input).to_bytes().to_vec()
            }
            Engine::P256(sk) => {
                let digest =
                    if p.prehashed { input.to_vec() } else { p.hash_algorithm.digest(input) };
                let sig: p256::ecdsa::Signature = sk.sign_prehash(&digest).map_err(|_| {
                    TransitError::InvalidSignature("prehashed input has an invalid length")
                })?;
                match p.marshaling {
                    Marshaling::Asn1 => sig.to_der().as_bytes().to_vec(),
                    Marshaling::Jws => sig.to_bytes().to_vec(),
                }
            }
            _ => return Err(TransitError::Internal("non-signing engine for signing key")),
        };
        Ok(match p.marshaling {
            Marshaling::Asn1 => envelope::format_std(version, &sig),
            Marshaling::Jws => envelope::format(version, &sig, &URL_SAFE_NO_PAD),
        })
    }

    /// Verifies a signature from [`Key::sign`]. `Ok(false)` when it does not match; errors for
    /// malformed signatures or versions policy forbids.
    pub fn verify(
        &self,
        input: &[u8],
        signature: &str,
        p: &SignParams<'_>,
    ) -> Result<bool, TransitError> {
        self.check_signing_supported()?;
        let context = self.require_context(p.context)?;
        let (version, payload) =
            envelope::parse(signature).map_err(TransitError::InvalidSignature)?;
        let material = self.decryption_version(version)?;
        let sig = match p.marshaling {
            Marshaling::Asn1 => STANDARD.decode(payload),
            Marshaling::Jws => URL_SAFE_NO_PAD.decode(payload),
        }
        .map_err(|_| TransitError::InvalidBase64("signature"))?;
        let derived;
        let engine = match context {
            Some(c) => {
                derived = material.derived_engine(self.key_type(), c)?;
                &derived
            }
            None => material.engine(self.key_type())?,
        };
        match engine {
            Engine::Ed25519(sk) => {
                if p.prehashed {
                    return Err(TransitError::UnsupportedOperation {
                        key_type: self.key_type(),
                        operation: "prehashed signing",
                    });
                }
                let sig = ed25519_dalek::Signature::from_slice(&sig)
                    .map_err(|_| TransitError::InvalidSignature("wrong length"))?;
                Ok(sk.verifying_key().verify(input, &sig).is_ok())
            }
            Engine::P256(sk) => {
                let sig = match p.marshaling {
                    Marshaling::Asn1 => p256::ecdsa::Signature::from_der(&sig),
                    Marshaling::Jws => p256::ecdsa::Signature::from_slice(&sig),
                }
                .map_err(|_| TransitError::InvalidSignature("supplied signature is invalid"))?;
                let digest =
                    if p.prehashed { input.to_vec() } else { p.hash_algorithm.digest(input) };
                Ok(sk.verifying_key().verify_prehash(&digest, &sig).is_ok())
            }
            _ => Err(TransitError::Internal("non-signing engine for signing key")),
        }
    }

    /// The public key of `version` (latest by default) of a non-derived signing key: base64 for
    /// ed25519, PEM (SPKI) for P-256.
    pub fn public_key(&self, version: Option<u32>) -> Result<String, TransitError> {
        self.check_signing_supported()?;
        if self.derived() {
            return Err(TransitError::MissingContext);
        }
        let (_, material) = self.encryption_version(version)?;
        crate::export::public_key(self.key_type(), material)
    }
}
