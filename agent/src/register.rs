//! Registering the node with the control plane.
//!
//! The join token in the bootstrap document is one-time: the control plane invalidates it on
//! first use. So the node credential it returns is written (0600, atomically) before anything
//! else happens, and a node that already holds a credential never registers again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use coffer_node_api::{
    BootstrapDocument, NodeCredential, RegisterNodeRequest, RegisterNodeResponse, REGISTER_PATH,
};
use serde::Deserialize;

use crate::files::{self, FileError};
use crate::tls::{self, ControlPlaneTls};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("the bootstrap document carries no join token and no node credential is stored")]
    NoJoinToken,
    #[error("cannot reach the control plane at {url}: {}", tls::describe(.source))]
    Transport { url: String, source: reqwest::Error },
    #[error("the control plane refused the registration (HTTP {status}, {code}): {message}")]
    Refused { status: u16, code: String, message: String },
    #[error("the control plane answered with an unexpected body: {0}")]
    Decode(String),
    #[error("the control plane registered a different node ({cluster_id}, index {node_index})")]
    Mismatch { cluster_id: uuid::Uuid, node_index: u32 },
    #[error(transparent)]
    File(#[from] FileError),
}

/// Whether this run registered or found an earlier registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Registered,
    AlreadyRegistered,
}

/// Where the node credential is kept.
pub fn credential_path(data_dir: &Path) -> PathBuf {
    data_dir.join("node-credential")
}

/// The control plane's error body (`{"error": {"code", "message"}}`).
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

/// Registers once and stores the node credential under `data_dir`, trusting `trust` for the
/// control plane's certificate.
pub async fn register(
    doc: &BootstrapDocument,
    trust: &ControlPlaneTls,
    instance_id: &str,
    data_dir: &Path,
) -> Result<Registration, RegisterError> {
    let path = credential_path(data_dir);
    if files::read_optional(&path)?.is_some() {
        return Ok(Registration::AlreadyRegistered);
    }
    let join_token = doc.join_token.clone().ok_or(RegisterError::NoJoinToken)?;
    let url = format!("{}{REGISTER_PATH}", doc.control_plane_url.trim_end_matches('/'));
    let transport = |source| RegisterError::Transport { url: url.clone(), source };
    let http = trust.client().map_err(transport)?;
    let req = RegisterNodeRequest {
        join_token,
        instance_id: instance_id.to_owned(),
        node_index: doc.node_index,
        cluster_id: Some(doc.cluster_id),
    };
    let resp = http
        .post(&url)
        .json(&req)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(transport)?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(transport)?;
    if !status.is_success() {
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(b) => (b.error.code, b.error.message),
            Err(_) => ("unknown".to_owned(), "no error body".to_owned()),
        };
        return Err(RegisterError::Refused { status: status.as_u16(), code, message });
    }
    let resp: RegisterNodeResponse =
        serde_json::from_slice(&body).map_err(|e| RegisterError::Decode(e.to_string()))?;
    if resp.cluster_id != doc.cluster_id || resp.node_index != doc.node_index {
        return Err(RegisterError::Mismatch {
            cluster_id: resp.cluster_id,
            node_index: resp.node_index,
        });
    }
    store(&path, &resp.node_credential)?;
    tracing::info!(cluster_id = %resp.cluster_id, node_index = resp.node_index, "node registered");
    Ok(Registration::Registered)
}

fn store(path: &Path, credential: &NodeCredential) -> Result<(), FileError> {
    files::write_private(path, credential.expose().as_bytes())
}
