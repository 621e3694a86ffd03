//! A node bootstrapped end to end against real processes: moto's KMS and the real
//! `coffer-server` binary, supervised by the agent.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use base64::Engine as _;
use coffer_agent::provision::{self, policies, Outcome, Provisioner, StatePaths};
use coffer_agent::run::Node;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

/// One raw Vault API call: (status, body or Null).
async fn call(
    node: &Node,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let http = reqwest::Client::new();
    let addr = format!("http://{}/v1/{path}", node_addr(node));
    let mut req = http.request(method.parse().unwrap(), addr);
    if let Some(t) = token {
        req = req.header("X-Vault-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn node_addr(node: &Node) -> String {
    let hcl = std::fs::read_to_string(node.layout.config_file()).unwrap();
    let line = hcl.lines().find(|l| l.trim_start().starts_with("address")).unwrap();
    line.split('"').nth(1).unwrap().to_owned()
}

/// Mints a root token from `shares` through generate-root's OTP flow.
async fn generate_root(node: &Node, shares: &[String]) -> String {
    let (st, started) = call(node, "PUT", "sys/generate-root/attempt", None, Some(json!({}))).await;
    assert_eq!(st, StatusCode::OK, "{started}");
    let otp = started["otp"].as_str().unwrap().to_owned();
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    let mut done = Value::Null;
    for share in shares {
        let body = json!({ "key": share, "nonce": nonce });
        let (st, v) = call(node, "PUT", "sys/generate-root/update", None, Some(body)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        done = v;
    }
    let encoded = done["encoded_token"].as_str().expect("complete attempt");
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded).unwrap();
    String::from_utf8(raw.iter().zip(otp.bytes()).map(|(a, b)| a ^ b).collect()).unwrap()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_bootstraps_end_to_end_and_survives_kill_9() {
    let moto = support::moto().await;
    let key = support::create_key(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = support::document(&key, "http://127.0.0.1:9", None); // tidy: not-a-port
    let cfg = support::config(dir.path(), &moto, &doc);
    let node = Node::start(&cfg).await.expect("server starts");
    assert_eq!(node.provision().await.expect("provision"), Outcome::Provisioned);

    // Initialised with the KMS seal and unsealed by it.
    let (st, status) = call(&node, "GET", "sys/seal-status", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (status["initialized"].clone(), status["sealed"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(status["type"], json!("awskms"), "{status}");

    // Recovery shares: on disk 0600, not plaintext, decrypt through KMS, and they work.
    let paths = StatePaths::new(&node.layout);
    let blob = std::fs::read(&paths.recovery_shares).unwrap();
    assert_eq!(mode(&paths.recovery_shares), 0o600);
    let shares = provision::recovery_shares(&node.seal, &node.layout).await.expect("decrypt");
    assert_eq!(shares.len(), usize::from(provision::RECOVERY_SHARES));
    for share in shares.iter() {
        assert!(!share.is_empty());
        let hay = String::from_utf8_lossy(&blob);
        assert!(!hay.contains(share.as_str()), "a share is stored in plaintext");
        let raw = hex::decode(share).unwrap_or_default();
        assert!(!blob.windows(raw.len().max(1)).any(|w| w == raw), "raw share bytes on disk");
    }
    assert!(!paths.root_token.exists(), "the encrypted root token is dropped after revoke");
    let root = generate_root(&node, &shares[..usize::from(provision::RECOVERY_THRESHOLD)]).await;

    // The three policies, exactly as written.
    for (name, hcl) in policies::ALL {
        let (st, v) =
            call(&node, "GET", &format!("sys/policies/acl/{name}"), Some(&root), None).await;
        assert_eq!(st, StatusCode::OK, "{name}: {v}");
        assert_eq!(v["data"]["policy"].as_str(), Some(hcl), "{name}");
    }
    // The customer admin can do anything except the reserved paths.
    let (st, v) = call(
        &node,
        "POST",
        "auth/token/create",
        Some(&root),
        Some(json!({"policies": [policies::CUSTOMER_ADMIN]})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let admin = v["auth"]["client_token"].as_str().unwrap().to_owned();
    let cases = [
        ("secret/data/app", true),
        ("sys/policies/acl/team-a", true),
        ("sys/mounts/kv", true),
        ("sys/audit/other", false),
        ("sys/audit-hash/coffer-file", false),
        ("sys/generate-root/attempt", false),
        ("sys/policies/acl/coffer-operator", false),
        ("auth/coffer-agent/login", false),
    ];
    for (path, allowed) in cases {
        let (st, v) = call(
            &node,
            "POST",
            "sys/capabilities-self",
            Some(&admin),
            Some(json!({"paths": [path]})),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let caps = v["capabilities"].as_array().or_else(|| v[path].as_array()).unwrap().clone();
        assert_eq!(caps != vec![json!("deny")], allowed, "{path}: {caps:?}");
    }

    // The agent's own token works and carries only its policy.
    let agent_token = SecretString::from(std::fs::read_to_string(&paths.agent_token).unwrap());
    assert_eq!(mode(&paths.agent_token), 0o600);
    let mine = node.vault.lookup_self(&agent_token).await.expect("agent token works");
    assert!(mine.contains(&policies::AGENT.to_owned()), "{mine:?}");
    assert!(!mine.iter().any(|p| p == "root"), "{mine:?}");

    // The audit device is on and its file has entries, without the agent token in clear.
    let audit = std::fs::read_to_string(node.layout.audit_file()).unwrap();
    assert!(audit.lines().count() > 3, "audit log: {audit}");
    assert!(!audit.contains(agent_token.expose_secret()));
    assert!(!audit.contains(&root));

    // A second run changes nothing.
    assert_eq!(node.provision().await.unwrap(), Outcome::AlreadyProvisioned);

    // Some data, then kill -9: the supervisor restarts the server, KMS unseals it, data intact.
    let (st, _) = call(
        &node,
        "PUT",
        "sys/policies/acl/canary",
        Some(&root),
        Some(json!({"policy": "path \"canary/*\" { capabilities = [\"read\"] }"})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let pid = node.supervisor.pid();
    assert_ne!(pid, 0);
    let killed =
        std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    assert!(killed.success());
    support::eventually("a restarted server", Duration::from_secs(30), || async {
        let p = node.supervisor.pid();
        (node.supervisor.restarts() >= 1 && p != 0 && p != pid).then_some(())
    })
    .await;
    support::eventually("an unsealed server", Duration::from_secs(60), || async {
        match node.vault.health().await {
            Ok(h) if h.initialized && !h.sealed => Some(()),
            _ => None,
        }
    })
    .await;
    let (st, v) = call(&node, "GET", "sys/policies/acl/canary", Some(&root), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["data"]["policy"].as_str().unwrap().contains("canary/*"));
    assert_eq!(node.provision().await.unwrap(), Outcome::AlreadyProvisioned);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_init_resumes_and_revokes_the_initial_root_token() {
    let moto = support::moto().await;
    let key = support::create_key(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = support::document(&key, "http://127.0.0.1:9", None); // tidy: not-a-port
    let cfg = support::config(dir.path(), &moto, &doc);
    let node = Node::start(&cfg).await.expect("server starts");

    // Only the first step, as if the agent died right after init.
    let p = Provisioner { vault: &node.vault, seal: &node.seal, layout: &node.layout };
    let initial_root = p.initialise().await.expect("init");
    let paths = StatePaths::new(&node.layout);
    let blob = std::fs::read(&paths.root_token).unwrap();
    assert_eq!(mode(&paths.root_token), 0o600);
    assert!(!String::from_utf8_lossy(&blob).contains(initial_root.expose_secret()));
    assert_eq!(node.vault.lookup_self(&initial_root).await.unwrap(), vec!["root".to_owned()]);

    // The next run resumes from the KMS-encrypted token and finishes.
    assert_eq!(node.provision().await.expect("resume"), Outcome::Provisioned);
    let (st, _) =
        call(&node, "GET", "sys/policies/acl", Some(initial_root.expose_secret()), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "the initial root token is revoked");
    let err = node.vault.lookup_self(&initial_root).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
    assert!(!paths.root_token.exists());
    assert!(paths.done_marker.exists());
    assert_eq!(node.provision().await.unwrap(), Outcome::AlreadyProvisioned);
    node.shutdown().await;
}
