//! HTTP calls to the control plane's node endpoints, authenticated with the node credential.
//!
//! One `reqwest::Client` (one connection pool) serves the poll loop, the heartbeat loop and
//! result posting. There is no client-wide timeout because the command poll is held open on
//! purpose; every call sets its own.

use std::time::Duration;

use coffer_node_api::commands::{result_path, CommandBatch, CommandResult, COMMANDS_PATH};
use coffer_node_api::heartbeat::{Heartbeat, HeartbeatResponse, HEARTBEAT_PATH};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// How long a short call (heartbeat, result) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Slack on top of the poll's own wait before the client gives up on it.
const POLL_SLACK: Duration = Duration::from_secs(15);

use crate::tls::{self, ControlPlaneTls};

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("{what}: transport error: {}", tls::describe(.source))]
    Transport { what: &'static str, source: reqwest::Error },
    #[error("{what}: the control plane answered HTTP {status}")]
    Status { what: &'static str, status: StatusCode },
    #[error("{what}: unexpected response body: {message}")]
    Decode { what: &'static str, message: String },
}

impl ChannelError {
    /// True when retrying the same request cannot help (the control plane refused it).
    pub fn is_permanent(&self) -> bool {
        match self {
            ChannelError::Status { status, .. } => {
                status.is_client_error()
                    && *status != StatusCode::REQUEST_TIMEOUT
                    && *status != StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }
}

/// The control plane as the node sees it.
#[derive(Clone)]
pub struct ControlPlane {
    http: reqwest::Client,
    base: String,
    credential: SecretString,
}

impl ControlPlane {
    /// `base`: the control plane URL from the bootstrap document; `trust`: the certificates
    /// trusted for it; `credential`: the node's.
    pub fn new(
        base: &str,
        trust: &ControlPlaneTls,
        credential: SecretString,
    ) -> Result<ControlPlane, reqwest::Error> {
        let http = trust.client()?;
        Ok(ControlPlane { http, base: base.trim_end_matches('/').to_owned(), credential })
    }

    /// Long-polls for commands, the control plane holding the request up to `wait_secs`.
    pub async fn poll(&self, wait_secs: u64) -> Result<CommandBatch, ChannelError> {
        const WHAT: &str = "poll commands";
        let req = self
            .http
            .get(format!("{}{COMMANDS_PATH}", self.base))
            .query(&[("wait_secs", wait_secs)])
            .timeout(Duration::from_secs(wait_secs) + POLL_SLACK);
        self.send_json(WHAT, req).await
    }

    pub async fn post_result(&self, id: Uuid, result: &CommandResult) -> Result<(), ChannelError> {
        const WHAT: &str = "post command result";
        let req = self
            .http
            .post(format!("{}{}", self.base, result_path(id)))
            .json(result)
            .timeout(CALL_TIMEOUT);
        self.send(WHAT, req).await.map(drop)
    }

    pub async fn heartbeat(&self, hb: &Heartbeat) -> Result<HeartbeatResponse, ChannelError> {
        const WHAT: &str = "heartbeat";
        let req =
            self.http.post(format!("{}{HEARTBEAT_PATH}", self.base)).json(hb).timeout(CALL_TIMEOUT);
        self.send_json(WHAT, req).await
    }

    async fn send(
        &self,
        what: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ChannelError> {
        let resp = req
            .bearer_auth(self.credential.expose_secret())
            .send()
            .await
            .map_err(|source| ChannelError::Transport { what, source })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ChannelError::Status { what, status });
        }
        Ok(resp)
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        what: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ChannelError> {
        let bytes = self
            .send(what, req)
            .await?
            .bytes()
            .await
            .map_err(|source| ChannelError::Transport { what, source })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ChannelError::Decode { what, message: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanence() {
        let check = |status: u16, want: bool| {
            let e = ChannelError::Status {
                what: "x",
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT),
            };
            assert_eq!(e.is_permanent(), want, "{status}");
        };
        check(400, true);
        check(401, true);
        check(404, true);
        check(409, true);
        check(408, false);
        check(429, false);
        check(500, false);
        check(503, false);
    }
}
