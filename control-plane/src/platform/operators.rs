//! Operator accounts: creation (by the `operator create` admin command), password login, and
//! resolving an operator bearer token.
//!
//! Operator tokens carry the `cpo_` prefix (customer tokens use `cpt_`) so a leaked one is
//! recognisable, and so a customer token is rejected before touching the database. The real
//! separation is the table: an operator token is only ever looked up in `operator_tokens`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::operator_store as store;
use super::{Platform, PlatformError};
use crate::domain::{Email, Password};
use crate::service::hash_token;

pub const OPERATOR_TOKEN_PREFIX: &str = "cpo_";

/// An authenticated platform operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorId(pub Uuid);

#[derive(Debug, Clone)]
pub struct CreatedOperator {
    pub id: Uuid,
    pub email: String,
}

/// A freshly issued operator token; only its hash is stored, this is the one copy.
pub struct IssuedOperatorToken {
    pub access_token: SecretString,
    pub expires_in: u64,
}

/// `cpo_` followed by 256 random bits, base64url.
fn new_token() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!("{OPERATOR_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

impl Platform {
    /// Creates an operator account. The password must satisfy the same policy as customers'.
    pub async fn create_operator(
        &self,
        email: &str,
        password: SecretString,
    ) -> Result<CreatedOperator, PlatformError> {
        let email = Email::parse(email)?;
        let password = Password::parse_new(password)?;
        let hash =
            self.hasher.hash(password).await.map_err(|e| PlatformError::Internal(e.to_string()))?;
        let row =
            store::insert(&self.pool, Uuid::new_v4(), email.as_str(), &hash).await?.ok_or_else(
                || PlatformError::Conflict("an operator with this email already exists".into()),
            )?;
        Ok(CreatedOperator { id: row.id, email: row.email })
    }

    /// Checks the password and issues an operator token. Unknown emails and wrong passwords
    /// are indistinguishable, in the answer and in timing (a dummy hash is verified).
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
    ) -> Result<IssuedOperatorToken, PlatformError> {
        let password = Password::for_login(password).ok_or(PlatformError::Unauthenticated)?;
        let found = match Email::parse(email) {
            Ok(email) => store::credentials(&self.pool, email.as_str()).await?,
            Err(_) => None,
        };
        let (id, stored) = match found {
            Some((id, hash)) => (Some(id), Some(hash)),
            None => (None, None),
        };
        let id = match (self.hasher.verify(password, stored).await, id) {
            (true, Some(id)) => id,
            _ => return Err(PlatformError::Unauthenticated),
        };
        let token = new_token();
        // Bounded by `PlatformSettings::problem`, so neither the cast nor the sum overflows.
        let expires_at = OffsetDateTime::now_utc() + Duration::seconds(self.token_ttl_secs as i64);
        store::insert_token(&self.pool, &hash_token(token.expose_secret()), id, expires_at).await?;
        if let Err(e) = store::purge_expired_tokens(&self.pool).await {
            // Housekeeping only: the login itself succeeded.
            tracing::warn!(error = %e, "could not purge expired operator tokens");
        }
        tracing::info!(operator_id = %id, "operator logged in");
        Ok(IssuedOperatorToken { access_token: token, expires_in: self.token_ttl_secs })
    }

    /// Resolves an operator bearer token. Anything else (customer tokens included) is
    /// `Unauthenticated`.
    pub async fn authenticate(&self, token: &str) -> Result<OperatorId, PlatformError> {
        if !token.starts_with(OPERATOR_TOKEN_PREFIX) || token.len() > 128 {
            return Err(PlatformError::Unauthenticated);
        }
        store::token_owner(&self.pool, &hash_token(token))
            .await?
            .map(OperatorId)
            .ok_or(PlatformError::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_distinct_from_customer_tokens() {
        let a = new_token();
        let b = new_token();
        assert!(a.expose_secret().starts_with("cpo_"));
        assert_eq!(a.expose_secret().len(), 4 + 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(!a.expose_secret().starts_with("cpt_"));
    }
}
