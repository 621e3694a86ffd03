//! Response wrapping (Vault's cubbyhole response wrapping): instead of returning a response,
//! store it in the cubbyhole of a fresh single-use token and hand out only that token. The
//! token can be unwrapped exactly once, before its TTL runs out, by whoever holds it.
//!
//! Why a token rather than a bare id: the wrapping token reuses the token store's expiry sweep
//! (an expired wrapping token takes its cubbyhole with it) and its lease/accessor machinery,
//! exactly as Vault does, so nothing here needs its own garbage collection.

use super::error::{CoreError, CoreResult};
use super::request::Response;
use super::storage::View;
use super::Core;
use crate::auth::token::store::{NewToken, CUBBYHOLE_PREFIX};
use crate::auth::token::TokenEntry;
use crate::util::{now_unix, rfc3339};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::{Mutex, PoisonError};

/// The only policy a wrapping token carries; it grants nothing by itself.
pub const WRAPPING_POLICY: &str = "response-wrapping";
/// Cubbyhole key of the wrapped record.
const RECORD_KEY: &str = "response";
/// Vault's message for every unusable wrapping token (unknown, used, expired, not wrapping).
pub const INVALID_WRAPPING_TOKEN: &str = "wrapping token is not valid or does not exist";

/// Serialises unwrap/rewrap so two concurrent unwraps of one token cannot both succeed. Held
/// only for the read-then-revoke of one token, never around normal request handling.
static CONSUME: Mutex<()> = Mutex::new(());

/// The `wrap_info` block of a wrapped response. `token` is a bearer secret: Debug redacts it.
#[derive(Clone, Serialize)]
pub struct WrapInfo {
    pub token: String,
    pub accessor: String,
    pub ttl: u64,
    pub creation_time: String,
    pub creation_path: String,
    /// Accessor of the token inside, when a token-issuing response was wrapped.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub wrapped_accessor: String,
}

impl std::fmt::Debug for WrapInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrapInfo")
            .field("accessor", &self.accessor)
            .field("ttl", &self.ttl)
            .field("creation_path", &self.creation_path)
            .finish_non_exhaustive()
    }
}

/// What the wrapping token's cubbyhole holds.
#[derive(Serialize, Deserialize)]
struct Record {
    creation_path: String,
    creation_time: i64,
    creation_ttl: u64,
    /// The response as the client would have received it (Vault's envelope).
    body: Value,
}

/// Parses the `X-Vault-Wrap-TTL` header: seconds or a Go duration. `Ok(None)` when absent,
/// empty or zero (zero means "do not wrap" in Vault).
pub fn header_ttl(value: Option<&str>) -> Result<Option<u64>, String> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    let secs = crate::util::duration::parse_str(v)
        .map_err(|_| format!("error parsing X-Vault-Wrap-TTL value {v:?}"))?;
    Ok((secs > 0).then_some(secs))
}

/// The response as Vault's JSON envelope, which is what unwrapping returns.
fn envelope(resp: &Response) -> CoreResult<Value> {
    let mut body = json!({
        "request_id": "",
        "lease_id": resp.lease_id,
        "renewable": resp.renewable,
        "lease_duration": resp.lease_duration,
        "data": resp.data,
        "wrap_info": Value::Null,
        "warnings": if resp.warnings.is_empty() { Value::Null } else { json!(resp.warnings) },
        "auth": serde_json::to_value(&resp.auth)?,
        "mount_type": resp.mount_type,
    });
    if let (true, Some(data), Some(obj)) = (resp.flatten, &resp.data, body.as_object_mut()) {
        for (k, v) in data {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Ok(body)
}

fn cubbyhole<'a>(core: &'a Core, entry: &TokenEntry) -> View<'a> {
    View::new(&core.barrier, format!("{CUBBYHOLE_PREFIX}{}/", entry.hash))
}

fn is_wrapping(entry: &TokenEntry) -> bool {
    entry.policies.len() == 1 && entry.policies[0] == WRAPPING_POLICY
}

impl Core {
    /// Whether a response can be wrapped: raw sys answers and empty (204) responses pass
    /// through unwrapped, as in Vault.
    pub fn wrappable(resp: &Response) -> bool {
        resp.raw.is_none() && !resp.is_empty() && resp.wrap_info.is_none()
    }

    /// Stores `resp` behind a new wrapping token valid for `ttl` seconds and returns the
    /// response that replaces it (only `wrap_info`).
    pub fn wrap_response(
        &self,
        resp: &Response,
        ttl: u64,
        creation_path: &str,
    ) -> CoreResult<Response> {
        let body = envelope(resp)?;
        let wrapped_accessor = resp.auth.as_ref().map(|a| a.accessor.clone()).unwrap_or_default();
        let info = self.store_wrapped(body, ttl, creation_path, now_unix())?;
        Ok(Response {
            wrap_info: Some(WrapInfo { wrapped_accessor, ..info }),
            mount_type: resp.mount_type.clone(),
            ..Default::default()
        })
    }

