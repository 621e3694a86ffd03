//! Transport-neutral request and response types. The HTTP layer builds a [`Request`] from an
//! HTTP exchange and renders a [`Response`] back; everything in between (core, engines, auth,
//! sys) works on these so it can be tested and reasoned about without HTTP.

use serde_json::{Map, Value};
use std::fmt;

/// Vault's logical operations. HTTP PUT/POST arrive as `Update`; the core upgrades to `Create`
/// when the target does not exist yet (Vault's existence check), which matters for ACLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Read,
    Create,
    Update,
    Patch,
    Delete,
    List,
}

impl Operation {
    /// Operations that change state; the HTTP layer runs them off the async workers because
    /// durable writes fsync.
    pub fn is_write(self) -> bool {
        !matches!(self, Operation::Read | Operation::List)
    }
}

/// A client token as received. Never printed: Debug is redacted.
#[derive(Clone, Default)]
pub struct ClientToken(pub String);

impl fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientToken(<redacted>)")
    }
}

pub struct Request {
    pub op: Operation,
    /// Path below `/v1/`, validated (no `..`, no empty segments except a trailing `/`).
    pub path: String,
    /// Body fields (JSON object) or, for GET/DELETE/LIST, query parameters.
    pub data: Map<String, Value>,
    pub token: Option<ClientToken>,
    /// HEAD requests want status only (sys/health).
    pub head: bool,
    /// The unparsed body, for endpoints that take binary input (snapshot restore).
    pub raw_body: Option<Vec<u8>>,
    /// Response wrapping requested (X-Vault-Wrap-TTL), in seconds.
    pub wrap_ttl: Option<u64>,
    /// The client's address as seen by the listener (for audit and CIDR bindings).
    pub remote_addr: Option<std::net::SocketAddr>,
}

impl Request {
    pub fn new(op: Operation, path: impl Into<String>) -> Self {
        Request {
            op,
            path: path.into(),
            data: Map::new(),
            token: None,
            head: false,
            raw_body: None,
            wrap_ttl: None,
            remote_addr: None,
        }
    }
    pub fn with_data(mut self, data: Map<String, Value>) -> Self {
        self.data = data;
        self
    }
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(ClientToken(token.into()));
        self
    }
}

/// The `auth` block of a response (token creation, logins).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct AuthInfo {
    pub client_token: String,
    pub accessor: String,
    pub policies: Vec<String>,
    pub token_policies: Vec<String>,
    pub identity_policies: Option<Vec<String>>,
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
    pub lease_duration: u64,
    pub renewable: bool,
    pub entity_id: String,
    pub token_type: String,
    pub orphan: bool,
    pub mfa_requirement: Option<Value>,
    pub num_uses: i64,
}

/// What a handler produced. `Raw` responses bypass the envelope (sys/health, sys/init, ...
/// which Vault answers with bare JSON and sometimes a non-200 status).
#[derive(Default)]
pub struct Response {
    pub data: Option<Map<String, Value>>,
    /// The `data` object already serialised, instead of `data` (hot read paths such as KV v2
    /// copy the stored JSON through without building values). Consumers that need to inspect
    /// the fields (audit, wrapping) call [`Response::materialize`] first.
    pub data_json: Option<Box<serde_json::value::RawValue>>,
    pub auth: Option<AuthInfo>,
    pub warnings: Vec<String>,
    pub lease_id: String,
    pub lease_duration: u64,
    pub renewable: bool,
    /// Legacy sys endpoints also put `data`'s keys at the top level of the body.
    pub flatten: bool,
    pub raw: Option<RawResponse>,
    pub mount_type: String,
    /// Set when the response was wrapped: the only thing the client sees.
    pub wrap_info: Option<WrapInfo>,
}

/// Vault's `wrap_info` block.
#[derive(Clone, serde::Serialize)]
pub struct WrapInfo {
    pub token: String,
    pub accessor: String,
    pub ttl: u64,
    pub creation_time: String,
    pub creation_path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub wrapped_accessor: String,
}

