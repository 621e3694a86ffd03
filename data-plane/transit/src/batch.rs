//! Request-shaped inputs (base64 fields, Vault names) and per-item results for batch calls.
//!
//! The server deserialises Vault's `batch_input` items straight into these types (JSON nulls
//! accepted) and serialises the outcomes as `batch_results`. A failing item carries its error
//! and never fails the batch, as in Vault. Single requests use the same `*_item` functions.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{
    DecryptParams, EncryptParams, Encrypted, HashAlgorithm, Key, SignParams, TransitError,
};

/// One encryption input: `plaintext` (and `context`, `nonce`, `associated_data`) are base64.
/// `Debug` redacts the plaintext.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct EncryptItem {
    pub plaintext: Option<String>,
    pub context: Option<String>,
    pub nonce: Option<String>,
    pub key_version: Option<u32>,
    pub associated_data: Option<String>,
    pub reference: Option<String>,
}

/// One decryption (or rewrap) input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DecryptItem {
    pub ciphertext: Option<String>,
    pub context: Option<String>,
    pub nonce: Option<String>,
    pub key_version: Option<u32>,
    pub associated_data: Option<String>,
    pub reference: Option<String>,
}

/// One HMAC/sign/verify input: `input` is base64.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InputItem {
    pub input: Option<String>,
    pub context: Option<String>,
    /// For verify: the HMAC or signature to check.
    pub hmac: Option<String>,
    pub signature: Option<String>,
    pub reference: Option<String>,
}

/// A batch result item in Vault's shape; unset fields are omitted. `Debug` redacts plaintext.
#[derive(Clone, Default, Serialize, PartialEq, Eq)]
pub struct ItemOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<String>,
    /// Base64. Zeroized when dropped.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_secret")]
    pub plaintext: Option<Zeroizing<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

const REDACTED: &str = "[redacted]";

impl fmt::Debug for EncryptItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptItem")
            .field("plaintext", &self.plaintext.as_ref().map(|_| REDACTED))
            .field("context", &self.context)
            .field("key_version", &self.key_version)
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ItemOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemOutcome")
            .field("ciphertext", &self.ciphertext)
            .field("plaintext", &self.plaintext.as_ref().map(|_| REDACTED))
            .field("key_version", &self.key_version)
            .field("hmac", &self.hmac)
            .field("signature", &self.signature)
            .field("valid", &self.valid)
            .field("error", &self.error)
            .field("reference", &self.reference)
            .finish()
    }
}

fn ser_secret<S: serde::Serializer>(
    v: &Option<Zeroizing<String>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(text) => s.serialize_str(text),
        None => s.serialize_none(),
    }
}

fn decode(field: &'static str, v: Option<&str>) -> Result<Option<Vec<u8>>, TransitError> {
    v.filter(|s| !s.is_empty())
        .map(|s| STANDARD.decode(s).map_err(|_| TransitError::InvalidBase64(field)))
        .transpose()
}

fn outcome(reference: &Option<String>, result: Result<ItemOutcome, TransitError>) -> ItemOutcome {
    let mut out = result
        .unwrap_or_else(|e| ItemOutcome { error: Some(e.to_string()), ..ItemOutcome::default() });
    out.reference.clone_from(reference);
    out
}

impl Key {
    /// Encrypts one request-shaped item.
    pub fn encrypt_item(&self, item: &EncryptItem) -> Result<Encrypted, TransitError> {
        let plaintext = item.plaintext.as_deref().ok_or(TransitError::MissingField("plaintext"))?;
        let plaintext = Zeroizing::new(
            STANDARD.decode(plaintext).map_err(|_| TransitError::InvalidBase64("plaintext"))?,
        );
        let context = decode("context", item.context.as_deref())?;
        let nonce = decode("nonce", item.nonce.as_deref())?;
        let aad = decode("associated_data", item.associated_data.as_deref())?;
        self.encrypt(
            &plaintext,
            &EncryptParams {
                context: context.as_deref(),
                nonce: nonce.as_deref(),
                key_version: item.key_version,
                associated_data: aad.as_deref(),
            },
        )
    }

    /// Decrypts one item, returning the plaintext base64-encoded (as Vault responds).
    pub fn decrypt_item(&self, item: &DecryptItem) -> Result<Zeroizing<String>, TransitError> {
        let ciphertext =
            item.ciphertext.as_deref().ok_or(TransitError::MissingField("ciphertext"))?;
        let context = decode("context", item.context.as_deref())?;
        let aad = decode("associated_data", item.associated_data.as_deref())?;
        let plaintext = self.decrypt(
            ciphertext,
            &DecryptParams { context: context.as_deref(), associated_data: aad.as_deref() },
        )?;
        Ok(Zeroizing::new(STANDARD.encode(plaintext.as_slice())))
    }

