//! A small typed client for the parts of the Vault HTTP API the agent uses.
//!
//! Only what the agent needs: health, init (recovery shares under auto-unseal), policies,
//! audit devices, tokens (create, create from a role, revoke by accessor, renew and revoke
//! self), token roles and root generation from recovery shares. Tokens are passed per call as `&SecretString`
//! so the client itself holds no credential and can be shared freely. Server error bodies are
//! kept in the error for the agent's log; they never contain request secrets.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroize;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{method} {path}: transport error: {source}")]
    Transport { method: Method, path: String, source: reqwest::Error },
    #[error("{method} {path}: HTTP {status}: {errors}")]
    Status { method: Method, path: String, status: StatusCode, errors: String },
    #[error("{method} {path}: unexpected response: {message}")]
    Decode { method: Method, path: String, message: String },
}

impl VaultError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            VaultError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `sys/health`, asked to answer 200 in every state so the body is always there.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct Health {
    pub initialized: bool,
    pub sealed: bool,
}

/// The parts of `sys/health` the heartbeat reports.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct HealthDetail {
    pub initialized: bool,
    pub sealed: bool,
    #[serde(default)]
    pub standby: bool,
    #[serde(default)]
    pub version: String,
}

impl HealthDetail {
    /// True when this server answers as the active node.
    pub fn leader(&self) -> bool {
        self.initialized && !self.sealed && !self.standby
    }
}

/// A token minted from a role. Redacting `Debug`; the token is wiped on drop.
pub struct CreatedToken {
    pub token: SecretString,
    pub accessor: String,
    /// Seconds until the token expires (0: never).
    pub lease_duration: u64,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("accessor", &self.accessor)
            .field("lease_duration", &self.lease_duration)
            .finish_non_exhaustive()
    }
}

/// A started root-generation attempt: its nonce and the one-time pad the new root token will
/// come back XORed with.
pub struct GenerateRootAttempt {
    pub nonce: String,
    pub otp: SecretString,
    /// Shares needed to complete it.
    pub required: usize,
}

/// What `sys/init` returns under auto-unseal. Redacting `Debug`; wiped on drop.
#[derive(Deserialize)]
pub struct InitResponse {
    pub root_token: SecretString,
    /// Recovery key shares, hex.
    #[serde(default)]
    pub recovery_keys: Vec<String>,
}

impl Drop for InitResponse {
    fn drop(&mut self) {
        self.recovery_keys.zeroize();
    }
}

impl std::fmt::Debug for InitResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitResponse")
            .field("recovery_keys", &format_args!("<{} redacted>", self.recovery_keys.len()))
            .finish_non_exhaustive()
    }
}

/// A token to create: policies and whether it is an orphan (outlives its creator).
#[derive(Debug, Clone, Serialize)]
pub struct TokenRequest<'a> {
    pub policies: &'a [&'a str],
    pub no_parent: bool,
    pub display_name: &'a str,
    pub period: Option<&'a str>,
}

#[derive(Clone, Debug)]
pub struct VaultClient {
    http: reqwest::Client,
    base: String,
}

