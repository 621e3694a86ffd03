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

#[derive(Debug)]
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
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Default)]
pub struct Response {
    pub data: Option<Map<String, Value>>,
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
#[derive(Debug, Clone, serde::Serialize)]
pub struct WrapInfo {
    pub token: String,
    pub accessor: String,
    pub ttl: u64,
    pub creation_time: String,
    pub creation_path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub wrapped_accessor: String,
}

#[derive(Debug)]
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
    pub fn flattened(mut self) -> Self {
        self.flatten = true;
        self
    }
    pub fn is_empty(&self) -> bool {
        self.raw.is_none()
            && self.data.is_none()
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
