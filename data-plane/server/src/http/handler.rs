//! The `/v1/*` handler: extract, run the core (writes on the blocking pool, since durable
//! writes fsync; reads inline), render.

use super::error::{error_response, http_error};
use super::extract::{body_map, logical_path, query_map};
use super::render::render;
use super::AppState;
use crate::core::error::CoreError;
use crate::core::request::{ClientToken, Operation, Request};
use axum::extract::State;
use axum::response::Response;
use http::{header, Method, StatusCode};

/// Upper bound for a snapshot restore body (buffered in memory).
const MAX_SNAPSHOT_BYTES: usize = 1 << 30;

/// The connection's peer address, attached to each request by the server's accept loop.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// Everything not routed explicitly: the Vault API under `/v1/`, else 404.
pub async fn fallback(state: State<AppState>, req: axum::extract::Request) -> Response {
    if req.uri().path().starts_with("/v1/") {
        v1(state, req).await
    } else {
        http_error(StatusCode::NOT_FOUND, "not found")
    }
}

fn token_from(headers: &http::HeaderMap) -> Option<ClientToken> {
    if let Some(v) = headers.get("x-vault-token").and_then(|v| v.to_str().ok()) {
        if !v.is_empty() {
            return Some(ClientToken(v.trim().to_owned()));
        }
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer "))?;
    Some(ClientToken(t.trim().to_owned()))
}

pub async fn v1(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let raw = parts.uri.path().strip_prefix("/v1/").unwrap_or("");
    let path = match logical_path(raw) {
        Ok(p) => p,
        Err(msg) => return http_error(StatusCode::BAD_REQUEST, msg),
    };
    let mut query = match query_map(parts.uri.query()) {
        Ok(q) => q,
        Err(msg) => return http_error(StatusCode::BAD_REQUEST, msg),
    };
    // Go's strconv.ParseBool spellings, as Vault accepts them.
    let list_param = matches!(
        query.get("list").and_then(|v| v.as_str()),
        Some("1" | "t" | "T" | "TRUE" | "true" | "True")
    );
    let head = parts.method == Method::HEAD;
    let op = match parts.method.as_str() {
        "GET" | "HEAD" if list_param => Operation::List,
        "GET" | "HEAD" => Operation::Read,
        "POST" | "PUT" => Operation::Update,
        "PATCH" => Operation::Patch,
        "DELETE" => Operation::Delete,
        "LIST" => Operation::List,
        _ => return http_error(StatusCode::METHOD_NOT_ALLOWED, "unsupported operation"),
    };
    if op == Operation::Patch {
        let ct =
            parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.trim_start().starts_with("application/merge-patch+json") {
            return http_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "PATCH requires Content-Type application/merge-patch+json",
            );
        }
    }
    // Snapshot restores carry the whole store; like Vault they are not held to
    // max_request_size (still bounded, since the body is buffered).
    let limit = if path.starts_with("sys/storage/raft/snapshot") {
        state.max_request_size.max(MAX_SNAPSHOT_BYTES)
    } else {
        state.max_request_size
    };
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            if is_length_limit(&e) {
                return http_error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
            }
            return http_error(StatusCode::BAD_REQUEST, "failed to read request body");
        }
    };
    // Snapshot restore takes the binary snapshot as its body.
    let binary = op == Operation::Update && path.starts_with("sys/storage/raft/snapshot");
    let mut raw_body = None;
    let data = if binary {
        raw_body = Some(bytes.to_vec());
        serde_json::Map::new()
    } else if matches!(op, Operation::Read | Operation::List | Operation::Delete)
        && bytes.is_empty()
    {
        query.remove("list");
        query
    } else {
        match body_map(&bytes) {
            Ok(m) => m,
            Err(msg) => return http_error(StatusCode::BAD_REQUEST, &msg),
        }
    };
    // Vault routes and ACL-checks every list on the directory path (trailing slash).
    let path = if op == Operation::List && !path.ends_with('/') && !path.is_empty() {
        let mut p = path;
        p.push('/');
        p
    } else {
        path
    };
    let wrap_ttl = match parts.headers.get("x-vault-wrap-ttl").and_then(|v| v.to_str().ok()) {
        None | Some("") => None,
        Some(v) => match crate::util::duration::parse_str(v) {
            Ok(t) => Some(t),
            Err(_) => {
                return http_error(StatusCode::BAD_REQUEST, "invalid X-Vault-Wrap-TTL header")
            }
        },
    };
    let core_req = Request {
        op,
        path,
        data,
        token: token_from(&parts.headers),
        head,
        raw_body,
        wrap_ttl,
        remote_addr: parts.extensions.get::<PeerAddr>().map(|p| p.0),
    };
    let core = state.core.clone();
    let started = std::time::Instant::now();
    let result = if state.unauthenticated_metrics
        && core_req.op == Operation::Read
        && core_req.path == "sys/metrics"
    {
        // This listener lets scrapers read metrics without a token (Vault's listener option).
        crate::sys::public_metrics(&core, &core_req)
    } else if core.may_block(&core_req) {
        match tokio::task::spawn_blocking(move || core.handle(core_req)).await {
            Ok(r) => r,
            Err(e) => Err(CoreError::internal(format!("request task failed: {e}"))),
        }
    } else {
        core.handle(core_req)
    };
    let response = match result {
        Ok(resp) => render(resp, head),
        Err(e) => error_response(e),
    };
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    state.core.metrics.record(response.status().as_u16(), micros);
    response
}

/// Whether a body-read failure was the size limit (anywhere in the error's source chain).
fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}
