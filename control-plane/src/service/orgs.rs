//! Organisations visible to a caller.

use uuid::Uuid;

use super::{Caller, ControlPlane, ServiceError};
use crate::domain::{Action, PageSize, PageToken};
use crate::store::orgs::{self, OrgRow, OrgWithRole};
use crate::store::Page;

impl ControlPlane {
    /// The caller's orgs with the caller's role in each. A service principal sees only its own.
    pub async fn list_orgs(
        &self,
        caller: Caller,
        size: PageSize,
        token: Option<PageToken>,
    ) -> Result<Page<OrgWithRole>, ServiceError> {
        match caller {
            Caller::User { user_id } => {
                Ok(orgs::list_for_user(&self.pool, user_id, size, token).await?)
            }
            Caller::ServicePrincipal { org_id, role, .. } => {
                let org = orgs::get(&self.pool, org_id).await?;
                let items = org
                    .filter(|o| token.is_none_or(|t| (o.created_at, o.id) > (t.created_at, t.id)))
                    .map(|o| OrgWithRole {
                        id: o.id,
                        name: o.name,
                        created_at: o.created_at,
                        role: role.as_str().to_owned(),
                    })
                    .into_iter()
                    .collect();
                Ok(Page { items, next: None })
            }
        }
    }

    /// One org with the caller's role in it.
    pub async fn get_org(&self, caller: Caller, org_id: Uuid) -> Result<OrgWithRole, ServiceError> {
        let role = self.authorize(caller, org_id, Action::Read).await?;
        let o: OrgRow =
            orgs::get(&self.pool, org_id).await?.ok_or(ServiceError::NotFound("organization"))?;
        Ok(OrgWithRole {
            id: o.id,
            name: o.name,
            created_at: o.created_at,
            role: role.as_str().to_owned(),
        })
    }
}
