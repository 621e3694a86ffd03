//! Registration against a local HTTP endpoint that mirrors the control plane's
//! `POST /v1/nodes/register` (its JSON and error model); the real control plane needs
//! PostgreSQL and a provisioning run to mint a join token, which this slice does not set up.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::{extract::State, http::StatusCode, routing::post, Json, Router};
use coffer_agent::register::{self, credential_path, RegisterError, Registration};
use coffer_agent::tls::ControlPlaneTls;
use coffer_node_api::{BootstrapDocument, JoinToken, BOOTSTRAP_VERSION};
use serde_json::{json, Value};

const GOOD_TOKEN: &str = "cjt_one_time_token";
const CREDENTIAL: &str = "cpn_node_credential_secret";

struct Cp {
    calls: AtomicUsize,
    used: AtomicUsize,
}

/// Accepts `GOOD_TOKEN` once, like the control plane: a reused or unknown token is a 401.
async fn handler(State(cp): State<Arc<Cp>>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    cp.calls.fetch_add(1, Ordering::SeqCst);
    let expected = ["join_token", "instance_id", "node_index", "cluster_id"];
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(keys.iter().all(|k| expected.contains(k)), "unexpected fields {keys:?}");
    if body["join_token"] != GOOD_TOKEN || cp.used.fetch_add(1, Ordering::SeqCst) > 0 {
        let err = json!({"error": {"code": "unauthenticated", "message": "invalid or used join token",
            "request_id": "r1"}});
        return (StatusCode::UNAUTHORIZED, Json(err));
    }
    assert_eq!(body["instance_id"], "i-0abc");
    let ok = json!({"cluster_id": body["cluster_id"], "node_index": body["node_index"],
        "node_credential": CREDENTIAL});
    (StatusCode::OK, Json(ok))
}

async fn control_plane() -> (String, Arc<Cp>) {
    let cp = Arc::new(Cp { calls: AtomicUsize::new(0), used: AtomicUsize::new(0) });
    let app = Router::new().route("/v1/nodes/register", post(handler)).with_state(Arc::clone(&cp));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, cp)
}

fn doc(url: &str, token: Option<&str>) -> BootstrapDocument {
    BootstrapDocument {
        version: BOOTSTRAP_VERSION,
        cluster_id: uuid::Uuid::new_v4(),
        org_id: uuid::Uuid::new_v4(),
        node_index: 2,
        region: "us-east-1".into(),
        kms_key_arn: "arn:aws:kms:us-east-1:000000000000:key/k".into(),
        snapshot_bucket: "s".into(),
        audit_bucket: "a".into(),
        control_plane_url: format!("{url}/"),
        control_plane_ca_pem: None,
        msp_public_key: None,
        join_token: token.map(|t| JoinToken::new(t.into())),
    }
}

#[tokio::test]
async fn registers_once_and_stores_the_credential_privately() {
    let (url, cp) = control_plane().await;
    let dir = tempfile::tempdir().unwrap();
    let d = doc(&url, Some(GOOD_TOKEN));
    assert_eq!(
        register::register(&d, &ControlPlaneTls::default(), "i-0abc", dir.path()).await.unwrap(),
        Registration::Registered
    );
    let path = credential_path(dir.path());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CREDENTIAL);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    // The join token is spent: a second run must not call the control plane at all.
    assert_eq!(
        register::register(&d, &ControlPlaneTls::default(), "i-0abc", dir.path()).await.unwrap(),
        Registration::AlreadyRegistered
    );
    assert_eq!(cp.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn refusals_are_clear_errors_and_store_nothing() {
    let (url, _cp) = control_plane().await;
    let dir = tempfile::tempdir().unwrap();
    let e = register::register(
        &doc(&url, Some("cjt_wrong")),
        &ControlPlaneTls::default(),
        "i-0abc",
        dir.path(),
    )
    .await
    .unwrap_err();
    match &e {
        RegisterError::Refused { status, code, message } => {
            assert_eq!((*status, code.as_str()), (401, "unauthenticated"));
            assert!(message.contains("join token"), "{message}");
        }
        other => panic!("want Refused, got {other:?}"),
    }
    assert!(!e.to_string().contains("cjt_wrong"), "the token never reaches an error: {e}");
    assert!(!credential_path(dir.path()).exists());

    let e = register::register(&doc(&url, None), &ControlPlaneTls::default(), "i-0abc", dir.path())
        .await
        .unwrap_err();
    assert!(matches!(e, RegisterError::NoJoinToken), "{e:?}");

    // Nobody listening: a transport error naming the URL.
    let dead = format!(
        "http://{}",
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
    );
    let e = register::register(
        &doc(&dead, Some(GOOD_TOKEN)),
        &ControlPlaneTls::default(),
        "i-0abc",
        dir.path(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, RegisterError::Transport { .. }), "{e:?}");
}
