//! Benchmark floor: an opt-in, unauthenticated `GET /v1/sys/coffer/floor` that does no work.
//!
//! Why: `infra/bench/run.sh` reports every operation as a ratio of the cost of the HTTP stack
//! itself (same binary, listener, TLS setting, hyper/axum router). No real endpoint is free —
//! `sys/health` reads storage — so this route answers a constant body without touching the
//! core. It exists only when the process starts with `COFFER_BENCH_FLOOR=1`; otherwise the
//! path falls through to the normal `/v1/*` handler like any unknown `sys/` path.

use axum::body::Body;
use axum::response::Response;
use http::{header, HeaderValue};

/// The environment variable that mounts the floor route.
pub const ENV: &str = "COFFER_BENCH_FLOOR";
/// The route's path.
pub const PATH: &str = "/v1/sys/coffer/floor";

/// Whether the process opted in (exactly `COFFER_BENCH_FLOOR=1`).
pub fn enabled() -> bool {
    std::env::var_os(ENV).is_some_and(|v| v == "1")
}

/// A constant envelope-shaped body with the same headers as real JSON answers.
pub async fn floor() -> Response {
    const BODY: &[u8] = br#"{"request_id":"","lease_id":"","renewable":false,"lease_duration":0,"data":{"floor":true},"wrap_info":null,"warnings":null,"auth":null,"mount_type":""}"#;
    let mut r = Response::new(Body::from(BODY));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn floor_is_a_json_envelope() {
        let resp = super::floor().await;
        assert_eq!(resp.status(), http::StatusCode::OK);
        let bytes = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["data"]["floor"], serde_json::Value::Bool(true));
    }
}