    fn store_wrapped(
        &self,
        body: Value,
        ttl: u64,
        creation_path: &str,
        creation_time: i64,
    ) -> CoreResult<WrapInfo> {
        let (token, entry) = self.tokens.create(
            &self.barrier,
            NewToken {
                id: None,
                policies: vec![WRAPPING_POLICY.to_owned()],
                display_name: "response-wrapping".into(),
                num_uses: 1,
                ttl,
                explicit_max_ttl: ttl,
                renewable: false,
                parent: None,
                path: creation_path.to_owned(),
                ..Default::default()
            },
        )?;
        let record = Record {
            creation_path: creation_path.to_owned(),
            creation_time,
            creation_ttl: ttl,
            body,
        };
        if let Err(e) = cubbyhole(self, &entry).put_json(RECORD_KEY, &record) {
            // Do not leave a token behind that unwraps to nothing.
            let _ = self.tokens.revoke_tree(&self.barrier, &entry.hash);
            return Err(e);
        }
        Ok(WrapInfo {
            token,
            accessor: entry.accessor,
            ttl: entry.ttl,
            creation_time: rfc3339(creation_time),
            creation_path: creation_path.to_owned(),
            wrapped_accessor: String::new(),
        })
    }

    /// The live wrapping token entry and its record, or the client error Vault gives.
    fn wrapped(&self, token: &str) -> CoreResult<(TokenEntry, Record)> {
        let invalid = || CoreError::bad(INVALID_WRAPPING_TOKEN);
        let entry = self.tokens.lookup(&self.barrier, token)?.ok_or_else(invalid)?;
        if !is_wrapping(&entry) {
            return Err(invalid());
        }
        let record: Record = cubbyhole(self, &entry).get_json(RECORD_KEY)?.ok_or_else(invalid)?;
        Ok((entry, record))
    }

    /// Whether `token` is a live wrapping token (used to let it authorise its own unwrap).
    pub fn is_wrapping_token(entry: &TokenEntry) -> bool {
        is_wrapping(entry)
    }

    /// `sys/wrapping/lookup`: the token's creation facts; does not consume it.
    pub fn wrapping_lookup(&self, token: &str) -> CoreResult<Map<String, Value>> {
        let (_, record) = self.wrapped(token)?;
        Ok(crate::obj! {
            "creation_path" => record.creation_path,
            "creation_time" => rfc3339(record.creation_time),
            "creation_ttl" => record.creation_ttl,
        })
    }

    /// `sys/wrapping/unwrap`: returns the wrapped envelope (with a fresh request id) and
    /// revokes the token, so a second unwrap fails.
    pub fn unwrap(&self, token: &str) -> CoreResult<Value> {
        let _consume = CONSUME.lock().unwrap_or_else(PoisonError::into_inner);
        let (entry, record) = self.wrapped(token)?;
        self.tokens.revoke_tree(&self.barrier, &entry.hash)?;
        let mut body = record.body;
        if let Some(obj) = body.as_object_mut() {
            obj.insert("request_id".into(), crate::util::ids::uuid().into());
        }
        Ok(body)
    }

    /// `sys/wrapping/rewrap`: moves the wrapped response to a new token with the same TTL
    /// and creation path; the old token stops working.
    pub fn rewrap(&self, token: &str) -> CoreResult<Response> {
        let _consume = CONSUME.lock().unwrap_or_else(PoisonError::into_inner);
        let (entry, record) = self.wrapped(token)?;
        let info = self.store_wrapped(
            record.body,
            record.creation_ttl,
            &record.creation_path,
            now_unix(),
        )?;
        self.tokens.revoke_tree(&self.barrier, &entry.hash)?;
        Ok(Response { wrap_info: Some(info), ..Default::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: Option<&str>, expect: Result<Option<u64>, ()>) {
        assert_eq!(header_ttl(input).map_err(|_| ()), expect, "header {input:?}");
    }

    #[test]
    fn wrap_ttl_header() {
        check(None, Ok(None));
        check(Some(""), Ok(None));
        check(Some("0"), Ok(None));
        check(Some("60"), Ok(Some(60)));
        check(Some("60s"), Ok(Some(60)));
        check(Some("10m"), Ok(Some(600)));
        check(Some(" 1h "), Ok(Some(3600)));
        check(Some("soon"), Err(()));
        check(Some("-5"), Err(()));
    }

    #[test]
    fn wrap_info_debug_redacts_token() {
        let w = WrapInfo {
            token: "hvs.secretsecret".into(),
            accessor: "acc".into(),
            ttl: 1,
            creation_time: String::new(),
            creation_path: "p".into(),
            wrapped_accessor: String::new(),
        };
        assert!(!format!("{w:?}").contains("secretsecret"));
    }
}
