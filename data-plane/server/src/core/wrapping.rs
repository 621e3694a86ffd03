//! Response wrapping: a response is stored in the cubbyhole of a fresh single-purpose token
//! (policy `response-wrapping`, TTL = the requested wrap TTL) and the client receives only
//! `wrap_info`. Unwrapping reads and destroys it under a per-token lock, so it succeeds once.

use super::error::{CoreError, CoreResult};
use super::request::{AuthInfo, Response, WrapInfo};
use super::storage::View;
use super::Core;
use crate::auth::token::store::{NewToken, CUBBYHOLE_PREFIX};
use crate::auth::token::TokenEntry;
use crate::util::{now_unix, rfc3339};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const WRAPPING_POLICY: &str = "response-wrapping";
const INVALID: &str = "wrapping token is not valid or does not exist";

#[derive(Serialize, Deserialize)]
struct Wrapped {
    creation_path: String,
    creation_time: i64,
    creation_ttl: u64,
    data: Option<Map<String, Value>>,
    auth: Option<AuthInfo>,
    warnings: Vec<String>,
    mount_type: String,
}

fn cubby<'a>(core: &'a Core, hash: &str) -> View<'a> {
    View::new(&core.barrier, format!("{CUBBYHOLE_PREFIX}{hash}/"))
}

impl Core {
    /// Wraps `resp` for `ttl` seconds; returns the response that carries only `wrap_info`.
    pub fn wrap(&self, resp: Response, ttl: u64, creation_path: &str) -> CoreResult<Response> {
        let ttl = if ttl == 0 { 300 } else { ttl };
        let (id, entry) = self.tokens.create(
            &self.barrier,
            NewToken {
                policies: vec![WRAPPING_POLICY.into()],
                display_name: "response-wrapping".into(),
                ttl,
                explicit_max_ttl: ttl,
                renewable: false,
                path: creation_path.to_owned(),
                ..Default::default()
            },
        )?;
        let wrapped_accessor = resp.auth.as_ref().map(|a| a.accessor.clone()).unwrap_or_default();
        let now = now_unix();
        let record = Wrapped {
            creation_path: creation_path.to_owned(),
            creation_time: now,
            creation_ttl: entry.ttl,
            data: resp.data,
            auth: resp.auth,
            warnings: resp.warnings,
            mount_type: resp.mount_type,
        };
        cubby(self, &entry.hash).put_json("response", &record)?;
        Ok(Response {
            wrap_info: Some(WrapInfo {
                token: id,
                accessor: entry.accessor,
                // What the token store granted (the system max may cap the request).
                ttl: entry.ttl,
                creation_time: rfc3339(now),
                creation_path: creation_path.to_owned(),
                wrapped_accessor,
            }),
            ..Default::default()
        })
    }

    fn wrapping_entry(&self, token: &str) -> CoreResult<TokenEntry> {
        self.tokens
            .lookup(&self.barrier, token)?
            .filter(|e| e.policies.iter().any(|p| p == WRAPPING_POLICY))
            .ok_or_else(|| CoreError::bad(INVALID))
    }

    /// Metadata of a wrapping token without consuming it.
    pub fn wrap_lookup(&self, token: &str) -> CoreResult<Map<String, Value>> {
        let entry = self.wrapping_entry(token)?;
        let rec: Wrapped = cubby(self, &entry.hash)
            .get_json("response")?
            .ok_or_else(|| CoreError::bad(INVALID))?;
        let mut m = Map::new();
        m.insert("creation_path".into(), rec.creation_path.into());
        m.insert("creation_time".into(), rfc3339(rec.creation_time).into());
        m.insert("creation_ttl".into(), rec.creation_ttl.into());
        Ok(m)
    }

    fn take_wrapped(&self, token: &str) -> CoreResult<Wrapped> {
        let entry = self.wrapping_entry(token)?;
        let _g = crate::engines::kv::locks::lock("wrapping", &entry.hash);
        let rec: Wrapped = cubby(self, &entry.hash)
            .get_json("response")?
            .ok_or_else(|| CoreError::bad(INVALID))?;
        self.tokens.revoke_tree(&self.barrier, &entry.hash)?;
        Ok(rec)
    }

    /// Returns the wrapped response and destroys the wrapping token.
    pub fn unwrap(&self, token: &str) -> CoreResult<Response> {
        let rec = self.take_wrapped(token)?;
        Ok(Response {
            data: rec.data,
            auth: rec.auth,
            warnings: rec.warnings,
            mount_type: rec.mount_type,
            ..Default::default()
        })
    }

    /// Moves a wrapped response to a new wrapping token with the same TTL and path.
    pub fn rewrap(&self, token: &str) -> CoreResult<Response> {
        let rec = self.take_wrapped(token)?;
        let inner = Response {
            data: rec.data,
            auth: rec.auth,
            warnings: rec.warnings,
            mount_type: rec.mount_type,
            ..Default::default()
        };
        self.wrap(inner, rec.creation_ttl, &rec.creation_path)
    }
}
