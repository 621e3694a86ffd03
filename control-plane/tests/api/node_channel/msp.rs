//! MSP bundles: operators publish signed, versioned operator-policy bundles; each cluster's
//! API node receives one command (also on a later registration) and the status view reflects
//! what the nodes answered.

use coffer_control_plane::config::Settings;
use coffer_control_plane::startup::Application;
use coffer_node_api::commands::{CommandBody, CommandOutput, CommandResult, NodeCommand};
use coffer_node_api::msp::{public_key_b64, SignedBundle};
use ed25519_dalek::SigningKey;
use secrecy::SecretString;
use serde_json::{json, Value};

use super::support::operator_token;
use super::support::{poll_commands, post_result, register_node};
use crate::helpers::{spawn_app_with, str_field, unique_name, TestApp};

const OPERATOR_HCL: &str = "path \"sys/health\" { capabilities = [\"read\"] }";

fn key_file(bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("coffer-msp-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("msp.key");
    std::fs::write(&path, bytes).expect("key file");
    path
}

fn bundle_of(command: &NodeCommand) -> SignedBundle {
    match &command.body {
        CommandBody::ApplyMspBundle { bundle } => bundle.clone(),
        other => panic!("expected an MSP bundle, got {other:?}"),
    }
}

async fn status(app: &TestApp, token: &str, version: u64) -> Value {
    app.get(&format!("/v1/platform/msp-bundles/{version}"), token).await.expect(200).clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_are_signed_versioned_queued_and_tracked() {
    let key = SigningKey::from_bytes(&[42u8; 32]);
    let public = public_key_b64(&key);
    let path = key_file(&[42u8; 32]);
    let app = spawn_app_with(|s| {
        s.msp.signing_key_file = Some(path.clone());
        s.msp.generate_if_missing = false;
    })
    .await;
    let operator = operator_token(&app).await;
    let owner = app.new_user().await;
    let org = owner.own_org.clone();
    let (running, _) = app.create_cluster(&org, &owner.token, &unique_name("c")).await;
    let (idle, _) = app.create_cluster(&org, &owner.token, &unique_name("c")).await;
    let running = str_field(&running, "id");
    let node = register_node(&app, &running, 0).await;
    let follower = register_node(&app, &running, 1).await;

    let body = json!({"policies": {"coffer-operator": OPERATOR_HCL}});
    // Customers cannot publish, nor read bundle status.
    app.post("/v1/platform/msp-bundles", &owner.token, &body)
        .await
        .expect_error(401, "unauthenticated");
    app.get("/v1/platform/msp-bundles/1", &owner.token).await.expect_error(401, "unauthenticated");
    // Only reserved coffer-* names, at least one policy.
    for bad in [
        json!({"policies": {"default": OPERATOR_HCL}}),
        json!({"policies": {"coffer-Operator": OPERATOR_HCL}}),
        json!({"policies": {}}),
        json!({"policies": {"coffer-operator": OPERATOR_HCL}, "extra": 1}),
    ] {
        app.post("/v1/platform/msp-bundles", &operator, &bad)
            .await
            .expect_error(400, "invalid_argument");
    }
    app.get("/v1/platform/msp-bundles/1", &operator).await.expect_error(404, "not_found");

    let published = app.post("/v1/platform/msp-bundles", &operator, &body).await;
    assert_eq!(published.expect(200), &json!({"version": 1, "clusters": 1}));

    // One command, to the API node only; it verifies with the configured key.
    let got = poll_commands(&app, &node, 0).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(poll_commands(&app, &follower, 0).await.is_empty(), "followers get no bundle");
    let verified = bundle_of(&got[0]).verify(&public).expect("signature verifies");
    assert_eq!(verified.version, 1);
    assert_eq!(verified.policies.get("coffer-operator").map(String::as_str), Some(OPERATOR_HCL));
    let other_key = public_key_b64(&SigningKey::from_bytes(&[1u8; 32]));
    assert!(bundle_of(&got[0]).verify(&other_key).is_err());

    let v1 = status(&app, &operator, 1).await;
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["clusters"], json!([{"cluster_id": running, "state": "pending", "error": null}]));
    assert!(!v1.to_string().contains(str_field(&idle, "id").as_str()));
    let applied =
        CommandResult::Succeeded { output: CommandOutput::MspBundleApplied { version: 1 } };
    post_result(&app, &node, got[0].id, &applied).await.expect(204);
    assert_eq!(status(&app, &operator, 1).await["clusters"][0]["state"], "applied");

    // The next publish is version 2; a refusal by the node shows as failed, with its reason.
    let body2 =
        json!({"policies": {"coffer-operator": OPERATOR_HCL, "coffer-agent": "path \"x\" {}"}});
    let published = app.post("/v1/platform/msp-bundles", &operator, &body2).await;
    assert_eq!(published.expect(200)["version"], 2);
    let got = poll_commands(&app, &node, 0).await;
    assert_eq!(bundle_of(&got[0]).verify(&public).expect("verifies").version, 2);
    let refused = CommandResult::Failed { error: "bundle version is not newer".into() };
    post_result(&app, &node, got[0].id, &refused).await.expect(204);
    let v2 = status(&app, &operator, 2).await;
    assert_eq!(v2["clusters"][0]["state"], "failed");
    assert_eq!(v2["clusters"][0]["error"], "bundle version is not newer");

    // A node joining later (here: the idle cluster's API node) gets the latest bundle.
    let late = register_node(&app, &str_field(&idle, "id"), 0).await;
    let got = poll_commands(&app, &late, 0).await;
    assert_eq!(got.len(), 1);
    assert_eq!(bundle_of(&got[0]).verify(&public).expect("verifies").version, 2);
    assert_eq!(status(&app, &operator, 2).await["clusters"].as_array().map(Vec::len), Some(2));
    std::fs::remove_dir_all(path.parent().expect("dir")).expect("clean up");
}

#[tokio::test]
async fn a_production_start_needs_the_signing_key() {
    let (url, _) = crate::helpers::fresh_database().await;
    let mut settings = Settings::local(SecretString::from(url));
    settings.msp.generate_if_missing = false;
    let err = Application::build(settings.clone()).await.err().expect("start without a key");
    assert!(format!("{err:#}").contains("msp.signing_key_file"), "{err:#}");

    let missing = std::env::temp_dir().join(format!("coffer-no-key-{}", uuid::Uuid::new_v4()));
    settings.msp.signing_key_file = Some(missing.clone());
    let err = Application::build(settings.clone()).await.err().expect("start with a missing key");
    assert!(format!("{err:#}").contains(&missing.display().to_string()), "{err:#}");

    // Development: generated into the named file, reused on the next start.
    settings.msp.generate_if_missing = true;
    let app = Application::build(settings.clone()).await.expect("generated key");
    drop(app);
    let stored = std::fs::read_to_string(&missing).expect("key file written");
    let key: [u8; 32] =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, stored.trim())
            .expect("base64")
            .try_into()
            .expect("32 bytes");
    settings.msp.generate_if_missing = false;
    Application::build(settings).await.expect("the generated key is read back");
    assert_eq!(std::fs::read_to_string(&missing).expect("unchanged"), stored);
    assert_ne!(key, [0u8; 32]);
    std::fs::remove_file(missing).expect("clean up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishes_get_distinct_versions() {
    let app = std::sync::Arc::new(spawn_app_with(|_| {}).await);
    let operator = operator_token(&app).await;
    let publishes: Vec<_> = (0..4)
        .map(|_| {
            let (app, operator) = (app.clone(), operator.clone());
            tokio::spawn(async move {
                let body = json!({"policies": {"coffer-operator": OPERATOR_HCL}});
                let resp = app.post("/v1/platform/msp-bundles", &operator, &body).await;
                resp.expect(200)["version"].as_u64().expect("version")
            })
        })
        .collect();
    let mut versions = Vec::new();
    for p in publishes {
        versions.push(p.await.expect("publish task"));
    }
    versions.sort_unstable();
    assert_eq!(versions, [1, 2, 3, 4]);
}
