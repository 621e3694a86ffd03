//! Text encodings of key material for export and for the public keys shown when reading a
//! signing key. Formats follow Vault: base64 for raw symmetric/HMAC/ed25519 keys, PEM for P-256
//! (SEC1 `EC PRIVATE KEY` for the private key, SPKI `PUBLIC KEY` for the public one).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use zeroize::Zeroizing;

use crate::material::{Engine as Primitive, KeyVersion};
use crate::{KeyType, TransitError};

pub(crate) fn b64(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(STANDARD.encode(bytes))
}

pub(crate) fn private_key(
    key_type: KeyType,
    material: &KeyVersion,
) -> Result<Zeroizing<String>, TransitError> {
    match material.engine(key_type)? {
        Primitive::Ed25519(sk) => Ok(b64(Zeroizing::new(sk.to_keypair_bytes()).as_slice())),
        Primitive::P256(sk) => {
            let secret = p256::SecretKey::from(sk.as_nonzero_scalar());
            secret
                .to_sec1_pem(LineEnding::LF)
                .map(|pem| Zeroizing::new(pem.as_str().to_owned()))
                .map_err(|_| TransitError::Internal("sec1 encoding"))
        }
        _ => Err(TransitError::InvalidExportType("signing-key", key_type)),
    }
}

pub(crate) fn public_key(key_type: KeyType, material: &KeyVersion) -> Result<String, TransitError> {
    match material.engine(key_type)? {
        Primitive::Ed25519(sk) => Ok(STANDARD.encode(sk.verifying_key().as_bytes())),
        Primitive::P256(sk) => sk
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| TransitError::Internal("spki encoding")),
        _ => Err(TransitError::InvalidExportType("public-key", key_type)),
    }
}
