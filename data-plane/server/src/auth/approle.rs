//! The AppRole auth method: roles with a role_id and (optionally bound) secret_ids. Secret ids
//! are stored only as salted HMACs, indexed by accessor for listing and destruction, and carry
//! their own metadata, TTL and use count.

use super::token_params::TokenParams;
use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::MountEntry;
use crate::core::request::{Operation, Request, Response};
use crate::core::storage::View;
use crate::core::Core;
use crate::obj;
use crate::util::{fields, ids, now_unix, rfc3339};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize)]
struct Role {
    name: String,
    role_id: String,
    bind_secret_id: bool,
    secret_id_num_uses: i64,
    secret_id_ttl: u64,
    #[serde(default)]
    secret_id_bound_cidrs: Vec<String>,
    #[serde(flatten)]
    token: TokenParams,
}

#[derive(Serialize, Deserialize)]
struct SecretId {
    accessor: String,
    metadata: BTreeMap<String, String>,
    creation_time: i64,
    /// 0 = never expires.
    expiration_time: i64,
    num_uses: i64,
    #[serde(default)]
    cidr_list: Vec<String>,
}

const BAD_LOGIN: &str = "invalid role ID or secret ID";

/// Salted HMAC used to store role ids and secret ids (per mount; created on first use).
fn salted(view: &View<'_>, value: &str) -> CoreResult<String> {
    let salt = match view.get("salt")? {
        Some(s) => s,
        None => {
            let mut s = vec![0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut s);
            view.put("salt", &s)?;
            s
        }
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&salt).map_err(CoreError::internal)?;
    mac.update(value.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

fn role_key(name: &str) -> CoreResult<String> {
    let n = name.trim().to_lowercase();
    if n.is_empty() || n.contains('/') {
        return Err(CoreError::bad("invalid role name"));
    }
    Ok(format!("role/{n}"))
}

fn load_role(view: &View<'_>, name: &str) -> CoreResult<Role> {
    view.get_json(&role_key(name)?)?.ok_or(CoreError::NotFound(None))
}

pub fn login(
    core: &Core,
    mount: &MountEntry,
    view: &View<'_>,
    req: &Request,
) -> CoreResult<Response> {
    if !matches!(req.op, Operation::Update | Operation::Create) {
        return Err(CoreError::UnsupportedOperation);
    }
    let role_id = fields::opt_str(&req.data, "role_id")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CoreError::bad("missing role_id"))?;
    let name_bytes = view.get(&format!("role_id/{}", salted(view, role_id)?))?;
    let name = match name_bytes {
        Some(b) => String::from_utf8(b).map_err(CoreError::internal)?,
        None => return Err(CoreError::bad(BAD_LOGIN)),
    };
    let role = load_role(view, &name).map_err(|_| CoreError::bad(BAD_LOGIN))?;
    let client_ip = req.remote_addr.map(|a| a.ip());
    if !crate::util::cidr::allows(&role.secret_id_bound_cidrs, client_ip) {
        return Err(CoreError::bad("source address unauthorized by CIDR restrictions on the role"));
    }
    let mut meta = BTreeMap::new();
    meta.insert("role_name".to_owned(), role.name.clone());
    if role.bind_secret_id {
        let secret = fields::opt_str(&req.data, "secret_id")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CoreError::bad("missing secret_id"))?;
        let _g = crate::engines::kv::locks::lock(&mount.uuid, &role.name);
        let key = format!("secret_id/{}/{}", role.name, salted(view, secret)?);
        let mut entry: SecretId = view.get_json(&key)?.ok_or_else(|| CoreError::bad(BAD_LOGIN))?;
        if !crate::util::cidr::allows(&entry.cidr_list, client_ip) {
            return Err(CoreError::bad(
                "source address unauthorized through CIDR restrictions on the secret ID",
            ));
        }
        if entry.expiration_time > 0 && entry.expiration_time <= now_unix() {
            delete_secret(view, &role.name, &key, &entry)?;
            return Err(CoreError::bad(BAD_LOGIN));
        }
        match entry.num_uses {
            0 => {}
            1 => delete_secret(view, &role.name, &key, &entry)?,
            _ => {
                entry.num_uses -= 1;
                view.put_json(&key, &entry)?;
            }
        }
        meta.extend(entry.metadata);
    }
    role.token.check_login_source(req.remote_addr)?;
    let mount_name = mount.path.trim_end_matches('/');
    role.token.issue(core, mount, "approle", format!("auth/{mount_name}/login"), meta)
}

fn delete_secret(view: &View<'_>, role: &str, key: &str, e: &SecretId) -> CoreResult<()> {
    let acc = format!("accessor/{role}/{}", e.accessor);
    view.transaction(&[(key, None), (acc.as_str(), None)])
}

