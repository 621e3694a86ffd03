//! Raw Vault API calls from tests, and root generation from recovery shares (the test's own
//! way to inspect a provisioned server: policies, token accessors).

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// One raw call against `addr` (`127.0.0.1:port`): (status, body or Null).
pub async fn call(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let http = reqwest::Client::new();
    let mut req = http.request(method.parse().expect("method"), format!("http://{addr}/v1/{path}"));
    if let Some(t) = token {
        req = req.header("X-Vault-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("vault call");
    let status = resp.status();
    let text = resp.text().await.expect("vault body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Mints a root token from `shares` through generate-root's OTP flow.
pub async fn generate_root(addr: &str, shares: &[String]) -> String {
    let (st, started) = call(addr, "PUT", "sys/generate-root/attempt", None, Some(json!({}))).await;
    assert_eq!(st, StatusCode::OK, "{started}");
    let otp = started["otp"].as_str().expect("otp").to_owned();
    let nonce = started["nonce"].as_str().expect("nonce").to_owned();
    let mut done = Value::Null;
    for share in shares {
        let body = json!({ "key": share, "nonce": nonce });
        let (st, v) = call(addr, "PUT", "sys/generate-root/update", None, Some(body)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        done = v;
        if done["complete"] == json!(true) {
            break;
        }
    }
    let encoded = done["encoded_token"].as_str().expect("complete attempt");
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded).expect("b64");
    String::from_utf8(raw.iter().zip(otp.bytes()).map(|(a, b)| a ^ b).collect()).expect("utf8")
}

/// Every live token as (accessor, policies), listed and looked up with `root`.
pub async fn live_token_policies(addr: &str, root: &str) -> Vec<(String, Vec<String>)> {
    let (st, v) = call(addr, "LIST", "auth/token/accessors", Some(root), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut out = Vec::new();
    for acc in v["data"]["keys"].as_array().expect("keys") {
        let acc = acc.as_str().expect("accessor");
        let body = Some(json!({ "accessor": acc }));
        let (st, v) = call(addr, "POST", "auth/token/lookup-accessor", Some(root), body).await;
        if st != StatusCode::OK {
            continue; // revoked or expired between the list and the lookup
        }
        let policies = v["data"]["policies"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        out.push((acc.to_owned(), policies));
    }
    out
}
