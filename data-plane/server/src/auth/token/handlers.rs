//! The `auth/token/*` API: create (and create-orphan), lookup(-self, -accessor), renew(-self),
//! revoke(-self, -accessor, -orphan), accessors. Policy rules follow Vault: a child's policies
//! must be a subset of its parent's unless the parent is root or has sudo on the create path.

use super::store::NewToken;
use super::TokenEntry;
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{AuthInfo, Operation, Request, Response};
use crate::core::router::Caller;
use crate::core::Core;
use crate::obj;
use crate::util::{fields, now_unix};

pub fn handle(core: &Core, caller: &Caller, req: &Request, path: &str) -> CoreResult<Response> {
    let write = matches!(req.op, Operation::Update | Operation::Create);
    match path {
        "create" | "create-orphan" if write => create(core, caller, req, path == "create-orphan"),
        "lookup" if write || req.op == Operation::Read => {
            let (id, entry) = target_token(core, caller, req)?;
            Ok(Response::data(entry.lookup_data(Some(&id), now_unix())))
        }
        "lookup-self" if write || req.op == Operation::Read => {
            Ok(Response::data(caller.entry.lookup_data(Some(&caller.id), now_unix())))
        }
        "lookup-accessor" if write => {
            let entry = by_accessor(core, req)?;
            Ok(Response::data(entry.lookup_data(None, now_unix())))
        }
        "renew" if write => {
            let (id, entry) = target_token(core, caller, req)?;
            renew(core, req, &id, &entry)
        }
        "renew-self" if write => renew(core, req, &caller.id, &caller.entry),
        "renew-accessor" if write => {
            let entry = by_accessor(core, req)?;
            renew(core, req, "", &entry)
        }
        "revoke" if write => {
            let (_, entry) = target_token(core, caller, req)?;
            core.tokens.revoke_tree(&core.barrier, &entry.hash)?;
            Ok(Response::empty())
        }
        "revoke-self" if write => {
            core.tokens.revoke_tree(&core.barrier, &caller.entry.hash)?;
            Ok(Response::empty())
        }
        "revoke-accessor" if write => {
            let entry = by_accessor(core, req)?;
            core.tokens.revoke_tree(&core.barrier, &entry.hash)?;
            Ok(Response::empty())
        }
        "revoke-orphan" if write => {
            if !caller.has_sudo("auth/token/revoke-orphan") {
                return Err(CoreError::PermissionDenied);
            }
            let (_, entry) = target_token(core, caller, req)?;
            core.tokens.revoke_orphan(&core.barrier, &entry.hash)?;
            Ok(Response::empty())
        }
        "accessors" | "accessors/" if req.op == Operation::List => {
            if !caller.has_sudo("auth/token/accessors") {
                return Err(CoreError::PermissionDenied);
            }
            let keys = core.tokens.accessors(&core.barrier)?;
            Ok(Response::data(obj! { "keys" => keys }))
        }
        "tidy" if write => Ok(Response::empty()),
        "roles" => super::roles::handle(core, req, ""),
        p if p.starts_with("roles/") => super::roles::handle(core, req, &p[6..]),
        p if write && p.starts_with("create/") => super::roles::create(core, caller, req, &p[7..]),
        "create" | "create-orphan" | "lookup" | "lookup-self" | "lookup-accessor" | "renew"
        | "renew-self" | "renew-accessor" | "revoke" | "revoke-self" | "revoke-accessor"
        | "revoke-orphan" | "accessors" | "tidy" => Err(CoreError::UnsupportedOperation),
        _ => Err(CoreError::NotFound(Some(format!("unsupported path auth/token/{path}")))),
    }
}

/// The token named by the `token` field (or the caller's own when absent).
fn target_token(core: &Core, caller: &Caller, req: &Request) -> CoreResult<(String, TokenEntry)> {
    match fields::opt_str(&req.data, "token")?.filter(|t| !t.is_empty()) {
        None => Ok((caller.id.clone(), (*caller.entry).clone())),
        Some(t) => {
            let entry = core.tokens.lookup(&core.barrier, t)?.ok_or(CoreError::PermissionDenied)?;
            Ok((t.to_owned(), entry))
        }
    }
}

fn by_accessor(core: &Core, req: &Request) -> CoreResult<TokenEntry> {
    let acc = fields::opt_str(&req.data, "accessor")?
        .filter(|a| !a.is_empty())
        .ok_or_else(|| CoreError::bad("missing accessor"))?;
    core.tokens
        .lookup_accessor(&core.barrier, acc)?
        .ok_or_else(|| CoreError::bad("invalid accessor"))
}

