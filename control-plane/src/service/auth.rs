//! Sign-up, login, token issuance and token authentication.

use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::credentials::{hash_token, random_secret, secret_matches};
use super::{Caller, ControlPlane, ServiceError};
use crate::domain::{DisplayName, Email, Password, Role};
use crate::store::orgs::OrgRow;
use crate::store::users::UserRow;
use crate::store::{members, orgs, service_principals, tokens, users};

pub struct SignupResult {
    pub user: UserRow,
    pub org: OrgRow,
}

/// A freshly issued bearer token. Only its hash is stored; this is the one copy.
pub struct IssuedToken {
    pub access_token: SecretString,
    pub expires_in: u64,
}

pub struct LoginResult {
    pub token: IssuedToken,
    /// Must accompany cookie-authenticated unsafe requests as `x-csrf-token`.
    pub csrf_token: SecretString,
}

/// A resolved credential.
#[derive(Debug)]
pub struct Authenticated {
    pub caller: Caller,
    /// SHA-256 of the session's CSRF token; `None` for tokens issued without a session.
    pub csrf_hash: Option<Vec<u8>>,
}

/// Token endpoint failures, mapped to RFC 6749 error codes by the transport.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_client")]
    InvalidClient,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

const ACCESS_TOKEN_PREFIX: &str = "cpt_";

impl ControlPlane {
    /// Creates a user and an org owned by that user, atomically.
    pub async fn signup(
        &self,
        email: &str,
        password: SecretString,
        org_name: &str,
    ) -> Result<SignupResult, ServiceError> {
        let email = Email::parse(email)?;
        let password = Password::parse_new(password)?;
        let org_name = DisplayName::parse("org_name", org_name)?;
        let hash = self.hasher.hash(password).await?;

        let mut tx = self.pool.begin().await?;
        let user = users::register(&mut *tx, email.as_str(), &hash).await?.ok_or_else(|| {
            ServiceError::Conflict("an account with this email already exists".into())
        })?;
        let org = orgs::insert(&mut *tx, org_name.as_str()).await?;
        members::insert(&mut *tx, org.id, user.id, Role::Owner.as_str()).await?;
        tx.commit().await?;
        Ok(SignupResult { user, org })
    }

    /// Checks the password and opens a session. Unknown emails and wrong passwords are
    /// indistinguishable, in the response and in timing.
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
    ) -> Result<LoginResult, ServiceError> {
        let password = Password::for_login(password).ok_or(ServiceError::Unauthenticated)?;
        let creds = match Email::parse(email) {
            Ok(email) => users::credentials(&self.pool, email.as_str()).await?,
            Err(_) => None,
        };
        let (user_id, stored) = match creds {
            Some((id, hash)) => (Some(id), Some(hash)),
            None => (None, None),
        };
        let ok = self.hasher.verify(password, stored).await;
        let user_id = match (ok, user_id) {
            (true, Some(id)) => id,
            _ => return Err(ServiceError::Unauthenticated),
        };
        let csrf_token = random_secret("");
        let csrf_hash = hash_token(csrf_token.expose_secret());
        let token = self
            .issue(Some(user_id), None, Some(&csrf_hash), self.auth.access_token_ttl_secs)
            .await?;
        Ok(LoginResult { token, csrf_token })
    }

    /// OAuth 2.0 client-credentials grant for service principals.
    pub async fn client_credentials(
        &self,
        client_id: &str,
        client_secret: SecretString,
    ) -> Result<IssuedToken, OAuthError> {
        let creds = service_principals::credentials(&self.pool, client_id)
            .await
            .map_err(ServiceError::from)?;
        let sp_id = match creds {
            Some((id, hash)) if secret_matches(&client_secret, &hash) => id,
            _ => return Err(OAuthError::InvalidClient),
        };
        Ok(self.issue(None, Some(sp_id), None, self.auth.service_token_ttl_secs).await?)
    }

    async fn issue(
        &self,
        user_id: Option<Uuid>,
        service_principal_id: Option<Uuid>,
        csrf_hash: Option<&[u8]>,
        ttl_secs: u64,
    ) -> Result<IssuedToken, ServiceError> {
        let access_token = random_secret(ACCESS_TOKEN_PREFIX);
        let hash = hash_token(access_token.expose_secret());
        let ttl = Duration::seconds(i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2));
        tokens::insert(
            &self.pool,
            tokens::NewToken {
                hash: &hash,
                user_id,
                service_principal_id,
                csrf_hash,
                expires_at: OffsetDateTime::now_utc() + ttl,
            },
        )
        .await?;
        // Housekeeping piggybacks on issuance: bounded work, no separate scheduler needed.
        if let Err(e) = tokens::purge_expired(&self.pool).await {
            tracing::warn!(error = %e, "purging expired tokens failed");
        }
        Ok(IssuedToken { access_token, expires_in: ttl_secs })
    }

    /// Signs out: revokes the presented bearer token or session server-side, so a copied
    /// token or a cookie kept by the browser stops working at once instead of at expiry.
    /// With `everywhere`, a person's other sessions and tokens go too. Returns how many were
    /// revoked; an unknown or expired token is `Unauthenticated`, like any other call.
    pub async fn logout(&self, token: &str, everywhere: bool) -> Result<u64, ServiceError> {
        if !token.starts_with(ACCESS_TOKEN_PREFIX) || token.len() > 128 {
            return Err(ServiceError::Unauthenticated);
        }
        match tokens::revoke(&self.pool, &hash_token(token), everywhere).await? {
            0 => Err(ServiceError::Unauthenticated),
            n => Ok(n),
        }
    }

    /// Resolves a bearer token or session cookie value.
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, ServiceError> {
        if !token.starts_with(ACCESS_TOKEN_PREFIX) || token.len() > 128 {
            return Err(ServiceError::Unauthenticated);
        }
        let owner = tokens::lookup(&self.pool, &hash_token(token))
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let caller =
            match (owner.user_id, owner.service_principal_id, owner.sp_org_id, owner.sp_role) {
                (Some(user_id), _, _, _) => Caller::User { user_id },
                (None, Some(id), Some(org_id), Some(role)) => Caller::ServicePrincipal {
                    id,
                    org_id,
                    role: Role::parse(&role).map_err(|e| ServiceError::Internal(e.0))?,
                },
                _ => return Err(ServiceError::Unauthenticated),
            };
        Ok(Authenticated { caller, csrf_hash: owner.csrf_hash })
    }
}
