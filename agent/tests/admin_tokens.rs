//! Admin tokens against a real provisioned `coffer-server` (moto KMS): issued through the
//! `coffer-admin` role, sealed to a one-time reply key, recorded by accessor, able to write KV
//! but not to touch the audit devices, and revoked all at once.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;

use coffer_agent::admin_tokens::accessors_path;
use coffer_agent::run::Node;
use coffer_node_api::commands::CommandOutput;
use coffer_node_api::seal::ReplyKey;
use reqwest::StatusCode;
use serde_json::json;
use support::vault_http::call;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tokens_are_issued_sealed_scoped_and_revoked() {
    let moto = support::moto().await;
    let key = support::create_key(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = support::document(&key, "http://127.0.0.1:9", None); // tidy: not-a-port
    let cfg = support::config(dir.path(), &moto, &doc);
    let addr = cfg.listen.to_string();
    let node = Node::start(&cfg).await.expect("server starts");
    node.provision().await.expect("provision");
    let handlers = node.handlers().expect("handlers");
    let admin = &handlers.admin_tokens;

    // Refusals: nothing is minted, nothing recorded.
    let good_key = ReplyKey::generate();
    for (ttl, reply_key, want) in [
        (0, good_key.public_b64(), "TTL must be between"),
        (59, good_key.public_b64(), "TTL must be between"),
        (24 * 3600 + 1, good_key.public_b64(), "TTL must be between"),
        (3600, "not-a-key".to_owned(), "reply key"),
        (3600, "AAAA".to_owned(), "reply key"),
    ] {
        let f = admin.issue(ttl, &reply_key).await.unwrap_err();
        assert!(f.public.contains(want), "{ttl}/{reply_key}: {f:?}");
    }
    assert!(admin.recorded().unwrap().is_empty());

    // Issue: the token travels sealed; only the reply key opens it.
    let reply = ReplyKey::generate();
    let before = coffer_agent_now();
    let out = admin.issue(3600, &reply.public_b64()).await.expect("issue");
    let CommandOutput::AdminToken { sealed, accessor, expires_at } = out else {
        panic!("want AdminToken, got {out:?}")
    };
    assert!((before + 3590..=before + 3610).contains(&expires_at), "{expires_at} vs {before}");
    assert!(ReplyKey::generate().open(&sealed).is_err());
    let token = String::from_utf8(reply.open(&sealed).unwrap().to_vec()).unwrap();
    assert!(!sealed.ciphertext.contains(&token));

    // Recorded by accessor, privately.
    let recorded = admin.recorded().unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0].accessor.as_str(), recorded[0].expires_at),
        (accessor.as_str(), expires_at)
    );
    let path = accessors_path(&node.layout.data_dir);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!std::fs::read_to_string(&path).unwrap().contains(&token));

    // Scope: customer admin, orphan, TTL as asked; KV works, the audit trail is off limits.
    let (st, me) = call(&addr, "GET", "auth/token/lookup-self", Some(&token), None).await;
    assert_eq!(st, StatusCode::OK, "{me}");
    let policies = me["data"]["policies"].as_array().unwrap();
    assert!(policies.contains(&json!("coffer-customer-admin")), "{me}");
    assert!(!policies.contains(&json!("root")), "{me}");
    assert!(me["data"]["ttl"].as_u64().unwrap() <= 3600, "{me}");
    let mount = json!({"type": "kv", "options": {"version": "2"}});
    let (st, v) = call(&addr, "POST", "sys/mounts/kv", Some(&token), Some(mount)).await;
    assert!(st.is_success(), "{st} {v}");
    let body = json!({"data": {"password": "hunter2"}});
    let (st, v) = call(&addr, "PUT", "kv/data/app", Some(&token), Some(body)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = call(&addr, "GET", "kv/data/app", Some(&token), None).await;
    assert_eq!((st, v["data"]["data"]["password"].clone()), (StatusCode::OK, json!("hunter2")));
    for (method, path) in [("GET", "sys/audit"), ("PUT", "sys/audit/other")] {
        let body =
            (method == "PUT").then(|| json!({"type": "file", "options": {"file_path": "/tmp/x"}}));
        let (st, v) = call(&addr, method, path, Some(&token), body).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{method} {path}: {v}");
    }

    // A second token, then revoke all: both stop working, and the records are gone.
    let reply2 = ReplyKey::generate();
    let CommandOutput::AdminToken { sealed: sealed2, .. } =
        admin.issue(24 * 3600, &reply2.public_b64()).await.expect("issue 2")
    else {
        panic!("want AdminToken")
    };
    let token2 = String::from_utf8(reply2.open(&sealed2).unwrap().to_vec()).unwrap();
    assert_eq!(admin.recorded().unwrap().len(), 2);
    let out = admin.revoke_all().await.expect("revoke");
    assert_eq!(out, CommandOutput::AdminTokensRevoked { count: 2 });
    for t in [&token, &token2] {
        let (st, _) = call(&addr, "GET", "auth/token/lookup-self", Some(t), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = call(&addr, "GET", "kv/data/app", Some(t), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
    assert!(admin.recorded().unwrap().is_empty());
    assert_eq!(admin.revoke_all().await.unwrap(), CommandOutput::AdminTokensRevoked { count: 0 });

    // A token revoked behind the agent's back is not counted.
    let reply3 = ReplyKey::generate();
    let CommandOutput::AdminToken { sealed: sealed3, .. } =
        admin.issue(600, &reply3.public_b64()).await.expect("issue 3")
    else {
        panic!("want AdminToken")
    };
    let token3 = String::from_utf8(reply3.open(&sealed3).unwrap().to_vec()).unwrap();
    let (st, _) = call(&addr, "POST", "auth/token/revoke-self", Some(&token3), None).await;
    assert!(st.is_success());
    assert_eq!(admin.revoke_all().await.unwrap(), CommandOutput::AdminTokensRevoked { count: 0 });
    drop(handlers);
    node.shutdown().await;
}

fn coffer_agent_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap()
}

/// A node provisioned before admin tokens existed (revision 1: no token role, the old agent
/// policy) is upgraded on the next start, with a root token generated and revoked on the spot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_node_gains_the_admin_role_on_upgrade() {
    use coffer_agent::provision::{policies, Outcome, StatePaths};
    use support::vault_http::{generate_root, live_token_policies};

    let moto = support::moto().await;
    let key = support::create_key(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = support::document(&key, "http://127.0.0.1:9", None); // tidy: not-a-port
    let cfg = support::config(dir.path(), &moto, &doc);
    let addr = cfg.listen.to_string();
    let node = Node::start(&cfg).await.expect("server starts");
    node.provision().await.expect("provision");

    // Turn the node back into a revision-1 node.
    let shares = coffer_agent::provision::recovery_shares(&node.seal, &node.layout).await.unwrap();
    let root = generate_root(&addr, &shares).await;
    let old_agent = "path \"sys/health\" { capabilities = [\"read\"] }\n";
    let body = json!({ "policy": old_agent });
    let (st, v) =
        call(&addr, "PUT", "sys/policies/acl/coffer-agent", Some(&root), Some(body)).await;
    assert!(st.is_success(), "{v}");
    let (st, v) = call(&addr, "DELETE", "auth/token/roles/coffer-admin", Some(&root), None).await;
    assert!(st.is_success(), "{v}");
    std::fs::write(StatePaths::new(&node.layout).done_marker, "1\n").unwrap();
    let handlers = node.handlers().unwrap();
    let reply = ReplyKey::generate();
    assert!(handlers.admin_tokens.issue(600, &reply.public_b64()).await.is_err());

    assert_eq!(node.provision().await.unwrap(), Outcome::Upgraded);
    assert_eq!(node.provision().await.unwrap(), Outcome::AlreadyProvisioned);
    let (st, v) = call(&addr, "GET", "sys/policies/acl/coffer-agent", Some(&root), None).await;
    assert_eq!((st, v["data"]["policy"].as_str()), (StatusCode::OK, Some(policies::AGENT_HCL)));
    let out = handlers.admin_tokens.issue(600, &reply.public_b64()).await.expect("issue");
    assert!(matches!(out, CommandOutput::AdminToken { .. }), "{out:?}");
    let live = live_token_policies(&addr, &root).await;
    let roots = live.iter().filter(|(_, p)| p.iter().any(|p| p == "root")).count();
    assert_eq!(roots, 1, "the upgrade's root token was revoked: {live:?}");
    drop(handlers);
    node.shutdown().await;
}
