//! A fault-injecting HTTP proxy in front of moto: the engine talks to it as if it were AWS.
//!
//! A deterministic pseudo-random share of calls is answered with the errors AWS sends under
//! load, in each service's own wire format so the SDK classifies them as AWS would: throttling
//! (KMS `400 ThrottlingException`, IAM `400 Throttling`, EC2 `503 RequestLimitExceeded`, S3
//! `503 SlowDown`) and plain `500`s. Faults are injected either before the call reaches moto
//! (nothing happened) or after it (the call took effect but the answer was lost), the harder
//! case for idempotency. It also gives RunInstances the ClientToken idempotency EC2 has and
//! moto lacks, so a lost launch answer is tested against AWS semantics, not a moto gap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio_util::sync::CancellationToken;

/// What share of calls fail, and how.
#[derive(Clone, Copy, Debug)]
pub struct FaultPlan {
    /// Share of calls answered with an error without forwarding them.
    pub fail_before: f64,
    /// Share of calls forwarded, whose answer is then replaced by a 500.
    pub fail_after: f64,
    /// Services (SigV4 scope names) whose answers `fail_after` may lose; empty: all.
    pub lose_only: &'static [&'static str],
    pub seed: u64,
}

#[derive(Default, Debug)]
pub struct Stats {
    pub forwarded: AtomicU64,
    pub throttled: AtomicU64,
    pub server_errors: AtomicU64,
    pub lost_answers: AtomicU64,
}

struct Inner {
    upstream: String,
    plan: FaultPlan,
    counter: AtomicU64,
    stats: Arc<Stats>,
    client: reqwest::Client,
    /// RunInstances answers by ClientToken (see `handle`).
    launches: Mutex<HashMap<String, Answer>>,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    pub url: String,
    pub stats: Arc<Stats>,
    stop: CancellationToken,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// splitmix64: a well-mixed, reproducible number per call index.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The AWS service a signed request is for, from the SigV4 credential scope
/// (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`).
pub fn service_of(headers: &HeaderMap) -> String {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    auth.split("Credential=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or_default()
        .to_owned()
}

/// An error answer in the service's wire format: `(status, content type, body)`.
pub fn error_answer(service: &str, throttle: bool) -> (u16, &'static str, String) {
    let xml = "text/xml";
    match (service, throttle) {
        ("kms", true) => (
            400,
            "application/x-amz-json-1.1",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned(),
        ),
        ("kms", false) => (
            500,
            "application/x-amz-json-1.1",
            r#"{"__type":"KMSInternalException","message":"internal error"}"#.to_owned(),
        ),
        ("ec2", t) => {
            let (status, code) =
                if t { (503, "RequestLimitExceeded") } else { (500, "InternalError") };
            let body = format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>injected</Message></Error></Errors><RequestID>engt</RequestID></Response>"
            );
            (status, xml, body)
        }
        ("s3", t) => {
            let (status, code) = if t { (503, "SlowDown") } else { (500, "InternalError") };
            (status, "application/xml", format!("<Error><Code>{code}</Code><Message>injected</Message><RequestId>engt</RequestId></Error>"))
        }
        // IAM and anything else speaking the query protocol.
        (_, t) => {
            let (status, code) = if t { (400, "Throttling") } else { (500, "ServiceFailure") };
            let body = format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>injected</Message></Error><RequestId>engt</RequestId></ErrorResponse>",
                if t { "Sender" } else { "Receiver" }
            );
            (status, xml, body)
        }
    }
}

fn answer((status, content_type, body): (u16, &'static str, String)) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", content_type)], body).into_response()
}

const HOP_BY_HOP: [&str; 5] =
    ["host", "content-length", "connection", "transfer-encoding", "expect"];

/// A finished upstream answer, kept whole so it can be replayed.
#[derive(Clone)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: axum::body::Bytes,
}

impl Answer {
    fn replay(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

async fn forward(
    inner: &Inner,
    parts: &axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Result<Answer, String> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out =
        inner.client.request(parts.method.clone(), format!("{}{path}", inner.upstream)).body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            out = out.header(name.as_str(), value.as_bytes());
        }
    }
    let resp = out.send().await.map_err(|e| e.to_string())?;
    let status = StatusCode::from_u16(resp.status().as_u16()).map_err(|e| e.to_string())?;
    let mut headers = HeaderMap::new();
    for (name, value) in resp.headers() {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(n, v);
        }
    }
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    Ok(Answer { status, headers, body })
}

