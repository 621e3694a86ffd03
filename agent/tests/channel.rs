//! The agent binary end to end against real moto (KMS) and a real `coffer-server`, with a small
//! control plane in the test that serves the node endpoints with the contract's JSON:
//! registration once (retried through a 503; credential kept 0600 and reused after a restart), heartbeats with the
//! advertised address, commands by long poll with retries through control-plane errors,
//! at-most-once (duplicates and expired commands answered `Failed`, not applied), admin tokens
//! and an MSP bundle through the channel, a clean SIGTERM shutdown, and no secret in the logs.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use coffer_agent::provision::policies;
use coffer_node_api::commands::{CommandBody, CommandOutput, CommandResult, NodeCommand};
use coffer_node_api::msp::{public_key_b64, MspBundle, SignedBundle};
use coffer_node_api::seal::ReplyKey;
use coffer_node_api::BootstrapDocument;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use uuid::Uuid;

use support::fake_cp::{serve_http, AgentProcess, Cp, CREDENTIAL, JOIN_TOKEN};
use support::vault_http::call;

const ADVERTISE: &str = "http://node-0.c-test.coffer.example:8200";

/// The agent for the node in `dir`, listening on `listen`.
fn start_agent(dir: &Path, moto: &support::Moto, listen: &str) -> AgentProcess {
    let args = ["--listen", listen, "--advertise-addr", ADVERTISE, "--instance-id", "i-0channel"];
    let envs = [
        ("COFFER_AGENT_LOG", "info,coffer_agent=debug"),
        (coffer_agent::audit_ship::INTERVAL_ENV, "1"),
    ];
    AgentProcess::start(dir, moto, &args, &envs)
}

fn command(body: CommandBody) -> NodeCommand {
    NodeCommand { id: Uuid::new_v4(), expires_at: now() + 300, body }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn failed(r: &CommandResult) -> &str {
    match r {
        CommandResult::Failed { error } => error,
        other => panic!("want Failed, got {other:?}"),
    }
}

fn succeeded(r: CommandResult) -> CommandOutput {
    match r {
        CommandResult::Succeeded { output } => output,
        other => panic!("want Succeeded, got {other:?}"),
    }
}

fn recorded_accessors(dir: &Path) -> usize {
    let path = coffer_agent::admin_tokens::accessors_path(&dir.join("node"));
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "[]".into());
    serde_json::from_str::<Vec<Value>>(&text).unwrap().len()
}