pub fn handle(view: &View<'_>, req: &Request, rest: &str) -> CoreResult<Response> {
    let write = matches!(req.op, Operation::Update | Operation::Create);
    let Some(tail) = rest.strip_prefix("role").map(|t| t.trim_start_matches('/')) else {
        return Err(CoreError::NotFound(None));
    };
    if tail.is_empty() {
        if req.op != Operation::List {
            return Err(CoreError::UnsupportedOperation);
        }
        return crate::engines::kv::list_response(view.list("role/")?);
    }
    let (name, sub) = tail.split_once('/').unwrap_or((tail, ""));
    let sub = if req.op == Operation::List { sub.trim_end_matches('/') } else { sub };
    match (sub, req.op) {
        ("", Operation::Read) => read_role(view, name),
        ("", _) if write => write_role(view, req, name),
        ("", Operation::Delete) => delete_role(view, name),
        ("role-id", Operation::Read) => {
            Ok(Response::data(obj! { "role_id" => load_role(view, name)?.role_id }))
        }
        ("role-id", _) if write => {
            let new_id = fields::opt_str(&req.data, "role_id")?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| CoreError::bad("missing role_id"))?;
            let mut role = load_role(view, name)?;
            set_role_id(view, &mut role, new_id)?;
            view.put_json(&role_key(name)?, &role)?;
            Ok(Response::empty())
        }
        ("secret-id", Operation::List) => {
            let role = load_role(view, name)?;
            crate::engines::kv::list_response(view.list(&format!("accessor/{}/", role.name))?)
        }
        ("secret-id", _) if write => new_secret(view, req, name, None),
        ("custom-secret-id", _) if write => {
            let custom = fields::opt_str(&req.data, "secret_id")?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| CoreError::bad("missing secret_id"))?
                .to_owned();
            new_secret(view, req, name, Some(custom))
        }
        ("secret-id/lookup", _) if write => {
            let role = load_role(view, name)?;
            let secret = fields::opt_str(&req.data, "secret_id")?
                .ok_or_else(|| CoreError::bad("missing secret_id"))?;
            let key = format!("secret_id/{}/{}", role.name, salted(view, secret)?);
            match view.get_json::<SecretId>(&key)? {
                Some(e) => Ok(Response::data(describe_secret(&e))),
                None => Err(CoreError::NotFound(None)),
            }
        }
        ("secret-id/destroy", _) if write || req.op == Operation::Delete => {
            let role = load_role(view, name)?;
            let secret = fields::opt_str(&req.data, "secret_id")?
                .ok_or_else(|| CoreError::bad("missing secret_id"))?;
            let key = format!("secret_id/{}/{}", role.name, salted(view, secret)?);
            if let Some(e) = view.get_json::<SecretId>(&key)? {
                delete_secret(view, &role.name, &key, &e)?;
            }
            Ok(Response::empty())
        }
        ("secret-id-accessor/lookup" | "secret-id-accessor/destroy", _)
            if write || req.op == Operation::Delete =>
        {
            let role = load_role(view, name)?;
            let acc = fields::opt_str(&req.data, "secret_id_accessor")?
                .ok_or_else(|| CoreError::bad("missing secret_id_accessor"))?;
            let hash = view.get(&format!("accessor/{}/{acc}", role.name))?.ok_or_else(|| {
                CoreError::bad("failed to find accessor entry for secret_id_accessor")
            })?;
            let key = format!(
                "secret_id/{}/{}",
                role.name,
                String::from_utf8(hash).map_err(CoreError::internal)?
            );
            let entry: SecretId = view.get_json(&key)?.ok_or(CoreError::NotFound(None))?;
            if sub.ends_with("lookup") {
                return Ok(Response::data(describe_secret(&entry)));
            }
            delete_secret(view, &role.name, &key, &entry)?;
            Ok(Response::empty())
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}

fn read_role(view: &View<'_>, name: &str) -> CoreResult<Response> {
    let r = load_role(view, name)?;
    let mut m = Map::new();
    m.insert("bind_secret_id".into(), r.bind_secret_id.into());
    m.insert("secret_id_num_uses".into(), r.secret_id_num_uses.into());
    m.insert("secret_id_ttl".into(), r.secret_id_ttl.into());
    m.insert("secret_id_bound_cidrs".into(), r.secret_id_bound_cidrs.clone().into());
    m.insert("local_secret_ids".into(), false.into());
    r.token.render(&mut m);
    Ok(Response::data(m))
}

fn set_role_id(view: &View<'_>, role: &mut Role, new_id: &str) -> CoreResult<()> {
    let new_key = format!("role_id/{}", salted(view, new_id)?);
    if let Some(owner) = view.get(&new_key)? {
        if owner != role.name.as_bytes() {
            return Err(CoreError::bad("role_id already in use"));
        }
    }
    if !role.role_id.is_empty() {
        view.delete(&format!("role_id/{}", salted(view, &role.role_id)?))?;
    }
    view.put(&new_key, role.name.as_bytes())?;
    role.role_id = new_id.to_owned();
    Ok(())
}

