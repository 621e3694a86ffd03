//! The userpass auth method: users with argon2id password hashes and token settings;
//! `login/<user>` mints a token. Unknown users cost the same hash work as wrong passwords, so
//! response timing does not reveal which usernames exist.

use super::token_params::TokenParams;
use crate::core::error::{CoreError, CoreResult};
use crate::core::mounts::MountEntry;
use crate::core::request::{Operation, Request, Response};
use crate::core::storage::View;
use crate::core::Core;
use crate::util::fields;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use std::sync::OnceLock;

#[derive(Serialize, Deserialize)]
struct User {
    password_hash: String,
    #[serde(flatten)]
    token: TokenParams,
}

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id baseline (19 MiB, 2 passes): costly for guessing, cheap enough per login.
    let params = argon2::Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

fn hash_password(pw: &str) -> CoreResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::internal(format!("password hashing failed: {e}")))
}

fn verify_password(pw: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| hasher().verify_password(pw.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist (equalises timing).
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash_password("coffer-dummy-password").unwrap_or_default())
}

fn user_key(name: &str) -> CoreResult<String> {
    let n = name.trim().to_lowercase();
    if n.is_empty() || n.contains('/') {
        return Err(CoreError::bad("invalid username"));
    }
    Ok(format!("user/{n}"))
}

const BAD_LOGIN: &str = "invalid username or password";

pub fn login(
    core: &Core,
    mount: &MountEntry,
    view: &View<'_>,
    req: &Request,
    user: &str,
) -> CoreResult<Response> {
    if !matches!(req.op, Operation::Update | Operation::Create) {
        return Err(CoreError::UnsupportedOperation);
    }
    let pw = fields::opt_str(&req.data, "password")?
        .ok_or_else(|| CoreError::bad("missing password"))?;
    let key = user_key(user)?;
    let stored: Option<User> = view.get_json(&key)?;
    let ok = match &stored {
        Some(u) => verify_password(pw, &u.password_hash),
        None => {
            verify_password(pw, dummy_hash());
            false
        }
    };
    let Some(u) = stored.filter(|_| ok) else { return Err(CoreError::bad(BAD_LOGIN)) };
    u.token.check_login_source(req.remote_addr)?;
    let name = user.trim().to_lowercase();
    let mount_name = mount.path.trim_end_matches('/');
    let meta = [("username".to_owned(), name.clone())].into_iter().collect();
    u.token.issue(
        core,
        mount,
        &format!("{mount_name}-{name}"),
        format!("auth/{mount_name}/login/{name}"),
        meta,
    )
}

pub fn handle(view: &View<'_>, req: &Request, rest: &str) -> CoreResult<Response> {
    let write = matches!(req.op, Operation::Update | Operation::Create);
    let Some(tail) = rest.strip_prefix("users").map(|t| t.trim_start_matches('/')) else {
        return Err(CoreError::NotFound(None));
    };
    if tail.is_empty() {
        if req.op != Operation::List {
            return Err(CoreError::UnsupportedOperation);
        }
        return crate::engines::kv::list_response(view.list("user/")?);
    }
    let (name, sub) = tail.split_once('/').unwrap_or((tail, ""));
    let key = user_key(name)?;
    match (sub, req.op) {
        ("", Operation::Read) => {
            let u: User = view.get_json(&key)?.ok_or(CoreError::NotFound(None))?;
            let mut m = Map::new();
            u.token.render(&mut m);
            Ok(Response::data(m))
        }
        ("", _) if write => {
            let existing: Option<User> = view.get_json(&key)?;
            let pw = fields::opt_str(&req.data, "password")?;
            let mut u = match (existing, pw) {
                (Some(mut u), pw) => {
                    if let Some(p) = pw {
                        u.password_hash = hash_password(p)?;
                    }
                    u
                }
                (None, Some(p)) if !p.is_empty() => {
                    User { password_hash: hash_password(p)?, token: TokenParams::default() }
                }
                (None, _) => return Err(CoreError::bad("missing password")),
            };
            u.token.update(&req.data)?;
            view.put_json(&key, &u)?;
            Ok(Response::empty())
        }
        ("", Operation::Delete) => {
            view.delete(&key)?;
            Ok(Response::empty())
        }
        ("password", _) if write => {
            let mut u: User =
                view.get_json(&key)?.ok_or_else(|| CoreError::bad("username does not exist"))?;
            let pw = fields::opt_str(&req.data, "password")?
                .filter(|p| !p.is_empty())
                .ok_or_else(|| CoreError::bad("missing password"))?;
            u.password_hash = hash_password(pw)?;
            view.put_json(&key, &u)?;
            Ok(Response::empty())
        }
        ("policies", _) if write => {
            let mut u: User =
                view.get_json(&key)?.ok_or_else(|| CoreError::bad("username does not exist"))?;
            u.token.update(&req.data)?;
            view.put_json(&key, &u)?;
            Ok(Response::empty())
        }
        ("" | "password" | "policies", _) => Err(CoreError::UnsupportedOperation),
        _ => Err(CoreError::NotFound(None)),
    }
}
