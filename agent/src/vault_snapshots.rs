//! The two raw snapshot calls of the Vault API, which do not fit the JSON client in `vault`:
//! `GET sys/storage/raft/snapshot` answers with the binary snapshot (read here as a stream of
//! chunks so the caller can hash and spool it without holding it twice), and
//! `POST sys/storage/raft/snapshot-force` takes the binary snapshot as its body.
//!
//! Both need `sudo` on `sys/storage/raft/snapshot` in coffer-server (as in Vault); the agent's
//! own token carries it. The token is passed per call so the client holds no credential.

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

const SAVE_PATH: &str = "sys/storage/raft/snapshot";
const RESTORE_PATH: &str = "sys/storage/raft/snapshot-force";
/// A snapshot of a large store takes a while to produce and to restore (the server verifies
/// the whole stream before it swaps anything in).
const CALL_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum SnapshotApiError {
    #[error("{path}: transport error: {source}")]
    Transport { path: &'static str, source: reqwest::Error },
    /// `errors` is the server's error list; it never echoes request secrets.
    #[error("{path}: HTTP {status}: {errors}")]
    Status { path: &'static str, status: StatusCode, errors: String },
}

impl SnapshotApiError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            SnapshotApiError::Status { status, .. } => Some(*status),
            SnapshotApiError::Transport { .. } => None,
        }
    }
}

/// A snapshot being streamed from the server.
pub struct SnapshotStream {
    resp: reqwest::Response,
}

impl SnapshotStream {
    /// The next chunk, or `None` at the end of the snapshot.
    pub async fn chunk(&mut self) -> Result<Option<impl AsRef<[u8]>>, SnapshotApiError> {
        self.resp
            .chunk()
            .await
            .map_err(|source| SnapshotApiError::Transport { path: SAVE_PATH, source })
    }
}

/// The server's snapshot endpoints.
#[derive(Clone, Debug)]
pub struct SnapshotApi {
    http: reqwest::Client,
    base: String,
}

impl SnapshotApi {
    /// A client for the server at `addr` (e.g. `http://127.0.0.1:8200`).
    pub fn new(addr: &str) -> Result<SnapshotApi, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(SnapshotApi { http, base: format!("{}/v1/", addr.trim_end_matches('/')) })
    }

    /// Starts `GET sys/storage/raft/snapshot`; the body is read through the returned stream.
    pub async fn save(&self, token: &SecretString) -> Result<SnapshotStream, SnapshotApiError> {
        let req = self
            .http
            .get(format!("{}{SAVE_PATH}", self.base))
            .header("X-Vault-Token", token.expose_secret());
        let resp = checked(SAVE_PATH, req.send().await).await?;
        Ok(SnapshotStream { resp })
    }

    /// `POST sys/storage/raft/snapshot-force` with the snapshot as the body. The server checks
    /// the snapshot's integrity before replacing anything and reopens its barrier after.
    pub async fn restore(
        &self,
        token: &SecretString,
        snapshot: Vec<u8>,
    ) -> Result<(), SnapshotApiError> {
        let req = self
            .http
            .post(format!("{}{RESTORE_PATH}", self.base))
            .header("X-Vault-Token", token.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(snapshot);
        checked(RESTORE_PATH, req.send().await).await?;
        Ok(())
    }
}

/// The response when it is a success; otherwise the server's error list as an error.
async fn checked(
    path: &'static str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<reqwest::Response, SnapshotApiError> {
    let resp = sent.map_err(|source| SnapshotApiError::Transport { path, source })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.bytes().await.unwrap_or_default();
    let errors = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("errors").map(Value::to_string))
        .unwrap_or_default();
    Err(SnapshotApiError::Status { path, status, errors })
}