/// The `ClientToken` of an EC2 `RunInstances` call (query protocol, form-encoded body).
pub fn run_instances_token(body: &[u8]) -> Option<String> {
    let form = std::str::from_utf8(body).ok()?;
    let all: Vec<(&str, &str)> = form.split('&').filter_map(|kv| kv.split_once('=')).collect();
    let is_run = all.iter().any(|(k, v)| *k == "Action" && *v == "RunInstances");
    let token = all.iter().find(|(k, _)| *k == "ClientToken").map(|(_, v)| (*v).to_owned());
    if is_run {
        token
    } else {
        None
    }
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let n = inner.counter.fetch_add(1, Ordering::Relaxed);
    let roll = mix(inner.plan.seed ^ n);
    let (p, throttle) = (unit(roll), roll & 1 == 0);
    let service = service_of(req.headers());
    if p < inner.plan.fail_before {
        let counter = if throttle { &inner.stats.throttled } else { &inner.stats.server_errors };
        counter.fetch_add(1, Ordering::Relaxed);
        return answer(error_answer(&service, throttle));
    }
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    // EC2 makes RunInstances idempotent per ClientToken; moto does not, so the proxy replays
    // the first successful answer for a token, as EC2 would.
    let token = if service == "ec2" { run_instances_token(&body) } else { None };
    if let Some(token) = &token {
        let cached = inner.launches.lock().unwrap().get(token).cloned();
        if let Some(cached) = cached {
            return cached.replay();
        }
    }
    let result = forward(&inner, &parts, body).await;
    inner.stats.forwarded.fetch_add(1, Ordering::Relaxed);
    match result {
        Ok(a) => {
            if let (Some(token), true) = (token, a.status.is_success()) {
                inner.launches.lock().unwrap().insert(token, a.clone());
            }
            let losable =
                inner.plan.lose_only.is_empty() || inner.plan.lose_only.contains(&service.as_str());
            if losable && p < inner.plan.fail_before + inner.plan.fail_after {
                inner.stats.lost_answers.fetch_add(1, Ordering::Relaxed);
                answer(error_answer(&service, false))
            } else {
                a.replay()
            }
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e).into_response(),
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` on a free port.
    pub async fn start(upstream: &str, plan: FaultPlan) -> FaultProxy {
        let stats = Arc::new(Stats::default());
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_owned(),
            plan,
            counter: AtomicU64::new(0),
            stats: stats.clone(),
            client: reqwest::Client::new(),
            launches: Mutex::new(HashMap::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy addr"));
        let app = Router::new().fallback(handle).with_state(inner);
        let stop = CancellationToken::new();
        let shutdown = stop.clone();
        tokio::spawn(async move {
            let _ =
                axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await;
        });
        FaultProxy { url, stats, stop }
    }
}

#[test]
fn service_from_the_signature_scope() {
    let check = |auth: &str, expect: &str| {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(auth).unwrap());
        assert_eq!(service_of(&h), expect, "{auth}");
    };
    check("AWS4-HMAC-SHA256 Credential=test/20261122/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=ab", "kms");
    check(
        "AWS4-HMAC-SHA256 Credential=test/20261122/eu-west-1/ec2/aws4_request, SignedHeaders=host",
        "ec2",
    );
    check("AWS4-HMAC-SHA256 Credential=test/20261122/us-east-1/s3/aws4_request", "s3");
    check("Bearer nothing", "");
}

#[test]
fn run_instances_tokens() {
    let check = |body: &str, expect: Option<&str>| {
        assert_eq!(run_instances_token(body.as_bytes()).as_deref(), expect, "{body}");
    };
    check("Action=RunInstances&Version=2016-11-15&ClientToken=abc&MinCount=1", Some("abc"));
    check("Action=RunInstances&MinCount=1", None);
    check("Action=DescribeInstances&ClientToken=abc", None);
    check("", None);
}

#[test]
fn fault_shares_are_close_to_the_plan() {
    let seed = 7;
    let n = 10_000u64;
    let hits = (0..n).filter(|i| unit(mix(seed ^ i)) < 0.2).count() as f64 / n as f64;
    assert!((0.18..0.22).contains(&hits), "{hits}");
}