    /// Rewraps one item to `item.key_version` (latest by default).
    pub fn rewrap_item(&self, item: &DecryptItem) -> Result<Encrypted, TransitError> {
        let ciphertext =
            item.ciphertext.as_deref().ok_or(TransitError::MissingField("ciphertext"))?;
        let context = decode("context", item.context.as_deref())?;
        self.rewrap(ciphertext, context.as_deref(), item.key_version)
    }

    pub fn encrypt_batch(&self, items: &[EncryptItem]) -> Vec<ItemOutcome> {
        items
            .iter()
            .map(|item| {
                let r = self.encrypt_item(item).map(|e| ItemOutcome {
                    ciphertext: Some(e.ciphertext),
                    key_version: Some(e.key_version),
                    ..ItemOutcome::default()
                });
                outcome(&item.reference, r)
            })
            .collect()
    }

    pub fn decrypt_batch(&self, items: &[DecryptItem]) -> Vec<ItemOutcome> {
        items
            .iter()
            .map(|item| {
                let r = self
                    .decrypt_item(item)
                    .map(|p| ItemOutcome { plaintext: Some(p), ..ItemOutcome::default() });
                outcome(&item.reference, r)
            })
            .collect()
    }

    pub fn rewrap_batch(&self, items: &[DecryptItem]) -> Vec<ItemOutcome> {
        items
            .iter()
            .map(|item| {
                let r = self.rewrap_item(item).map(|e| ItemOutcome {
                    ciphertext: Some(e.ciphertext),
                    key_version: Some(e.key_version),
                    ..ItemOutcome::default()
                });
                outcome(&item.reference, r)
            })
            .collect()
    }

    pub fn hmac_batch(
        &self,
        items: &[InputItem],
        algorithm: HashAlgorithm,
        key_version: Option<u32>,
    ) -> Vec<ItemOutcome> {
        items
            .iter()
            .map(|item| {
                let r = decode_input(item).and_then(|input| {
                    let hmac = self.hmac(&input, algorithm, key_version)?;
                    Ok(ItemOutcome { hmac: Some(hmac), ..ItemOutcome::default() })
                });
                outcome(&item.reference, r)
            })
            .collect()
    }

    pub fn verify_hmac_batch(
        &self,
        items: &[InputItem],
        algorithm: HashAlgorithm,
    ) -> Vec<ItemOutcome> {
        items
            .iter()
            .map(|item| {
                let r = decode_input(item).and_then(|input| {
                    let hmac = item.hmac.as_deref().ok_or(TransitError::MissingField("hmac"))?;
                    let valid = self.verify_hmac(&input, hmac, algorithm)?;
                    Ok(ItemOutcome { valid: Some(valid), ..ItemOutcome::default() })
                });
                outcome(&item.reference, r)
            })
            .collect()
    }

    /// Signs each item; `params.context` is replaced by each item's own context.
    pub fn sign_batch(&self, items: &[InputItem], params: &SignParams<'_>) -> Vec<ItemOutcome> {
        items
            .iter()
            .map(|item| {
                let r = decode_input(item).and_then(|input| {
                    let context = decode("context", item.context.as_deref())?;
                    let p = SignParams { context: context.as_deref(), ..*params };
                    let signature = self.sign(&input, &p)?;
                    let key_version = crate::envelope::parse(&signature).ok().map(|(v, _)| v);
                    Ok(ItemOutcome {
                        signature: Some(signature),
                        key_version,
                        ..ItemOutcome::default()
                    })
                });
                outcome(&item.reference, r)
            })
            .collect()
    }

    /// Verifies each item; `params.context` is replaced by each item's own context.
    pub fn verify_batch(&self, items: &[InputItem], params: &SignParams<'_>) -> Vec<ItemOutcome> {
        items
            .iter()
            .map(|item| {
                let r = decode_input(item).and_then(|input| {
                    let context = decode("context", item.context.as_deref())?;
                    let p = SignParams { context: context.as_deref(), ..*params };
                    let sig =
                        item.signature.as_deref().ok_or(TransitError::MissingField("signature"))?;
                    let valid = self.verify(&input, sig, &p)?;
                    Ok(ItemOutcome { valid: Some(valid), ..ItemOutcome::default() })
                });
                outcome(&item.reference, r)
            })
            .collect()
    }
}

fn decode_input(item: &InputItem) -> Result<Vec<u8>, TransitError> {
    let input = item.input.as_deref().ok_or(TransitError::MissingField("input"))?;
    STANDARD.decode(input).map_err(|_| TransitError::InvalidBase64("input"))
}
