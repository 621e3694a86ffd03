//! Service principals: machine identities with client credentials, scoped to one org.

use secrecy::SecretString;
use uuid::Uuid;

use super::credentials::{hash_token, random_hex, random_secret};
use super::{Caller, ControlPlane, ServiceError};
use crate::domain::{Action, DisplayName, PageSize, PageToken, Role};
use crate::store::service_principals::{self, ServicePrincipalRow};
use crate::store::{Page, StoreError};

pub struct CreatedServicePrincipal {
    pub service_principal: ServicePrincipalRow,
    /// Shown exactly once; only its SHA-256 is stored.
    pub client_secret: SecretString,
}

impl ControlPlane {
    pub async fn list_service_principals(
        &self,
        caller: Caller,
        org_id: Uuid,
        size: PageSize,
        token: Option<PageToken>,
    ) -> Result<Page<ServicePrincipalRow>, ServiceError> {
        self.authorize(caller, org_id, Action::Read).await?;
        Ok(service_principals::list(&self.pool, org_id, size, token).await?)
    }

    /// Creates a principal whose role is at most the caller's and never `owner` (ownership
    /// stays with humans, so an org cannot be locked by a leaked machine credential).
    pub async fn create_service_principal(
        &self,
        caller: Caller,
        org_id: Uuid,
        name: &str,
        role: &str,
    ) -> Result<CreatedServicePrincipal, ServiceError> {
        let caller_role = self.authorize(caller, org_id, Action::ManageMembers).await?;
        let name = DisplayName::parse("name", name)?;
        let role = Role::parse(role)?;
        if role == Role::Owner {
            return Err(ServiceError::Invalid(
                "service principals cannot be owners; use viewer, contributor or admin".into(),
            ));
        }
        if role > caller_role {
            return Err(ServiceError::PermissionDenied(
                "a service principal's role cannot exceed your own".into(),
            ));
        }
        let client_id = format!("cpc_{}", random_hex(16));
        let client_secret = random_secret("cps_");
        let hash = hash_token(secrecy::ExposeSecret::expose_secret(&client_secret));
        let row = service_principals::insert(
            &self.pool,
            org_id,
            name.as_str(),
            role.as_str(),
            &client_id,
            &hash,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                ServiceError::Conflict("a service principal with this name already exists".into())
            }
            other => other.into(),
        })?;
        Ok(CreatedServicePrincipal { service_principal: row, client_secret })
    }

    pub async fn delete_service_principal(
        &self,
        caller: Caller,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<(), ServiceError> {
        self.authorize(caller, org_id, Action::ManageMembers).await?;
        if service_principals::delete(&self.pool, org_id, id).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound("service principal"))
        }
    }
}
