//! A short-lived root token generated from the KMS-held recovery shares, for the few changes
//! only root may make after provisioning (operator policy bundles, provisioning upgrades).
//!
//! The token is minted through `sys/generate-root` (OTP flow: it crosses the loopback wire
//! only XORed with a one-time pad), lives in memory only (a `SecretString`, wiped on drop) and
//! [`RootSession::finish`] revokes it with `auth/token/revoke-self` as soon as the caller is
//! done, whether the work succeeded or not. Root generation is one attempt per server, so
//! sessions are serialised by the caller.

use std::time::Duration;

use base64::Engine as _;
use coffer_kms_seal::KmsSeal;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::ProvisionError;
use crate::server::ServerLayout;
use crate::vault::{VaultClient, VaultError};

/// How often revoking the root token is retried before giving up (and logging loudly).
const REVOKE_ATTEMPTS: u32 = 5;

/// A generated root token; revoke it with [`RootSession::finish`].
pub struct RootSession<'a> {
    vault: &'a VaultClient,
    token: SecretString,
}

impl<'a> RootSession<'a> {
    /// Decrypts the recovery shares with KMS and generates a root token from them.
    pub async fn open(
        vault: &'a VaultClient,
        seal: &KmsSeal,
        layout: &ServerLayout,
    ) -> Result<RootSession<'a>, ProvisionError> {
        let shares = super::recovery_shares(seal, layout).await?;
        let token = generate(vault, &shares).await?;
        tracing::info!("temporary root token generated from the recovery shares");
        Ok(RootSession { vault, token })
    }

    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// Revokes the root token (retrying briefly); the token is dropped (wiped) either way.
    pub async fn finish(self) -> Result<(), VaultError> {
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            match self.vault.revoke_self(&self.token).await {
                Ok(()) => {
                    tracing::info!("temporary root token revoked");
                    return Ok(());
                }
                Err(e) if attempt >= REVOKE_ATTEMPTS => {
                    tracing::error!(error = %e, "could not revoke the temporary root token");
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "revoking the temporary root token failed; retrying");
                }
            }
            attempt += 1;
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
}

/// Runs the OTP flow with `shares` and returns the decoded root token. An attempt left over by
/// an earlier crash is cancelled once; any failure cancels the attempt this call started.
async fn generate(vault: &VaultClient, shares: &[String]) -> Result<SecretString, ProvisionError> {
    let attempt = match vault.generate_root_start().await {
        Ok(a) => a,
        Err(e) if e.status() == Some(reqwest::StatusCode::BAD_REQUEST) => {
            tracing::warn!(error = %e, "cancelling a root-generation attempt left in progress");
            vault.generate_root_cancel().await?;
            vault.generate_root_start().await?
        }
        Err(e) => return Err(e.into()),
    };
    let result = submit(vault, shares, &attempt.nonce, attempt.required, &attempt.otp).await;
    if result.is_err() {
        if let Err(e) = vault.generate_root_cancel().await {
            tracing::warn!(error = %e, "cannot cancel the failed root-generation attempt");
        }
    }
    result
}

async fn submit(
    vault: &VaultClient,
    shares: &[String],
    nonce: &str,
    required: usize,
    otp: &SecretString,
) -> Result<SecretString, ProvisionError> {
    if shares.len() < required {
        return Err(ProvisionError::NotEnoughShares { have: shares.len(), need: required });
    }
    for share in shares.iter().take(required) {
        if let Some(encoded) = vault.generate_root_update(share, nonce).await? {
            return decode(encoded.expose_secret(), otp.expose_secret())
                .ok_or(ProvisionError::Corrupt);
        }
    }
    Err(ProvisionError::NotEnoughShares { have: required, need: required + 1 })
}

/// `base64(token XOR otp)` back to the token, as `vault operator generate-root -decode` does.
fn decode(encoded: &str, otp: &str) -> Option<SecretString> {
    let raw = Zeroizing::new(
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .ok()?,
    );
    if raw.len() != otp.len() {
        return None;
    }
    let plain: Zeroizing<Vec<u8>> =
        Zeroizing::new(raw.iter().zip(otp.bytes()).map(|(a, b)| a ^ b).collect());
    let token = std::str::from_utf8(&plain).ok()?;
    Some(SecretString::from(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(encoded: &str, otp: &str, expect: Option<&str>) {
        let got = decode(encoded, otp);
        assert_eq!(got.as_ref().map(|s| s.expose_secret()), expect, "{encoded:?}");
    }

    #[test]
    fn decoding_the_otp_encoded_token() {
        let otp = "abcd";
        let token = "hvs1";
        let xored: Vec<u8> = token.bytes().zip(otp.bytes()).map(|(a, b)| a ^ b).collect();
        let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&xored);
        let padded = base64::engine::general_purpose::STANDARD.encode(&xored);
        check(&enc, otp, Some(token));
        check(&padded, otp, Some(token));
        check(&enc, "abc", None);
        check("!!!", otp, None);
    }
}
