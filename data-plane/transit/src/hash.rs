//! Hash algorithm names shared by HMAC and signing (Vault's `algorithm`/`hash_algorithm`).

use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use crate::TransitError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashAlgorithm {
    Sha2_224,
    #[default]
    Sha2_256,
    Sha2_384,
    Sha2_512,
}

impl HashAlgorithm {
    /// Parses Vault's names; an empty string means the default (sha2-256).
    pub fn parse(s: &str) -> Result<HashAlgorithm, TransitError> {
        Ok(match s {
            "" | "sha2-256" => HashAlgorithm::Sha2_256,
            "sha2-224" => HashAlgorithm::Sha2_224,
            "sha2-384" => HashAlgorithm::Sha2_384,
            "sha2-512" => HashAlgorithm::Sha2_512,
            _ => return Err(TransitError::UnsupportedHash(s.to_owned())),
        })
    }

    /// Hashes `input` (used by ECDSA signing of non-prehashed input).
    pub(crate) fn digest(self, input: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha2_224 => Sha224::digest(input).to_vec(),
            HashAlgorithm::Sha2_256 => Sha256::digest(input).to_vec(),
            HashAlgorithm::Sha2_384 => Sha384::digest(input).to_vec(),
            HashAlgorithm::Sha2_512 => Sha512::digest(input).to_vec(),
        }
    }
}