pub fn auth_info(id: &str, e: &TokenEntry) -> AuthInfo {
    AuthInfo {
        client_token: id.to_owned(),
        accessor: e.accessor.clone(),
        policies: e.policies.clone(),
        token_policies: e.policies.clone(),
        identity_policies: None,
        metadata: (!e.meta.is_empty()).then(|| e.meta.clone()),
        // The TTL just granted (not expire - now, which can straddle a second boundary).
        lease_duration: if e.expire_time.is_some() { e.ttl } else { 0 },
        renewable: e.renewable,
        entity_id: e.entity_id.clone(),
        token_type: "service".into(),
        orphan: e.orphan,
        mfa_requirement: None,
        num_uses: e.num_uses,
    }
}

fn renew(core: &Core, req: &Request, id: &str, entry: &TokenEntry) -> CoreResult<Response> {
    let increment = fields::opt_duration(&req.data, "increment")?;
    let renewed = core.tokens.renew(&core.barrier, entry, increment)?;
    Ok(Response { auth: Some(auth_info(id, &renewed)), ..Default::default() })
}

pub(super) fn sorted_policies(mut p: Vec<String>, add_default: bool) -> Vec<String> {
    for x in p.iter_mut() {
        *x = x.trim().to_lowercase();
    }
    p.retain(|x| !x.is_empty());
    if add_default && !p.iter().any(|x| x == "root") && !p.iter().any(|x| x == "default") {
        p.push("default".into());
    }
    p.sort();
    p.dedup();
    p
}

fn create(
    core: &Core,
    caller: &Caller,
    req: &Request,
    orphan_endpoint: bool,
) -> CoreResult<Response> {
    let d = &req.data;
    let parent = &caller.entry;
    let privileged = parent.is_root() || caller.has_sudo("auth/token/create");
    let no_default = fields::opt_bool(d, "no_default_policy")?.unwrap_or(false);
    let requested = fields::opt_str_list(d, "policies")?;
    let policies = match requested {
        Some(p) if !p.is_empty() => {
            let p = sorted_policies(p, !no_default);
            if !privileged {
                if p.iter().any(|x| x == "root") {
                    return Err(CoreError::bad(
                        "root tokens may not be created by non-root tokens",
                    ));
                }
                if let Some(extra) =
                    p.iter().find(|x| *x != "default" && !parent.policies.contains(x))
                {
                    return Err(CoreError::bad(format!(
                        "child policies must be subset of parent policies: {extra:?} is not held by the parent"
                    )));
                }
            }
            p
        }
        _ => {
            let inherited: Vec<String> = parent
                .policies
                .iter()
                .filter(|p| !(no_default && *p == "default"))
                .cloned()
                .collect();
            sorted_policies(inherited, false)
        }
    };
    let no_parent = fields::opt_bool(d, "no_parent")?.unwrap_or(false);
    if no_parent && !privileged {
        return Err(CoreError::bad("root or sudo privileges required to create orphan token"));
    }
    let orphan = orphan_endpoint || no_parent;
    let id = fields::opt_str(d, "id")?.filter(|s| !s.is_empty()).map(str::to_owned);
    if id.is_some() && !privileged {
        return Err(CoreError::bad("root or sudo privileges required to specify token id"));
    }
    if let Some(t) = fields::opt_str(d, "type")? {
        if !t.is_empty() && t != "service" && t != "default" {
            return Err(CoreError::bad(format!("token type {t:?} is not supported")));
        }
    }
    let num_uses = fields::opt_i64(d, "num_uses")?.unwrap_or(0);
    if num_uses < 0 {
        return Err(CoreError::bad("number of uses cannot be negative"));
    }
    let display = fields::opt_str(d, "display_name")?.unwrap_or("");
    let display_name = sanitize_display(display);
    let meta = fields::opt_str_map(d, "meta")?.unwrap_or_default();
    let (id, entry) = core.tokens.create(
        &core.barrier,
        NewToken {
            id,
            policies,
            meta,
            display_name,
            num_uses,
            ttl: fields::opt_duration(d, "ttl")?.unwrap_or(0),
            explicit_max_ttl: fields::opt_duration(d, "explicit_max_ttl")?.unwrap_or(0),
            period: fields::opt_duration(d, "period")?.unwrap_or(0),
            renewable: fields::opt_bool(d, "renewable")?.unwrap_or(true),
            parent: (!orphan).then(|| parent.hash.clone()),
            // A network-bound token cannot mint a child that escapes its binding.
            bound_cidrs: parent.bound_cidrs.clone(),
            role: String::new(),
            path: if orphan_endpoint { "auth/token/create-orphan" } else { "auth/token/create" }
                .into(),
        },
    )?;
    Ok(Response { auth: Some(auth_info(&id, &entry)), ..Default::default() })
}

/// Vault prefixes display names with `token-` and keeps them to safe characters.
pub(super) fn sanitize_display(name: &str) -> String {
    if name.is_empty() {
        return "token".into();
    }
    let clean: String = name
        .chars()
        .map(
            |c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '-' },
        )
        .collect();
    let clean = clean.strip_prefix("token-").unwrap_or(&clean);
    format!("token-{clean}")
}
