//! Platform operations: the people who run Coffer (operators, not customers) and the jobs that
//! watch the platform itself, such as the orphan sweeper.
//!
//! Why a boundary of its own: an operator sees across every tenant, so operator power must not
//! be reachable through any customer credential, and no operator credential may act inside a
//! tenant. Operators therefore have their own table, password hashes and bearer tokens
//! (prefix `cpo_`, table `operator_tokens`); nothing here reads `users` or `access_tokens`, and
//! the customer authenticator never reads `operator_tokens`.
//!
//! Layout: [`settings`] (the `[platform]` config section), [`error`], [`operators`] (accounts,
//! login, token checks; SQL in `operator_store`), [`admin`] (the `operator create` command),
//! [`msp`] (publishing signed operator-policy bundles to every cluster),
//! and [`sweeper`] (the periodic job that finds
//! Coffer-tagged cloud resources no live cluster owns, with its pure rules, SQL and metrics).

pub mod admin;
pub mod error;
pub mod msp;
mod operator_store;
pub mod operators;
pub mod settings;
pub mod sweeper;

use std::sync::Arc;

use sqlx::PgPool;

pub use error::PlatformError;
pub use msp::{BundleStatus, ClusterBundleState, ClusterBundleStatus, PublishedBundle};
pub use operators::{CreatedOperator, IssuedOperatorToken, OperatorId};
pub use settings::{PlatformSettings, SweeperSettings};
pub use sweeper::{OrphanFinding, OrphanReason, SweepReport, Sweeper, SweeperMetrics};

use crate::config::PasswordHashSettings;
use crate::msp_key::MspSigner;
use crate::service::PasswordHasher;

/// Operator use-cases over one database: accounts, login, token checks, and reading what the
/// sweeper found. Cheap to clone.
#[derive(Clone)]
pub struct Platform {
    pool: PgPool,
    hasher: PasswordHasher,
    token_ttl_secs: u64,
    metrics: Arc<SweeperMetrics>,
    /// Signs MSP bundles; absent in processes that only manage operators.
    msp: Option<Arc<MspSigner>>,
}

impl Platform {
    /// `metrics` is shared with this process's [`Sweeper`] (if any) so `/v1/platform/metrics`
    /// reports its counters. Fails if the password-hash cost is outside argon2's limits.
    pub fn new(
        pool: PgPool,
        settings: &PlatformSettings,
        password_hash: PasswordHashSettings,
        metrics: Arc<SweeperMetrics>,
    ) -> Result<Platform, PlatformError> {
        let hasher = PasswordHasher::new(password_hash)
            .map_err(|e| PlatformError::Internal(e.to_string()))?;
        Ok(Platform {
            pool,
            hasher,
            token_ttl_secs: settings.operator_token_ttl_secs,
            metrics,
            msp: None,
        })
    }

    /// Enables MSP bundle publishing with this signing key.
    pub fn with_msp_signer(mut self, signer: Arc<MspSigner>) -> Self {
        self.msp = Some(signer);
        self
    }

    pub fn metrics(&self) -> &Arc<SweeperMetrics> {
        &self.metrics
    }
}
