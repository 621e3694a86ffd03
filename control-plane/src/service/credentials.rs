//! Secret material: random tokens, token hashing and password hashing.
//!
//! Passwords are low-entropy, so they get argon2id (slow, memory-hard). Access tokens and
//! service-principal client secrets are 256-bit random values: brute force is already
//! infeasible, so a single SHA-256 is enough and lets us look them up by hash in one query.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::ServiceError;
use crate::config::PasswordHashSettings;
use crate::domain::Password;

/// `prefix` followed by 256 random bits, base64url. The prefix makes leaked tokens easy to
/// recognise by secret scanners.
pub(crate) fn random_secret(prefix: &str) -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Argon2id with configured cost; hashing runs on the blocking pool so it never stalls the
/// async runtime.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// Verified against when an email is unknown so both paths cost the same (no user
    /// enumeration by timing).
    dummy_hash: std::sync::Arc<str>,
}

impl PasswordHasher {
    /// Fails if the configured cost is outside argon2's limits, so a bad config stops start-up
    /// instead of silently weakening hashes.
    pub fn new(cfg: PasswordHashSettings) -> Result<Self, ServiceError> {
        let params =
            Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None).map_err(|e| {
                ServiceError::Internal(format!("invalid auth.password_hash settings: {e}"))
            })?;
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = Argon2::new(Algorithm::Argon2id, argon2::Version::V0x13, params.clone())
            .hash_password(b"dummy password for timing", &salt)
            .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))?
            .to_string();
        Ok(Self { params, dummy_hash: dummy_hash.into() })
    }

    pub async fn hash(&self, password: Password) -> Result<String, ServiceError> {
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::new(Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("hashing task failed: {e}")))?
    }

    /// Checks `password` against `stored`, or against a dummy hash when there is no user.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> bool {
        let found = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored)
                .map(|h| {
                    Argon2::default().verify_password(password.expose().as_bytes(), &h).is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        ok && found
    }
}

/// Constant-time comparison of a presented secret's hash with the stored one.
pub(crate) fn secret_matches(presented: &SecretString, stored_hash: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    let h = hash_token(presented.expose_secret());
    h.ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(PasswordHashSettings { memory_kib: 64, iterations: 1, parallelism: 1 })
            .unwrap()
    }

    fn pw(s: &str) -> Password {
        Password::parse_new(SecretString::from(s)).unwrap()
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = cheap();
        let stored = h.hash(pw("correct horse battery")).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(h.verify(pw("correct horse battery"), Some(stored.clone())).await);
        assert!(!h.verify(pw("wrong horse battery!"), Some(stored)).await);
        assert!(!h.verify(pw("dummy password for timing"), None).await);
    }

    #[test]
    fn invalid_cost_is_rejected() {
        let bad = PasswordHashSettings { memory_kib: 1, iterations: 0, parallelism: 1 };
        assert!(PasswordHasher::new(bad).is_err());
    }

    #[test]
    fn tokens_are_unique_and_prefixed() {
        let a = random_secret("cpt_");
        let b = random_secret("cpt_");
        assert!(a.expose_secret().starts_with("cpt_"));
        assert_eq!(a.expose_secret().len(), 4 + 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(secret_matches(&a, &hash_token(a.expose_secret())));
        assert!(!secret_matches(&a, &hash_token(b.expose_secret())));
    }
}
