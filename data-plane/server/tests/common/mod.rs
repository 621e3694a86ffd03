//! Shared helpers for the integration tests: an in-process server on port 0 and a tiny JSON
//! client. Each test gets its own server, so tests are independent.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]
use coffer_server::{Config, Server};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub struct TestServer {
    pub base: String,
    pub root: String,
    pub cancel: CancellationToken,
    pub http: reqwest::Client,
    pub core: std::sync::Arc<coffer_server::core::Core>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// A dev-mode server (unsealed, `secret/` is KV v2) with root token `root`.
    pub async fn dev() -> TestServer {
        Self::start(Config::dev("127.0.0.1:0", Some("root".into())), "root".into()).await
    }

    pub async fn start(config: Config, root: String) -> TestServer {
        let server = Server::build(config).await.expect("server builds");
        let addr = server.local_addr().expect("bound");
        let core = server.core();
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        let task = tokio::spawn(async move { server.run(c).await });
        TestServer {
            base: format!("http://{addr}/v1/"),
            root,
            cancel,
            http: reqwest::Client::new(),
            core,
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(t) = self.task.take() {
            t.await.expect("server task");
        }
    }

    /// Sends a request with `token` (None = no token header) and returns (status, JSON or Null).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let m = Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, format!("{}{}", self.base, path));
        if let Some(t) = token {
            rb = rb.header("X-Vault-Token", t);
        }
        if let Some(b) = body {
            let ct =
                if method == "PATCH" { "application/merge-patch+json" } else { "application/json" };
            rb = rb.header("Content-Type", ct).body(b.to_string());
        }
        let resp = rb.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        };
        (status, json)
    }

    /// As root.
    pub async fn root(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let root = self.root.clone();
        self.call(method, path, Some(&root), body).await
    }
}

/// Polls a probe (`true` when done) until a deadline; see `coffer_test_support::wait`.
#[allow(unused_imports)] // as `dead_code` above: not every test binary polls
pub use coffer_test_support::wait::until as eventually;
