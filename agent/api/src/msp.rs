//! Operator (MSP) policy bundles: a versioned set of the reserved `coffer-*` policies, signed by
//! the control plane with Ed25519. Nodes learn the public key from their bootstrap document and
//! apply a bundle only if its signature verifies and its version is newer than the last one
//! they applied, so neither a forged nor a replayed bundle changes a cluster's policies.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Only policies with this prefix may be carried by a bundle: it never touches customer policies.
pub const RESERVED_PREFIX: &str = "coffer-";
const MAX_POLICIES: usize = 32;
const MAX_POLICY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MspError {
    #[error("the bundle public key is not a base64 Ed25519 key")]
    BadKey,
    #[error("the bundle is not valid base64/JSON")]
    Malformed,
    #[error("the bundle signature does not verify")]
    Signature,
    #[error("policy {0:?} is not a reserved coffer-* policy")]
    NotReserved(String),
    #[error("the bundle carries no policies, too many, or an oversized one")]
    Size,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MspBundle {
    pub version: u64,
    /// Unix seconds.
    pub issued_at: i64,
    /// Policy name -> HCL.
    pub policies: BTreeMap<String, String>,
}

/// A bundle as published: the exact signed bytes (base64 JSON) and the signature over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedBundle {
    pub payload: String,
    pub signature: String,
}

impl MspBundle {
    pub fn validate(&self) -> Result<(), MspError> {
        if self.policies.is_empty() || self.policies.len() > MAX_POLICIES {
            return Err(MspError::Size);
        }
        for (name, hcl) in &self.policies {
            let ok_name = name.len() > RESERVED_PREFIX.len()
                && name.starts_with(RESERVED_PREFIX)
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok_name {
                return Err(MspError::NotReserved(name.clone()));
            }
            if hcl.len() > MAX_POLICY_BYTES {
                return Err(MspError::Size);
            }
        }
        Ok(())
    }
}

impl SignedBundle {
    pub fn sign(bundle: &MspBundle, key: &SigningKey) -> Result<SignedBundle, MspError> {
        bundle.validate()?;
        let bytes = serde_json::to_vec(bundle).map_err(|_| MspError::Malformed)?;
        let sig = key.sign(&bytes);
        Ok(SignedBundle { payload: B64.encode(&bytes), signature: B64.encode(sig.to_bytes()) })
    }

    /// Checks the signature with `public_key_b64`, then parses and validates the bundle.
    pub fn verify(&self, public_key_b64: &str) -> Result<MspBundle, MspError> {
        let key = decode_public_key(public_key_b64)?;
        let bytes = B64.decode(&self.payload).map_err(|_| MspError::Malformed)?;
        let sig = B64.decode(&self.signature).map_err(|_| MspError::Malformed)?;
        let sig = Signature::from_slice(&sig).map_err(|_| MspError::Malformed)?;
        key.verify(&bytes, &sig).map_err(|_| MspError::Signature)?;
        let bundle: MspBundle = serde_json::from_slice(&bytes).map_err(|_| MspError::Malformed)?;
        bundle.validate()?;
        Ok(bundle)
    }
}

/// The base64 form of a verifying key, as it goes into bootstrap documents.
pub fn public_key_b64(key: &SigningKey) -> String {
    B64.encode(key.verifying_key().as_bytes())
}

pub fn decode_public_key(b64: &str) -> Result<VerifyingKey, MspError> {
    let bytes = B64.decode(b64).map_err(|_| MspError::BadKey)?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| MspError::BadKey)?;
    VerifyingKey::from_bytes(&arr).map_err(|_| MspError::BadKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(names: &[&str]) -> MspBundle {
        MspBundle {
            version: 3,
            issued_at: 1_700_000_000,
            policies: names.iter().map(|n| ((*n).to_owned(), "path \"x\" {}".to_owned())).collect(),
        }
    }

    #[test]
    fn sign_verify_and_refusals() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let pk = public_key_b64(&key);
        let signed = SignedBundle::sign(&bundle(&["coffer-operator"]), &key).unwrap();
        assert_eq!(signed.verify(&pk).unwrap(), bundle(&["coffer-operator"]));

        let other = public_key_b64(&SigningKey::from_bytes(&[8u8; 32]));
        assert_eq!(signed.verify(&other).unwrap_err(), MspError::Signature);

        // A payload swapped under the same signature (e.g. a replayed older bundle edited).
        let forged = SignedBundle {
            payload: B64.encode(serde_json::to_vec(&bundle(&["coffer-agent"])).unwrap()),
            ..signed.clone()
        };
        assert_eq!(forged.verify(&pk).unwrap_err(), MspError::Signature);
        assert_eq!(signed.verify("short").unwrap_err(), MspError::BadKey);

        let check = |names: &[&str], want: MspError| {
            assert_eq!(SignedBundle::sign(&bundle(names), &key).unwrap_err(), want, "{names:?}");
        };
        check(&["default"], MspError::NotReserved("default".into()));
        check(&["coffer-"], MspError::NotReserved("coffer-".into()));
        check(&["coffer-X"], MspError::NotReserved("coffer-X".into()));
        check(&[], MspError::Size);
    }
}
