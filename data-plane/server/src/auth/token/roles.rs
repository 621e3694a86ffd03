//! Token roles (`auth/token/roles/<name>`, `auth/token/create/<role>`): named templates that let
//! a caller mint scoped tokens (allowed policies, orphan, period, ...) without sudo. The role,
//! not the parent's policies, bounds what the token may carry, as in Vault.

use super::handlers::{auth_info, sanitize_display, sorted_policies};
use super::store::NewToken;
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::storage::View;
use crate::core::Core;
use crate::util::fields;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    pub allowed_policies: Vec<String>,
    pub disallowed_policies: Vec<String>,
    pub orphan: bool,
    pub renewable: bool,
    pub path_suffix: String,
    pub token_period: u64,
    pub token_explicit_max_ttl: u64,
    pub token_num_uses: i64,
    pub token_no_default_policy: bool,
    pub token_bound_cidrs: Vec<String>,
}

fn view(core: &Core) -> View<'_> {
    View::new(&core.barrier, "sys/token/role/")
}

fn role_name(name: &str) -> CoreResult<String> {
    let n = name.trim().to_lowercase();
    if n.is_empty() || n.contains('/') {
        return Err(CoreError::bad("invalid role name"));
    }
    Ok(n)
}

/// `roles` (LIST) and `roles/<name>` (read, write, delete).
pub fn handle(core: &Core, req: &Request, name: &str) -> CoreResult<Response> {
    let name = name.trim_end_matches('/');
    if name.is_empty() {
        if req.op != Operation::List {
            return Err(CoreError::UnsupportedOperation);
        }
        return crate::engines::kv::list_response(view(core).list("")?);
    }
    let name = role_name(name)?;
    match req.op {
        Operation::Read => {
            let r: Role = view(core).get_json(&name)?.ok_or(CoreError::NotFound(None))?;
            Ok(Response::data(describe(&r)))
        }
        Operation::Create | Operation::Update => {
            let d = &req.data;
            let mut r: Role = view(core).get_json(&name)?.unwrap_or(Role {
                name: name.clone(),
                renewable: true,
                ..Default::default()
            });
            if let Some(v) = fields::opt_str_list(d, "allowed_policies")? {
                r.allowed_policies = sorted_policies(v, false);
            }
            if let Some(v) = fields::opt_str_list(d, "disallowed_policies")? {
                r.disallowed_policies = sorted_policies(v, false);
            }
            if let Some(v) = fields::opt_bool(d, "orphan")? {
                r.orphan = v;
            }
            if let Some(v) = fields::opt_bool(d, "renewable")? {
                r.renewable = v;
            }
            if let Some(v) = fields::opt_str(d, "path_suffix")? {
                if v.contains("..") {
                    return Err(CoreError::bad("path_suffix must not contain '..'"));
                }
                r.path_suffix = v.to_owned();
            }
            if let Some(v) =
                fields::opt_duration(d, "token_period")?.or(fields::opt_duration(d, "period")?)
            {
                r.token_period = v;
            }
            if let Some(v) = fields::opt_duration(d, "token_explicit_max_ttl")?
                .or(fields::opt_duration(d, "explicit_max_ttl")?)
            {
                r.token_explicit_max_ttl = v;
            }
            if let Some(v) = fields::opt_i64(d, "token_num_uses")? {
                if v < 0 {
                    return Err(CoreError::bad("token_num_uses cannot be negative"));
                }
                r.token_num_uses = v;
            }
            if let Some(v) = fields::opt_bool(d, "token_no_default_policy")? {
                r.token_no_default_policy = v;
            }
            if let Some(v) = fields::opt_str_list(d, "token_bound_cidrs")?
                .or(fields::opt_str_list(d, "bound_cidrs")?)
            {
                crate::util::cidr::validate(&v).map_err(CoreError::BadRequest)?;
                r.token_bound_cidrs = v;
            }
            if let Some(t) = fields::opt_str(d, "token_type")? {
                if !matches!(t, "" | "service" | "default" | "default-service") {
                    return Err(CoreError::bad(format!("token type {t:?} is not supported")));
                }
            }
            view(core).put_json(&name, &r)?;
            Ok(Response::empty())
        }
        Operation::Delete => {
            view(core).delete(&name)?;
            Ok(Response::empty())
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}

fn describe(r: &Role) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), r.name.clone().into());
    m.insert("allowed_policies".into(), r.allowed_policies.clone().into());
    m.insert("disallowed_policies".into(), r.disallowed_policies.clone().into());
    m.insert("orphan".into(), r.orphan.into());
    m.insert("renewable".into(), r.renewable.into());
    m.insert("path_suffix".into(), r.path_suffix.clone().into());
    m.insert("token_period".into(), r.token_period.into());
    m.insert("period".into(), r.token_period.into());
    m.insert("token_explicit_max_ttl".into(), r.token_explicit_max_ttl.into());
    m.insert("explicit_max_ttl".into(), r.token_explicit_max_ttl.into());
    m.insert("token_num_uses".into(), r.token_num_uses.into());
    m.insert("token_no_default_policy".into(), r.token_no_default_policy.into());
    m.insert("token_bound_cidrs".into(), r.token_bound_cidrs.clone().into());
    m.insert("token_type".into(), "default-service".into());
    m
}

