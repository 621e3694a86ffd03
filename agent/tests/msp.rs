//! Operator policy bundles against a real provisioned `coffer-server` (moto KMS): a signed,
//! newer bundle is applied with a root token generated from the KMS-held recovery shares and
//! revoked at once; forged and replayed bundles change nothing.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use coffer_agent::msp::{applied_version, MspApplier};
use coffer_agent::provision::{self, policies};
use coffer_agent::run::Node;
use coffer_node_api::commands::CommandOutput;
use coffer_node_api::msp::{public_key_b64, MspBundle, SignedBundle};
use ed25519_dalek::SigningKey;
use reqwest::StatusCode;
use serde_json::Value;
use support::vault_http::{call, generate_root, live_token_policies};

fn bundle(version: u64, marker: &str) -> MspBundle {
    let hcl = format!(
        "{}path \"sys/{marker}\" {{ capabilities = [\"read\"] }}\n",
        policies::OPERATOR_HCL
    );
    MspBundle {
        version,
        issued_at: 1_800_000_000,
        policies: BTreeMap::from([(policies::OPERATOR.to_owned(), hcl)]),
    }
}

/// The audit entries made with a root token: (type, request path).
fn root_audit_entries(audit: &str) -> Vec<(String, String)> {
    audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["auth"]["policies"].as_array().is_some_and(|p| p.iter().any(|p| p == "root")))
        .map(|e| {
            let kind = e["type"].as_str().unwrap_or("").to_owned();
            (kind, e["request"]["path"].as_str().unwrap_or("").to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_newer_bundles_apply_and_nothing_else_does() {
    let moto = support::moto().await;
    let key = support::create_key(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let signing = SigningKey::from_bytes(&rand_bytes());
    let mut doc = support::document(&key, "http://127.0.0.1:9", None); // tidy: not-a-port
    doc.msp_public_key = Some(public_key_b64(&signing));
    let cfg = support::config(dir.path(), &moto, &doc);
    let addr = cfg.listen.to_string();
    let node = Node::start(&cfg).await.expect("server starts");
    node.provision().await.expect("provision");
    let handlers = node.handlers().expect("handlers");
    let msp = &handlers.msp;
    assert_eq!(msp.version(), 0);
    let audit_before = std::fs::read_to_string(node.layout.audit_file()).unwrap();

    let v1 = SignedBundle::sign(&bundle(1, "marker-v1"), &signing).unwrap();
    assert_eq!(
        msp.apply(&v1).await.expect("apply v1"),
        CommandOutput::MspBundleApplied { version: 1 }
    );
    assert_eq!(msp.version(), 1);
    assert_eq!(applied_version(&node.layout.data_dir).unwrap(), 1);

    // The audit log shows the generated root token's work, ending with its own revocation.
    let audit = std::fs::read_to_string(node.layout.audit_file()).unwrap();
    let new_entries = &audit[audit_before.len()..];
    let root_paths: Vec<String> = root_audit_entries(new_entries)
        .into_iter()
        .filter(|(kind, _)| kind == "request")
        .map(|(_, path)| path)
        .collect();
    assert_eq!(
        root_paths,
        vec!["sys/policies/acl/coffer-operator".to_owned(), "auth/token/revoke-self".to_owned()],
        "{new_entries}"
    );
    let server_log = std::fs::read_to_string(node.layout.server_log()).unwrap();
    assert!(server_log.contains("root token generated through sys/generate-root"));

    // The policy changed, and no root token but the test's own is alive.
    let shares = provision::recovery_shares(&node.seal, &node.layout).await.unwrap();
    let root = generate_root(&addr, &shares).await;
    let operator = format!("sys/policies/acl/{}", policies::OPERATOR);
    let read_operator = || async {
        let (st, v) = call(&addr, "GET", &operator, Some(&root), None).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        v["data"]["policy"].as_str().unwrap().to_owned()
    };
    let applied = read_operator().await;
    assert!(applied.contains("sys/marker-v1"), "{applied}");
    let live = live_token_policies(&addr, &root).await;
    let roots = live.iter().filter(|(_, p)| p.iter().any(|p| p == "root")).count();
    assert_eq!(roots, 1, "only the test's own root token may be alive: {live:?}");

    // Forged (another key), replayed (same version) and older bundles change nothing.
    let forger = SigningKey::from_bytes(&rand_bytes());
    let forged = SignedBundle::sign(&bundle(2, "forged"), &forger).unwrap();
    let mut tampered = SignedBundle::sign(&bundle(2, "tampered"), &signing).unwrap();
    tampered.payload = SignedBundle::sign(&bundle(3, "swapped"), &signing).unwrap().payload;
    let replay = SignedBundle::sign(&bundle(1, "replayed"), &signing).unwrap();
    let older = SignedBundle::sign(&bundle(0, "older"), &signing).unwrap();
    let audit_before = std::fs::read_to_string(node.layout.audit_file()).unwrap();
    for (signed, want) in [
        (forged, "signature does not verify"),
        (tampered, "signature does not verify"),
        (v1.clone(), "not newer than the applied version 1"),
        (replay, "not newer than the applied version 1"),
        (older, "not newer than the applied version 1"),
    ] {
        let f = msp.apply(&signed).await.unwrap_err();
        assert!(f.public.contains(want), "{want}: {f:?}");
    }
    assert_eq!(read_operator().await, applied);
    assert_eq!(msp.version(), 1);
    let audit = std::fs::read_to_string(node.layout.audit_file()).unwrap();
    let after: Vec<_> = root_audit_entries(&audit[audit_before.len()..])
        .into_iter()
        .filter(|(_, path)| path != &operator) // the test's own reads
        .collect();
    assert!(after.is_empty(), "refused bundles made no root requests: {after:?}");

    // The version survives a restart of the applier; a newer bundle still applies.
    let reopened = MspApplier::new(
        node.vault.clone(),
        node.seal.clone(),
        node.layout.clone(),
        doc.msp_public_key.clone(),
    )
    .unwrap();
    assert_eq!(reopened.version(), 1);
    let v2 = SignedBundle::sign(&bundle(2, "marker-v2"), &signing).unwrap();
    assert_eq!(reopened.apply(&v2).await.unwrap(), CommandOutput::MspBundleApplied { version: 2 });
    assert!(read_operator().await.contains("sys/marker-v2"));

    // A node without a public key refuses every bundle.
    let keyless =
        MspApplier::new(node.vault.clone(), node.seal.clone(), node.layout.clone(), None).unwrap();
    let v3 = SignedBundle::sign(&bundle(3, "marker-v3"), &signing).unwrap();
    assert!(keyless.apply(&v3).await.unwrap_err().public.contains("without an MSP public key"));

    let (st, _) = call(&addr, "POST", "auth/token/revoke-self", Some(&root), None).await;
    assert!(st.is_success());
    drop(handlers);
    node.shutdown().await;
}

fn rand_bytes() -> [u8; 32] {
    rand::random()
}
