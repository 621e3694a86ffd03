//! Authorization: resolve the caller's role in an org and check it against an action.
//!
//! Non-members get `NotFound` rather than `PermissionDenied` so the API never confirms that an
//! org (or anything in it) exists to someone outside it.

use sqlx::PgExecutor;
use uuid::Uuid;

use super::{Caller, ControlPlane, ServiceError};
use crate::domain::{Action, Role};
use crate::store::members;

impl ControlPlane {
    /// The caller's role in `org_id`, if the caller may perform `action` there.
    pub(crate) async fn authorize(
        &self,
        caller: Caller,
        org_id: Uuid,
        action: Action,
    ) -> Result<Role, ServiceError> {
        authorize_on(&self.pool, caller, org_id, action).await
    }
}

/// Like [`ControlPlane::authorize`] on a given connection, so a use-case can re-check the
/// caller's role inside its transaction after taking the locks it depends on.
pub(crate) async fn authorize_on(
    db: impl PgExecutor<'_>,
    caller: Caller,
    org_id: Uuid,
    action: Action,
) -> Result<Role, ServiceError> {
    let role = match caller {
        Caller::ServicePrincipal { org_id: own, role, .. } if own == org_id => role,
        Caller::ServicePrincipal { .. } => return Err(ServiceError::NotFound("organization")),
        Caller::User { user_id } => {
            let role = members::role_of(db, org_id, user_id)
                .await?
                .ok_or(ServiceError::NotFound("organization"))?;
            Role::parse(&role).map_err(|e| ServiceError::Internal(e.0))?
        }
    };
    require(role, action)?;
    Ok(role)
}

pub(crate) fn require(role: Role, action: Action) -> Result<(), ServiceError> {
    if role.allows(action) {
        return Ok(());
    }
    Err(ServiceError::PermissionDenied(format!(
        "this requires the {} role or higher in the organization",
        action.min_role().as_str()
    )))
}