/// `auth/token/create/<role>`.
pub fn create(core: &Core, caller: &Caller, req: &Request, name: &str) -> CoreResult<Response> {
    let name = role_name(name)?;
    let role: Role = view(core)
        .get_json(&name)?
        .ok_or_else(|| CoreError::bad(format!("unknown role {name}")))?;
    let d = &req.data;
    let no_default =
        role.token_no_default_policy || fields::opt_bool(d, "no_default_policy")?.unwrap_or(false);
    let requested = fields::opt_str_list(d, "policies")?.filter(|p| !p.is_empty());
    let mut policies = match requested {
        Some(p) => sorted_policies(p, false),
        None if !role.allowed_policies.is_empty() => role.allowed_policies.clone(),
        None => caller.entry.policies.clone(),
    };
    policies.retain(|p| p != "default");
    if policies.iter().any(|p| p == "root") {
        return Err(CoreError::bad("root tokens may not be created from a role"));
    }
    if let Some(p) = policies.iter().find(|p| role.disallowed_policies.contains(p)) {
        return Err(CoreError::bad(format!(
            "token policies ({p}) must not contain disallowed policies"
        )));
    }
    if !role.allowed_policies.is_empty() {
        if let Some(p) = policies.iter().find(|p| !role.allowed_policies.contains(p)) {
            return Err(CoreError::bad(format!(
                "token policies ({p}) must be subset of the role's allowed policies"
            )));
        }
    }
    let policies = sorted_policies(policies, !no_default);
    let mut path = format!("auth/token/create/{name}");
    if !role.path_suffix.is_empty() {
        path.push('/');
        path.push_str(&role.path_suffix);
    }
    let num_uses = match fields::opt_i64(d, "num_uses")?.unwrap_or(0) {
        n if n < 0 => return Err(CoreError::bad("number of uses cannot be negative")),
        0 => role.token_num_uses,
        n if role.token_num_uses > 0 => n.min(role.token_num_uses),
        n => n,
    };
    let (id, entry) = core.tokens.create(
        &core.barrier,
        NewToken {
            id: None,
            policies,
            meta: fields::opt_str_map(d, "meta")?.unwrap_or_default(),
            display_name: sanitize_display(fields::opt_str(d, "display_name")?.unwrap_or("")),
            num_uses,
            ttl: fields::opt_duration(d, "ttl")?.unwrap_or(0),
            explicit_max_ttl: role.token_explicit_max_ttl,
            period: role.token_period,
            renewable: role.renewable && fields::opt_bool(d, "renewable")?.unwrap_or(true),
            parent: (!role.orphan).then(|| caller.entry.hash.clone()),
            path,
            bound_cidrs: if role.token_bound_cidrs.is_empty() {
                caller.entry.bound_cidrs.clone()
            } else {
                role.token_bound_cidrs.clone()
            },
            role: name,
        },
    )?;
    Ok(Response { auth: Some(auth_info(&id, &entry)), ..Default::default() })
}
