//! HMAC generation and verification with each version's dedicated HMAC key (separate from the
//! encryption/signing key, as in Vault, so HMACs work for every key type).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use crate::envelope;
use crate::{HashAlgorithm, Key, TransitError};

fn compute(key: &[u8], algorithm: HashAlgorithm, input: &[u8]) -> Result<Vec<u8>, TransitError> {
    macro_rules! mac {
        ($h:ty) => {{
            let mut m = <Hmac<$h> as Mac>::new_from_slice(key)
                .map_err(|_| TransitError::Internal("hmac key"))?;
            m.update(input);
            m.finalize().into_bytes().to_vec()
        }};
    }
    Ok(match algorithm {
        HashAlgorithm::Sha2_224 => mac!(Sha224),
        HashAlgorithm::Sha2_256 => mac!(Sha256),
        HashAlgorithm::Sha2_384 => mac!(Sha384),
        HashAlgorithm::Sha2_512 => mac!(Sha512),
    })
}

impl Key {
    /// `vault:vN:base64(HMAC(input))` with the chosen (or latest) version.
    pub fn hmac(
        &self,
        input: &[u8],
        algorithm: HashAlgorithm,
        key_version: Option<u32>,
    ) -> Result<String, TransitError> {
        let (version, material) = self.encryption_version(key_version)?;
        let mac = compute(material.hmac_key(), algorithm, input)?;
        Ok(envelope::format_std(version, &mac))
    }

    /// Constant-time check of an HMAC produced by [`Key::hmac`]. `Ok(false)` on mismatch;
    /// errors for malformed input or a version policy forbids.
    pub fn verify_hmac(
        &self,
        input: &[u8],
        hmac: &str,
        algorithm: HashAlgorithm,
    ) -> Result<bool, TransitError> {
        let (version, payload) = envelope::parse(hmac).map_err(TransitError::InvalidHmac)?;
        let material = self.decryption_version(version)?;
        let given = STANDARD.decode(payload).map_err(|_| TransitError::InvalidBase64("hmac"))?;
        let expected = compute(material.hmac_key(), algorithm, input)?;
        Ok(expected.ct_eq(&given).into())
    }
}