pub struct RawResponse {
    pub status: u16,
    pub body: Option<Value>,
    /// A non-JSON body (snapshot bytes, Prometheus text) with its content type.
    pub bytes: Option<(&'static str, Vec<u8>)>,
}

impl Response {
    /// 204 No Content.
    pub fn empty() -> Self {
        Response::default()
    }
    pub fn data(data: Map<String, Value>) -> Self {
        Response { data: Some(data), ..Default::default() }
    }
    pub fn raw(status: u16, body: Option<Value>) -> Self {
        Response { raw: Some(RawResponse { status, body, bytes: None }), ..Default::default() }
    }
    pub fn bytes(content_type: &'static str, bytes: Vec<u8>) -> Self {
        Response {
            raw: Some(RawResponse { status: 200, body: None, bytes: Some((content_type, bytes)) }),
            ..Default::default()
        }
    }
    /// A response whose `data` object is pre-serialised JSON (must be a JSON object).
    pub fn data_json(json: Box<serde_json::value::RawValue>) -> Self {
        Response { data_json: Some(json), ..Default::default() }
    }
    /// Turns a pre-serialised `data_json` into `data`, for consumers that inspect fields.
    pub fn materialize(&mut self) -> serde_json::Result<()> {
        if let Some(raw) = self.data_json.take() {
            self.data = Some(serde_json::from_str(raw.get())?);
        }
        Ok(())
    }
    pub fn flattened(mut self) -> Self {
        self.flatten = true;
        self
    }
    pub fn is_empty(&self) -> bool {
        self.raw.is_none()
            && self.data.is_none()
            && self.data_json.is_none()
            && self.auth.is_none()
            && self.warnings.is_empty()
            && self.lease_id.is_empty()
            && self.wrap_info.is_none()
    }
}

/// Convenience: `obj! { "a" => 1, "b" => "x" }` builds a JSON object map.
#[macro_export]
macro_rules! obj {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = serde_json::Map::new();
        $( m.insert(String::from($k), serde_json::json!($v)); )*
        m
    }};
}

// Debug output never shows secrets: request/response data, tokens and raw bodies are reduced to
// their shape (field names, lengths), so a stray `{:?}` in a log line cannot leak them.

fn keys(m: &Map<String, Value>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("op", &self.op)
            .field("path", &self.path)
            .field("data_keys", &keys(&self.data))
            .field("token", &self.token)
            .field("raw_body_len", &self.raw_body.as_ref().map(Vec::len))
            .field("wrap_ttl", &self.wrap_ttl)
            .field("remote_addr", &self.remote_addr)
            .finish()
    }
}

impl fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthInfo")
            .field("client_token", &"<redacted>")
            .field("accessor", &self.accessor)
            .field("policies", &self.policies)
            .field("lease_duration", &self.lease_duration)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WrapInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrapInfo")
            .field("token", &"<redacted>")
            .field("accessor", &self.accessor)
            .field("ttl", &self.ttl)
            .field("creation_path", &self.creation_path)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("has_body", &self.body.is_some())
            .field("bytes_len", &self.bytes.as_ref().map(|(_, b)| b.len()))
            .finish()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("data_keys", &self.data.as_ref().map(keys))
            .field("has_data_json", &self.data_json.is_some())
            .field("auth", &self.auth)
            .field("wrap_info", &self.wrap_info)
            .field("raw", &self.raw)
            .field("mount_type", &self.mount_type)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let mut req = Request::new(Operation::Update, "secret/data/x").with_token("hvs.tok-secret");
        req.data.insert("password".into(), Value::String("pw-secret".into()));
        let auth = AuthInfo {
            client_token: "hvs.issued-secret".into(),
            accessor: "acc".into(),
            policies: vec![],
            token_policies: vec![],
            identity_policies: None,
            metadata: None,
            lease_duration: 1,
            renewable: false,
            entity_id: String::new(),
            token_type: "service".into(),
            orphan: false,
            mfa_requirement: None,
            num_uses: 0,
        };
        let mut resp = Response::data(req.data.clone());
        resp.auth = Some(auth);
        let shown = format!(
            "{req:?} {resp:?} {:?}",
            Response::raw(200, Some(Value::String("root-secret".into())))
        );
        for secret in ["tok-secret", "pw-secret", "issued-secret", "root-secret"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("password"), "field names stay visible");
    }
}