impl VaultClient {
    /// A client for the server at `addr` (e.g. `http://127.0.0.1:8200`).
    pub fn new(addr: &str) -> Result<VaultClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(VaultClient { http, base: format!("{}/v1/", addr.trim_end_matches('/')) })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&Value>,
    ) -> Result<Option<Value>, VaultError> {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("X-Vault-Token", t.expose_secret());
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let transport = |source| VaultError::Transport {
            method: method.clone(),
            path: path.to_owned(),
            source,
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let errors = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get("errors").map(Value::to_string))
                .unwrap_or_default();
            return Err(VaultError::Status { method, path: path.to_owned(), status, errors });
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|e| VaultError::Decode {
            method,
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    fn decode<T: for<'de> Deserialize<'de>>(
        method: Method,
        path: &str,
        v: Option<Value>,
    ) -> Result<T, VaultError> {
        let v = v.ok_or_else(|| VaultError::Decode {
            method: method.clone(),
            path: path.to_owned(),
            message: "empty body".into(),
        })?;
        serde_json::from_value(v).map_err(|e| VaultError::Decode {
            method,
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    pub async fn health(&self) -> Result<Health, VaultError> {
        let path = "sys/health?uninitcode=200&sealedcode=200&standbycode=200&perfstandbyok=true";
        let v = self.call(Method::GET, path, None, None).await?;
        Self::decode(Method::GET, path, v)
    }

    /// Initialises an auto-unsealed server with `shares` recovery shares, `threshold` needed.
    pub async fn init_recovery(
        &self,
        shares: u8,
        threshold: u8,
    ) -> Result<InitResponse, VaultError> {
        let body = json!({ "recovery_shares": shares, "recovery_threshold": threshold });
        let v = self.call(Method::PUT, "sys/init", None, Some(&body)).await?;
        Self::decode(Method::PUT, "sys/init", v)
    }

    /// The policy's HCL, or `None` when no such policy exists.
    pub async fn read_policy(
        &self,
        token: &SecretString,
        name: &str,
    ) -> Result<Option<String>, VaultError> {
        let path = format!("sys/policies/acl/{name}");
        match self.call(Method::GET, &path, Some(token), None).await {
            Ok(v) => Ok(v
                .as_ref()
                .and_then(|v| v.pointer("/data/policy"))
                .and_then(Value::as_str)
                .map(str::to_owned)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn write_policy(
        &self,
        token: &SecretString,
        name: &str,
        hcl: &str,
    ) -> Result<(), VaultError> {
        let path = format!("sys/policies/acl/{name}");
        self.call(Method::PUT, &path, Some(token), Some(&json!({ "policy": hcl }))).await?;
        Ok(())
    }

    /// Enabled audit devices keyed by path (`"file/"`).
    pub async fn list_audit(&self, token: &SecretString) -> Result<Value, VaultError> {
        let v = self.call(Method::GET, "sys/audit", Some(token), None).await?;
        Ok(v.map(|v| v.get("data").cloned().unwrap_or(v)).unwrap_or(Value::Null))
    }

    /// Enables a `file` audit device at `path` writing to `file_path`.
    pub async fn enable_file_audit(
        &self,
        token: &SecretString,
        path: &str,
        file_path: &str,
    ) -> Result<(), VaultError> {
        let body = json!({ "type": "file", "options": { "file_path": file_path } });
        self.call(Method::PUT, &format!("sys/audit/{path}"), Some(token), Some(&body)).await?;
        Ok(())
    }

    /// Creates a token and returns it.
    pub async fn create_token(
        &self,
        token: &SecretString,
        req: &TokenRequest<'_>,
    ) -> Result<SecretString, VaultError> {
        let path = if req.no_parent { "auth/token/create-orphan" } else { "auth/token/create" };
        let body = json!({
            "policies": req.policies,
            "display_name": req.display_name,
            "period": req.period,
            "no_default_policy": false,
        });
        let v = self.call(Method::POST, path, Some(token), Some(&body)).await?;
        let client_token = v
            .as_ref()
            .and_then(|v| v.pointer("/auth/client_token"))
            .and_then(Value::as_str)
            .ok_or_else(|| VaultError::Decode {
                method: Method::POST,
                path: path.to_owned(),
                message: "no auth.client_token".into(),
            })?;
        Ok(SecretString::from(client_token))
    }

    /// Looks the calling token up: its policies, or the server's refusal.
    pub async fn lookup_self(&self, token: &SecretString) -> Result<Vec<String>, VaultError> {
        let path = "auth/token/lookup-self";
        let v = self.call(Method::GET, path, Some(token), None).await?;
        let policies = v.as_ref().and_then(|v| v.pointer("/data/policies")).cloned();
        Self::decode(Method::GET, path, policies)
    }

    pub async fn revoke_self(&self, token: &SecretString) -> Result<(), VaultError> {
        self.call(Method::POST, "auth/token/revoke-self", Some(token), None).await?;
        Ok(())
    }
    /// `sys/health` with the fields the heartbeat reports.
    pub async fn health_detail(&self) -> Result<HealthDetail, VaultError> {
        let path = "sys/health?uninitcode=200&sealedcode=200&standbycode=200&perfstandbyok=true";
        let v = self.call(Method::GET, path, None, None).await?;
        Self::decode(Method::GET, path, v)
    }

    /// Creates (or replaces) the token role `name` with the given settings.
    pub async fn write_token_role(
        &self,
        token: &SecretString,
        name: &str,
        settings: &Value,
    ) -> Result<(), VaultError> {
        let path = format!("auth/token/roles/{name}");
        self.call(Method::POST, &path, Some(token), Some(settings)).await?;
        Ok(())
    }

    /// Mints a token from role `role` with a `ttl_secs` TTL (the role caps it).
    pub async fn create_token_from_role(
        &self,
        token: &SecretString,
        role: &str,
        ttl_secs: u64,
        display_name: &str,
    ) -> Result<CreatedToken, VaultError> {
        let path = format!("auth/token/create/{role}");
        let body = json!({ "ttl": format!("{ttl_secs}s"), "display_name": display_name });
        let v = self.call(Method::POST, &path, Some(token), Some(&body)).await?;
        let auth = v.as_ref().and_then(|v| v.get("auth"));
        let field = |name: &str| auth.and_then(|a| a.get(name));
        let missing = |what: &str| VaultError::Decode {
            method: Method::POST,
            path: path.clone(),
            message: format!("no auth.{what}"),
        };
        let client_token =
            field("client_token").and_then(Value::as_str).ok_or_else(|| missing("client_token"))?;
        let accessor =
            field("accessor").and_then(Value::as_str).ok_or_else(|| missing("accessor"))?;
        Ok(CreatedToken {
            token: SecretString::from(client_token),
            accessor: accessor.to_owned(),
            lease_duration: field("lease_duration").and_then(Value::as_u64).unwrap_or(0),
        })
    }

    /// Revokes the token behind `accessor` (and its children).
    pub async fn revoke_accessor(
        &self,
        token: &SecretString,
        accessor: &str,
    ) -> Result<(), VaultError> {
        let body = json!({ "accessor": accessor });
        self.call(Method::POST, "auth/token/revoke-accessor", Some(token), Some(&body)).await?;
        Ok(())
    }

    /// Renews the calling token (periodic tokens get a fresh period).
    pub async fn renew_self(&self, token: &SecretString) -> Result<(), VaultError> {
        self.call(Method::POST, "auth/token/renew-self", Some(token), Some(&json!({}))).await?;
        Ok(())
    }

    /// Starts a root-generation attempt with a server-chosen OTP.
    pub async fn generate_root_start(&self) -> Result<GenerateRootAttempt, VaultError> {
        let path = "sys/generate-root/attempt";
        let v = self.call(Method::PUT, path, None, Some(&json!({}))).await?;
        let decode = |message: &str| VaultError::Decode {
            method: Method::PUT,
            path: path.to_owned(),
            message: message.to_owned(),
        };
        let v = v.ok_or_else(|| decode("empty body"))?;
        let nonce = v.get("nonce").and_then(Value::as_str).ok_or_else(|| decode("no nonce"))?;
        let otp = v.get("otp").and_then(Value::as_str).ok_or_else(|| decode("no otp"))?;
        let required =
            v.get("required").and_then(Value::as_u64).ok_or_else(|| decode("no required"))?;
        Ok(GenerateRootAttempt {
            nonce: nonce.to_owned(),
            otp: SecretString::from(otp),
            required: usize::try_from(required).map_err(|_| decode("required out of range"))?,
        })
    }

    /// Cancels the root-generation attempt in progress, if any.
    pub async fn generate_root_cancel(&self) -> Result<(), VaultError> {
        self.call(Method::DELETE, "sys/generate-root/attempt", None, None).await?;
        Ok(())
    }

    /// Submits one recovery share; returns the encoded root token once the attempt completes.
    pub async fn generate_root_update(
        &self,
        share: &str,
        nonce: &str,
    ) -> Result<Option<SecretString>, VaultError> {
        let path = "sys/generate-root/update";
        let body = json!({ "key": share, "nonce": nonce });
        let v = self.call(Method::PUT, path, None, Some(&body)).await?;
        let complete = v.as_ref().and_then(|v| v.get("complete")).and_then(Value::as_bool);
        if complete != Some(true) {
            return Ok(None);
        }
        let encoded = v
            .as_ref()
            .and_then(|v| v.get("encoded_token"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| VaultError::Decode {
                method: Method::PUT,
                path: path.to_owned(),
                message: "complete without encoded_token".into(),
            })?;
        Ok(Some(SecretString::from(encoded)))
    }
}
