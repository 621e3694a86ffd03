//! Use-cases of the control plane and the authorization rules that guard them.
//!
//! Every entry point takes the authenticated [`Caller`] and checks permissions itself, so the
//! HTTP API and the future web console cannot drift apart on who may do what. Errors are
//! expressed as [`ServiceError`]; transports map them to their own wire formats.

mod audit_logs;
mod auth;
mod authz;
mod clusters;
mod credentials;
mod members;
pub mod node_channel;
mod nodes;
pub mod notify;
mod operations;
mod orgs;
mod service_principals;
mod snapshots;

use sqlx::PgPool;
use uuid::Uuid;

pub use audit_logs::{AuditListing, AuditLogSettings, AuditObject, TimeRange};
pub use auth::{Authenticated, IssuedToken, LoginResult, OAuthError, SignupResult};
pub use clusters::{ClusterPatch, ClusterRequest, ClusterWithOperation};
pub use credentials::{hash_token, PasswordHasher};
pub use node_channel::{
    IssuedAdminToken, NodeIdentity, NodeSettings, NodeStatus, RetentionSettings,
};
pub use nodes::{NodeRegistration, RegisteredNode};
pub use notify::OperationEvents;
pub use service_principals::CreatedServicePrincipal;
pub use snapshots::{
    object_key as snapshot_object_key, ScheduleSettings, SnapshotSettings, NODE_DID_NOT_ANSWER,
    PRODUCTION_TIERS,
};

use crate::config::AuthSettings;
use crate::domain::{Role, ValidationError};
use crate::store::StoreError;

/// Who is making a request, established by the transport from a token or session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    User {
        user_id: Uuid,
    },
    /// Service principals act only inside their own org, with their fixed role.
    ServicePrincipal {
        id: Uuid,
        org_id: Uuid,
        role: Role,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A cluster's node is needed and did not answer (or none is running); the message is
    /// safe to show.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<ValidationError> for ServiceError {
    fn from(e: ValidationError) -> Self {
        ServiceError::Invalid(e.0)
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        ServiceError::Store(StoreError::from(e))
    }
}

/// The control plane's use-cases over one database. Cheap to clone.
#[derive(Clone)]
pub struct ControlPlane {
    pool: PgPool,
    auth: AuthSettings,
    hasher: PasswordHasher,
    events: OperationEvents,
    nodes: node_channel::NodeChannel,
    snapshots: snapshots::SnapshotSettings,
    audit: audit_logs::AuditLogs,
}

impl ControlPlane {
    pub fn new(
        pool: PgPool,
        auth: AuthSettings,
        events: OperationEvents,
    ) -> Result<Self, ServiceError> {
        let hasher = PasswordHasher::new(auth.password_hash)?;
        Ok(Self {
            pool,
            auth,
            hasher,
            events,
            nodes: Default::default(),
            snapshots: Default::default(),
            audit: Default::default(),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}