fn write_role(view: &View<'_>, req: &Request, name: &str) -> CoreResult<Response> {
    let key = role_key(name)?;
    let d = &req.data;
    let mut role = match view.get_json::<Role>(&key)? {
        Some(r) => r,
        None => Role {
            name: name.trim().to_lowercase(),
            role_id: String::new(),
            bind_secret_id: true,
            secret_id_num_uses: 0,
            secret_id_ttl: 0,
            secret_id_bound_cidrs: Vec::new(),
            token: TokenParams::default(),
        },
    };
    if let Some(v) = fields::opt_bool(d, "bind_secret_id")? {
        role.bind_secret_id = v;
    }
    if let Some(v) = fields::opt_i64(d, "secret_id_num_uses")? {
        if v < 0 {
            return Err(CoreError::bad("secret_id_num_uses cannot be negative"));
        }
        role.secret_id_num_uses = v;
    }
    if let Some(v) = fields::opt_duration(d, "secret_id_ttl")? {
        role.secret_id_ttl = v;
    }
    if let Some(v) = fields::opt_str_list(d, "secret_id_bound_cidrs")? {
        crate::util::cidr::validate(&v).map_err(CoreError::BadRequest)?;
        role.secret_id_bound_cidrs = v;
    }
    role.token.update(d)?;
    if !role.bind_secret_id
        && role.secret_id_bound_cidrs.is_empty()
        && role.token.token_bound_cidrs.is_empty()
    {
        return Err(CoreError::bad(
            "at least one constraint should be enabled on the role (bind_secret_id or a CIDR binding)",
        ));
    }
    if role.role_id.is_empty() {
        let id = fields::opt_str(d, "role_id")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(ids::uuid);
        set_role_id(view, &mut role, &id)?;
    }
    view.put_json(&key, &role)?;
    Ok(Response::empty())
}

fn delete_role(view: &View<'_>, name: &str) -> CoreResult<Response> {
    let key = role_key(name)?;
    if let Some(role) = view.get_json::<Role>(&key)? {
        view.delete(&format!("role_id/{}", salted(view, &role.role_id)?))?;
        view.delete_prefix(&format!("secret_id/{}/", role.name))?;
        view.delete_prefix(&format!("accessor/{}/", role.name))?;
        view.delete(&key)?;
    }
    Ok(Response::empty())
}

/// Secret-id metadata arrives as a map or, from hvac, as a JSON-encoded string.
fn metadata(d: &Map<String, Value>) -> CoreResult<BTreeMap<String, String>> {
    match d.get("metadata") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(BTreeMap::new()),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|_| CoreError::bad("metadata must be a JSON object of strings")),
        Some(Value::Object(_)) => Ok(fields::opt_str_map(d, "metadata")?.unwrap_or_default()),
        Some(_) => Err(CoreError::bad("metadata must be a JSON object of strings")),
    }
}

fn new_secret(
    view: &View<'_>,
    req: &Request,
    name: &str,
    custom: Option<String>,
) -> CoreResult<Response> {
    let role = load_role(view, name)?;
    let d = &req.data;
    let secret = custom.unwrap_or_else(ids::uuid);
    let ttl = fields::opt_duration(d, "ttl")?.unwrap_or(role.secret_id_ttl);
    let num_uses = fields::opt_i64(d, "num_uses")?.unwrap_or(role.secret_id_num_uses);
    let now = now_unix();
    let entry = SecretId {
        accessor: ids::uuid(),
        metadata: metadata(d)?,
        creation_time: now,
        expiration_time: if ttl > 0 { now.saturating_add(crate::util::secs(ttl)) } else { 0 },
        num_uses: num_uses.max(0),
        cidr_list: {
            let l = fields::opt_str_list(d, "cidr_list")?.unwrap_or_default();
            crate::util::cidr::validate(&l).map_err(CoreError::BadRequest)?;
            l
        },
    };
    let hash = salted(view, &secret)?;
    let key = format!("secret_id/{}/{hash}", role.name);
    if view.get(&key)?.is_some() {
        return Err(CoreError::bad("secret_id already exists"));
    }
    let acc_key = format!("accessor/{}/{}", role.name, entry.accessor);
    let bytes = serde_json::to_vec(&entry)?;
    view.transaction(&[(key.as_str(), Some(&bytes)), (acc_key.as_str(), Some(hash.as_bytes()))])?;
    Ok(Response::data(obj! {
        "secret_id" => secret,
        "secret_id_accessor" => entry.accessor,
        "secret_id_ttl" => ttl,
        "secret_id_num_uses" => entry.num_uses,
    }))
}

fn describe_secret(e: &SecretId) -> Map<String, Value> {
    obj! {
        "secret_id_accessor" => e.accessor,
        "metadata" => e.metadata,
        "creation_time" => rfc3339(e.creation_time),
        "last_updated_time" => rfc3339(e.creation_time),
        "expiration_time" => if e.expiration_time > 0 { rfc3339(e.expiration_time) } else { "0001-01-01T00:00:00Z".to_owned() },
        "secret_id_num_uses" => e.num_uses,
        "secret_id_ttl" => if e.expiration_time > 0 { (e.expiration_time - e.creation_time).max(0) } else { 0 },
        "cidr_list" => e.cidr_list,
        "token_bound_cidrs" => Vec::<String>::new(),
    }
}
