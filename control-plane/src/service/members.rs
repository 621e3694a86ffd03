//! Organisation membership management.
//!
//! Rules: admins manage members; only owners grant or revoke `owner`; an org always keeps at
//! least one owner (checked under a row lock so concurrent demotions cannot race past it).

use uuid::Uuid;

use super::authz::{authorize_on, require};
use super::{Caller, ControlPlane, ServiceError};
use crate::domain::{Action, Email, PageSize, PageToken, Role};
use crate::store::members::{self, MemberRow};
use crate::store::{users, Page, StoreError};

impl ControlPlane {
    pub async fn list_members(
        &self,
        caller: Caller,
        org_id: Uuid,
        size: PageSize,
        token: Option<PageToken>,
    ) -> Result<Page<MemberRow>, ServiceError> {
        self.authorize(caller, org_id, Action::Read).await?;
        Ok(members::list(&self.pool, org_id, size, token).await?)
    }

    /// Adds a member by email. Unknown emails get an invitation placeholder and become active
    /// when that address signs up.
    pub async fn add_member(
        &self,
        caller: Caller,
        org_id: Uuid,
        email: &str,
        role: &str,
    ) -> Result<MemberRow, ServiceError> {
        let caller_role = self.authorize(caller, org_id, Action::ManageMembers).await?;
        let email = Email::parse(email)?;
        let role = Role::parse(role)?;
        if role == Role::Owner {
            require(caller_role, Action::ManageOwners)?;
        }
        let mut tx = self.pool.begin().await?;
        if role == Role::Owner {
            // Re-check under the owner lock: the caller may be stepping down concurrently.
            members::lock_owners(&mut *tx, org_id).await?;
            let caller_role = authorize_on(&mut *tx, caller, org_id, Action::ManageMembers).await?;
            require(caller_role, Action::ManageOwners)?;
        }
        let user_id = users::find_or_invite(&mut *tx, email.as_str()).await?;
        match members::insert(&mut *tx, org_id, user_id, role.as_str()).await {
            Err(StoreError::Conflict(_)) => {
                return Err(ServiceError::Conflict("this user is already a member".into()))
            }
            other => other?,
        }
        let member = members::get(&mut *tx, org_id, user_id)
            .await?
            .ok_or_else(|| ServiceError::Internal("member vanished after insert".into()))?;
        tx.commit().await?;
        Ok(member)
    }

    pub async fn update_member(
        &self,
        caller: Caller,
        org_id: Uuid,
        user_id: Uuid,
        role: &str,
    ) -> Result<MemberRow, ServiceError> {
        self.authorize(caller, org_id, Action::ManageMembers).await?;
        let role = Role::parse(role)?;
        let mut tx = self.pool.begin().await?;
        let current = owner_guard(&mut tx, caller, org_id, user_id, Some(role)).await?;
        if current != role {
            members::set_role(&mut *tx, org_id, user_id, role.as_str()).await?;
        }
        let member = members::get(&mut *tx, org_id, user_id)
            .await?
            .ok_or(ServiceError::NotFound("member"))?;
        tx.commit().await?;
        Ok(member)
    }

    pub async fn remove_member(
        &self,
        caller: Caller,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<(), ServiceError> {
        self.authorize(caller, org_id, Action::ManageMembers).await?;
        let mut tx = self.pool.begin().await?;
        owner_guard(&mut tx, caller, org_id, user_id, None).await?;
        members::delete(&mut *tx, org_id, user_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Checks the owner rules for changing `user_id` to `new_role` (`None` = removal) and returns
/// the member's current role. Runs after locking the org's owner rows, and re-reads the caller's
/// own role under that lock: a concurrent change may just have demoted the caller.
async fn owner_guard(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    caller: Caller,
    org_id: Uuid,
    user_id: Uuid,
    new_role: Option<Role>,
) -> Result<Role, ServiceError> {
    // Lock owners first (always in this order) so concurrent changes serialise.
    let owners = members::lock_owners(&mut **tx, org_id).await?;
    let caller_role = authorize_on(&mut **tx, caller, org_id, Action::ManageMembers).await?;
    let current =
        members::get(&mut **tx, org_id, user_id).await?.ok_or(ServiceError::NotFound("member"))?;
    let current = Role::parse(&current.role).map_err(|e| ServiceError::Internal(e.0))?;
    if current == Role::Owner || new_role == Some(Role::Owner) {
        require(caller_role, Action::ManageOwners)?;
    }
    if current == Role::Owner && new_role != Some(Role::Owner) && owners <= 1 {
        return Err(ServiceError::Conflict(
            "an organization must keep at least one owner; add another owner first".into(),
        ));
    }
    Ok(current)
}
