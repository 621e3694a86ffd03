//! Vault's common token settings for auth-method roles and users (`token_policies`,
//! `token_ttl`, `token_max_ttl`, `token_period`, `token_num_uses`, ...), and minting the login
//! token from them.

use super::token::handlers::auth_info;
use super::token::store::NewToken;
use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::MountEntry;
use crate::core::request::Response;
use crate::core::Core;
use crate::util::fields;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenParams {
    #[serde(default)]
    pub token_policies: Vec<String>,
    #[serde(default)]
    pub token_ttl: u64,
    #[serde(default)]
    pub token_max_ttl: u64,
    #[serde(default)]
    pub token_explicit_max_ttl: u64,
    #[serde(default)]
    pub token_period: u64,
    #[serde(default)]
    pub token_num_uses: i64,
    #[serde(default)]
    pub token_no_default_policy: bool,
    /// Networks the issued token may be used from (enforced on every request).
    #[serde(default)]
    pub token_bound_cidrs: Vec<String>,
}

impl TokenParams {
    /// Applies the fields present in a request body (`policies` is the legacy alias).
    pub fn update(&mut self, d: &Map<String, Value>) -> CoreResult<()> {
        if let Some(p) =
            fields::opt_str_list(d, "token_policies")?.or(fields::opt_str_list(d, "policies")?)
        {
            self.token_policies = p;
        }
        if let Some(v) = fields::opt_duration(d, "token_ttl")?.or(fields::opt_duration(d, "ttl")?) {
            self.token_ttl = v;
        }
        if let Some(v) =
            fields::opt_duration(d, "token_max_ttl")?.or(fields::opt_duration(d, "max_ttl")?)
        {
            self.token_max_ttl = v;
        }
        if let Some(v) = fields::opt_duration(d, "token_explicit_max_ttl")? {
            self.token_explicit_max_ttl = v;
        }
        if let Some(v) =
            fields::opt_duration(d, "token_period")?.or(fields::opt_duration(d, "period")?)
        {
            self.token_period = v;
        }
        if let Some(v) = fields::opt_i64(d, "token_num_uses")? {
            if v < 0 {
                return Err(CoreError::bad("token_num_uses cannot be negative"));
            }
            self.token_num_uses = v;
        }
        if let Some(v) = fields::opt_bool(d, "token_no_default_policy")? {
            self.token_no_default_policy = v;
        }
        if let Some(v) = fields::opt_str_list(d, "token_bound_cidrs")?
            .or(fields::opt_str_list(d, "bound_cidrs")?)
        {
            crate::util::cidr::validate(&v).map_err(CoreError::BadRequest)?;
            self.token_bound_cidrs = v;
        }
        if self.token_max_ttl > 0 && self.token_ttl > self.token_max_ttl {
            return Err(CoreError::bad(
                "\"token_ttl\" value must be less than \"token_max_ttl\" value",
            ));
        }
        Ok(())
    }

    /// The fields as Vault reports them on a role/user read.
    pub fn render(&self, m: &mut Map<String, Value>) {
        m.insert("token_policies".into(), self.token_policies.clone().into());
        m.insert("policies".into(), self.token_policies.clone().into());
        m.insert("token_ttl".into(), self.token_ttl.into());
        m.insert("token_max_ttl".into(), self.token_max_ttl.into());
        m.insert("token_explicit_max_ttl".into(), self.token_explicit_max_ttl.into());
        m.insert("token_period".into(), self.token_period.into());
        m.insert("token_num_uses".into(), self.token_num_uses.into());
        m.insert("token_no_default_policy".into(), self.token_no_default_policy.into());
        m.insert("token_bound_cidrs".into(), self.token_bound_cidrs.clone().into());
        m.insert("token_type".into(), "default".into());
    }

    /// Vault checks token_bound_cidrs at login too: the login must come from those networks.
    pub fn check_login_source(&self, remote: Option<std::net::SocketAddr>) -> CoreResult<()> {
        if crate::util::cidr::allows(&self.token_bound_cidrs, remote.map(|a| a.ip())) {
            Ok(())
        } else {
            Err(CoreError::PermissionDenied)
        }
    }

    /// Mints the login token (an orphan, like every auth-method token in Vault).
    pub fn issue(
        &self,
        core: &Core,
        mount: &MountEntry,
        display: &str,
        path: String,
        meta: BTreeMap<String, String>,
    ) -> CoreResult<Response> {
        let mut policies: Vec<String> =
            self.token_policies.iter().map(|p| p.trim().to_lowercase()).collect();
        policies.retain(|p| !p.is_empty() && p != "root");
        if !self.token_no_default_policy && !policies.iter().any(|p| p == "default") {
            policies.push("default".into());
        }
        policies.sort();
        policies.dedup();
        let mount_default = if mount.config.default_lease_ttl > 0 {
            mount.config.default_lease_ttl
        } else {
            core.config.default_lease_ttl
        };
        let mount_max = if mount.config.max_lease_ttl > 0 {
            mount.config.max_lease_ttl
        } else {
            core.config.max_lease_ttl
        };
        let mut ttl = if self.token_ttl > 0 { self.token_ttl } else { mount_default };
        let max =
            if self.token_max_ttl > 0 { self.token_max_ttl.min(mount_max) } else { mount_max };
        ttl = ttl.min(max);
        let explicit = match (self.token_explicit_max_ttl, self.token_max_ttl) {
            (0, 0) => 0,
            (0, m) => m,
            (e, 0) => e,
            (e, m) => e.min(m),
        };
        let (id, entry) = core.tokens.create(
            &core.barrier,
            NewToken {
                id: None,
                policies,
                meta,
                display_name: display.to_owned(),
                num_uses: self.token_num_uses,
                ttl,
                explicit_max_ttl: explicit,
                period: self.token_period,
                renewable: true,
                parent: None,
                path,
                bound_cidrs: self.token_bound_cidrs.clone(),
                role: String::new(),
            },
        )?;
        Ok(Response { auth: Some(auth_info(&id, &entry)), ..Default::default() })
    }
}