/// A document with fresh bucket names (created in moto) and the bundle key.
async fn document(
    moto: &support::Moto,
    key: &str,
    cp_url: &str,
    signing: &SigningKey,
) -> BootstrapDocument {
    let mut doc = support::document(key, cp_url, Some(JOIN_TOKEN));
    doc.msp_public_key = Some(public_key_b64(signing));
    doc.snapshot_bucket = format!("snapshots-{}", doc.cluster_id);
    doc.audit_bucket = format!("audit-{}", doc.cluster_id);
    let s3 =
        coffer_agent::s3::client(&doc.region, Some(&moto.url), Some(&support::credentials())).await;
    for bucket in [&doc.snapshot_bucket, &doc.audit_bucket] {
        s3.create_bucket().bucket(bucket).send().await.expect("CreateBucket");
    }
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_serves_the_channel_at_most_once_and_stops_cleanly() {
    let moto = support::moto().await;
    let key = support::create_key(&moto).await;
    let cp = Cp::new(1, 2);
    let cp_url = serve_http(&cp).await;
    let dir = tempfile::tempdir().unwrap();
    let signing = SigningKey::from_bytes(&rand::random());
    let doc = document(&moto, &key, &cp_url, &signing).await;
    std::fs::write(dir.path().join("user-data.json"), doc.to_user_data().unwrap()).unwrap();
    let listen = support::free_addr().to_string();
    let agent = start_agent(dir.path(), &moto, &listen);

    // Registered once; heartbeats report the advertised address and a serving leader.
    let hb = support::eventually(
        "a heartbeat from an unsealed leader",
        Duration::from_secs(120),
        || async { cp.seen().heartbeats.iter().find(|h| h.leader && !h.sealed).cloned() },
    )
    .await;
    assert_eq!(hb.api_address, ADVERTISE);
    assert!(hb.initialized && !hb.server_version.is_empty(), "{hb:?}");
    assert_eq!(hb.agent_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(hb.msp_bundle_version, 0);
    let cred = coffer_agent::register::credential_path(&dir.path().join("node"));
    assert_eq!(std::fs::read_to_string(&cred).unwrap(), CREDENTIAL);
    assert_eq!(std::fs::metadata(&cred).unwrap().permissions().mode() & 0o777, 0o600);

    // An admin token through the channel, despite the first polls failing with 503.
    let reply = ReplyKey::generate();
    let issue =
        command(CommandBody::IssueAdminToken { ttl_secs: 3600, reply_key: reply.public_b64() });
    cp.send(issue.clone());
    let CommandOutput::AdminToken { sealed, .. } = succeeded(cp.result(issue.id).await) else {
        panic!("want AdminToken")
    };
    assert!(cp.seen().polls >= 3, "the failing polls were retried");
    let token = String::from_utf8(reply.open(&sealed).unwrap().to_vec()).unwrap();
    let (st, _) = call(&listen, "GET", "auth/token/lookup-self", Some(&token), None).await;
    assert_eq!(st, reqwest::StatusCode::OK);
    let (st, _) = call(&listen, "GET", "sys/audit", Some(&token), None).await;
    assert_eq!(st, reqwest::StatusCode::FORBIDDEN);
    assert_eq!(recorded_accessors(dir.path()), 1);

    // At most once: the same id again, and an expired command, are refused and not applied.
    cp.seen().results.remove(&issue.id);
    cp.send(issue.clone());
    assert!(failed(&cp.result(issue.id).await).contains("already started"));
    let mut expired =
        command(CommandBody::IssueAdminToken { ttl_secs: 3600, reply_key: reply.public_b64() });
    expired.expires_at = now() - 1;
    cp.send(expired.clone());
    assert!(failed(&cp.result(expired.id).await).contains("expired"));
    assert_eq!(recorded_accessors(dir.path()), 1, "neither was applied");

    // An MSP bundle; the next heartbeats carry its version.
    let bundle = MspBundle {
        version: 1,
        issued_at: now(),
        policies: BTreeMap::from([(
            policies::OPERATOR.to_owned(),
            format!(
                "{}path \"sys/marker\" {{ capabilities = [\"read\"] }}\n",
                policies::OPERATOR_HCL
            ),
        )]),
    };
    let apply = command(CommandBody::ApplyMspBundle {
        bundle: SignedBundle::sign(&bundle, &signing).unwrap(),
    });
    cp.send(apply.clone());
    assert_eq!(
        succeeded(cp.result(apply.id).await),
        CommandOutput::MspBundleApplied { version: 1 }
    );
    support::eventually("a heartbeat with the bundle version", Duration::from_secs(30), || async {
        cp.seen().heartbeats.iter().rev().any(|h| h.msp_bundle_version == 1).then_some(())
    })
    .await;

    // Snapshot commands reach the snapshot handlers: another bucket is refused, the cluster's
    // own bucket gets the snapshot, which restores and can be deleted again.
    let key_name = format!("snapshots/{}/s1.snap", doc.cluster_id);
    let snapshot_id = Uuid::new_v4();
    let foreign = command(CommandBody::TakeSnapshot {
        snapshot_id,
        bucket: "someone-elses-bucket".into(),
        key: key_name.clone(),
    });
    cp.send(foreign.clone());
    assert!(failed(&cp.result(foreign.id).await).contains("not this cluster's snapshot bucket"));
    let take = command(CommandBody::TakeSnapshot {
        snapshot_id,
        bucket: doc.snapshot_bucket.clone(),
        key: key_name.clone(),
    });
    cp.send(take.clone());
    let CommandOutput::Snapshot { size_bytes, sha256 } = succeeded(cp.result(take.id).await) else {
        panic!("want Snapshot")
    };
    assert!(size_bytes > 0 && sha256.len() == 64, "{size_bytes} {sha256}");
    let restore = command(CommandBody::RestoreSnapshot {
        snapshot_id,
        bucket: doc.snapshot_bucket.clone(),
        key: key_name.clone(),
        sha256: sha256.clone(),
    });
    cp.send(restore.clone());
    assert_eq!(succeeded(cp.result(restore.id).await), CommandOutput::SnapshotRestored);
    let delete = command(CommandBody::DeleteSnapshot {
        snapshot_id,
        bucket: doc.snapshot_bucket.clone(),
        key: key_name,
    });
    cp.send(delete.clone());
    assert_eq!(succeeded(cp.result(delete.id).await), CommandOutput::SnapshotDeleted);

    // Audit lines are shipped and the heartbeats say how far.
    let shipped =
        support::eventually("audit progress in heartbeats", Duration::from_secs(30), || async {
            cp.seen().heartbeats.last().and_then(|h| h.audit_shipped_through)
        })
        .await;
    assert!((now() - 600..=now()).contains(&shipped), "{shipped}");

    // Revoke: the token stops working.
    let revoke = command(CommandBody::RevokeAdminTokens);
    cp.send(revoke.clone());
    assert_eq!(
        succeeded(cp.result(revoke.id).await),
        CommandOutput::AdminTokensRevoked { count: 1 }
    );
    let (st, _) = call(&listen, "GET", "auth/token/lookup-self", Some(&token), None).await;
    assert_eq!(st, reqwest::StatusCode::FORBIDDEN);

    // SIGTERM: the agent exits cleanly and takes the server down with it.
    agent.stop().await;
    let server_gone =
        support::eventually("the server to stop", Duration::from_secs(20), || async {
            tokio::net::TcpStream::connect(&listen).await.is_err().then_some(())
        });
    server_gone.await;

    // Restart: no second registration, heartbeats resume, the journal still refuses old ids.
    let beats = cp.heartbeats();
    let agent = start_agent(dir.path(), &moto, &listen);
    support::eventually("heartbeats after the restart", Duration::from_secs(120), || async {
        (cp.heartbeats() > beats + 1).then_some(())
    })
    .await;
    // The shipper's progress survives the restart (it is kept in its checkpoint).
    let shipped =
        support::eventually("audit progress in heartbeats", Duration::from_secs(30), || async {
            cp.seen().heartbeats.last().and_then(|h| h.audit_shipped_through)
        })
        .await;
    assert!((now() - 600..=now()).contains(&shipped), "{shipped}");
    cp.seen().results.remove(&issue.id);
    cp.send(issue.clone());
    assert!(failed(&cp.result(issue.id).await).contains("already started"));
    assert_eq!(recorded_accessors(dir.path()), 0);
    assert_eq!(cp.seen().registrations, 1, "the credential was reused");
    assert_eq!(cp.seen().unauthorized, 0);
    agent.stop().await;

    // Nothing secret reached the agent's output.
    let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap();
    assert!(log.contains("serving the control-plane channel"), "{log}");
    let agent_token = std::fs::read_to_string(dir.path().join("node/agent-token")).unwrap();
    for (what, secret) in [
        ("admin token", token.as_str()),
        ("node credential", CREDENTIAL),
        ("join token", JOIN_TOKEN),
        ("agent token", agent_token.trim()),
    ] {
        assert!(!log.contains(secret), "the {what} appears in the agent log");
    }
    // Every server token (admin, agent, the MSP bundle's temporary root) starts with `hvs.`.
    assert!(!log.contains("hvs."), "a Vault token appears in the agent log");
}
