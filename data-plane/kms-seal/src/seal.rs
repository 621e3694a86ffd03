//! Wrapping and unwrapping through KMS `Encrypt`/`Decrypt`.
//!
//! The blob stored next to the data is `[format u8][KMS ciphertext blob]`: the KMS blob already
//! names the key, the format byte lets a later version switch to envelope encryption without
//! guessing. Every call carries an encryption context naming what is wrapped, so a wrapped
//! recovery key can never be unwrapped as the root key (KMS binds the context as AAD, and
//! CloudTrail shows it).

use aws_sdk_kms::{
    error::{DisplayErrorContext, ProvideErrorMetadata},
    primitives::Blob,
    Client,
};
use coffer_barrier::RootKey;
use zeroize::Zeroizing;

use crate::{config::KmsSealConfig, error::KmsSealError};

/// Format byte of blobs written by this version.
const FORMAT: u8 = 1;
/// Encryption-context key; the value is the [`Purpose`].
const CONTEXT_KEY: &str = "coffer:purpose";

/// What a wrapped blob holds; part of the KMS encryption context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The barrier's root key (auto-unseal).
    RootKey,
    /// The recovery key (or its shares) that authorises root-token generation and rekeying
    /// under auto-unseal.
    RecoveryKey,
}

impl Purpose {
    fn context_value(self) -> &'static str {
        match self {
            Purpose::RootKey => "root-key",
            Purpose::RecoveryKey => "recovery-key",
        }
    }
}

/// An AWS KMS auto-unseal seal. Cheap to clone (the SDK client is reference counted).
#[derive(Clone, Debug)]
pub struct KmsSeal {
    client: Client,
    key_id: String,
}

fn kms_error<E>(operation: &'static str, err: aws_sdk_kms::error::SdkError<E>) -> KmsSealError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    KmsSealError::Kms {
        operation,
        code: err.code().map(str::to_owned),
        detail: DisplayErrorContext(&err).to_string(),
    }
}

impl KmsSeal {
    /// Builds the KMS client for `cfg`. No AWS call is made; the first wrap/unwrap shows
    /// whether the key and credentials work.
    pub async fn new(cfg: KmsSealConfig) -> Result<KmsSeal, KmsSealError> {
        let client = cfg.client().await?;
        Ok(KmsSeal { client, key_id: cfg.kms_key_id })
    }

    /// The configured key id (as given: id, ARN or alias).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Encrypts the root key with the KMS key; store the result in the plain area.
    pub async fn wrap(&self, root: &RootKey) -> Result<Vec<u8>, KmsSealError> {
        self.wrap_bytes(Purpose::RootKey, root.expose()).await
    }

    /// Recovers the root key from a blob written by [`KmsSeal::wrap`].
    pub async fn unwrap(&self, blob: &[u8]) -> Result<RootKey, KmsSealError> {
        let plain = self.unwrap_bytes(Purpose::RootKey, blob).await?;
        RootKey::from_bytes(&plain).map_err(KmsSealError::BadRootKey)
    }

    /// Encrypts arbitrary secret bytes (at most 4 KiB, the KMS `Encrypt` limit) for `purpose`.
    pub async fn wrap_bytes(
        &self,
        purpose: Purpose,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsSealError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(plaintext))
            .encryption_context(CONTEXT_KEY, purpose.context_value())
            .send()
            .await
            .map_err(|e| kms_error("Encrypt", e))?;
        let ciphertext = out.ciphertext_blob.ok_or(KmsSealError::EmptyResponse("Encrypt"))?;
        let ciphertext = ciphertext.as_ref();
        let mut blob = Vec::with_capacity(1 + ciphertext.len());
        blob.push(FORMAT);
        blob.extend_from_slice(ciphertext);
        Ok(blob)
    }

    /// Decrypts a blob written by [`KmsSeal::wrap_bytes`] with the same `purpose`.
    pub async fn unwrap_bytes(
        &self,
        purpose: Purpose,
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KmsSealError> {
        let ciphertext = match blob.split_first() {
            Some((&FORMAT, rest)) if !rest.is_empty() => rest,
            _ => return Err(KmsSealError::BadBlob),
        };
        let out = self
            .client
            .decrypt()
            // Naming the key makes KMS refuse a blob made under any other key.
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context(CONTEXT_KEY, purpose.context_value())
            .send()
            .await
            .map_err(|e| kms_error("Decrypt", e))?;
        let plain = out.plaintext.ok_or(KmsSealError::EmptyResponse("Decrypt"))?;
        Ok(Zeroizing::new(plain.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_have_distinct_contexts() {
        assert_ne!(Purpose::RootKey.context_value(), Purpose::RecoveryKey.context_value());
    }
}
