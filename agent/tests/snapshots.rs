//! Snapshot commands against real processes: a provisioned `coffer-server` (the agent's real
//! token and policy) and moto's S3 + KMS.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod ags_support;
mod support;

use std::time::Duration;

use aws_sdk_s3::types::{ChecksumMode, ServerSideEncryption};
use base64::Engine as _;
use coffer_agent::snapshots::{self, SnapshotCtx};
use coffer_node_api::commands::CommandOutput;
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_restore_and_delete_against_a_real_server_and_s3() {
    let c = ags_support::Cluster::start().await;
    let ctx =
        SnapshotCtx::new(&c.addr(), c.agent_token.clone(), c.s3.clone(), &c.doc, &c.node.layout)
            .unwrap();
    let bucket = c.doc.snapshot_bucket.clone();
    c.mount_kv().await;
    c.put_secret("a", "alpha-value").await;

    // Take: the object is there, SSE-KMS under the cluster key, checksummed, and hashes to
    // what the command reports.
    let sid = Uuid::new_v4();
    let key = format!("snapshots/{}/{sid}.snap", c.doc.cluster_id);
    let out = snapshots::take(&ctx, sid, &bucket, &key).await.expect("take");
    let CommandOutput::Snapshot { size_bytes, sha256 } = out else { panic!("{out:?}") };
    let head =
        c.s3.head_object()
            .bucket(&bucket)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("HeadObject");
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));
    assert_eq!(head.ssekms_key_id(), Some(c.doc.kms_key_arn.as_str()));
    let body = c.object(&bucket, &key).await;
    let digest = Sha256::digest(&body);
    assert_eq!(hex::encode(digest), sha256);
    assert_eq!(body.len() as u64, size_bytes);
    assert_eq!(
        head.checksum_sha256(),
        Some(base64::engine::general_purpose::STANDARD.encode(digest).as_str())
    );
    assert_eq!(head.metadata().and_then(|m| m.get("sha256")), Some(&sha256));
    assert!(
        !c.dir.path().join("node/snapshot-spool").read_dir().unwrap().any(|_| true),
        "the spool file is removed"
    );

    // Another bucket is refused before anything is read or written.
    let other = snapshots::take(&ctx, Uuid::new_v4(), &c.other_bucket, &key).await.unwrap_err();
    assert!(other.public.contains("not this cluster's snapshot bucket"), "{other:?}");
    assert!(c.keys(&c.other_bucket).await.is_empty());
    for refused in [
        snapshots::restore(&ctx, sid, &c.other_bucket, &key, &sha256).await,
        snapshots::delete(&ctx, sid, &c.other_bucket, &key).await,
    ] {
        assert!(refused.unwrap_err().public.contains("not this cluster's"));
    }
    assert_eq!(c.keys(&bucket).await, vec![key.clone()]);

    // Change the data after the snapshot.
    c.put_secret("b", "beta-value").await;
    c.delete_secret("a").await;
    assert_eq!(c.get_secret("a").await, None);

    // A wrong digest, or an object the server rejects, fails and leaves the server alone.
    let wrong = "00".repeat(32);
    let e = snapshots::restore(&ctx, sid, &bucket, &key, &wrong).await.unwrap_err();
    assert!(e.public.contains("integrity check"), "{e:?}");
    assert!(!e.public.contains(&sha256), "no internals in the public text: {e:?}");
    let e = snapshots::restore(&ctx, sid, &bucket, &key, "xyz").await.unwrap_err();
    assert!(e.public.contains("64 hex"), "{e:?}");
    let junk_key = format!("snapshots/{}/junk.snap", c.doc.cluster_id);
    let junk = b"not a snapshot at all".to_vec();
    c.s3.put_object()
        .bucket(&bucket)
        .key(&junk_key)
        .body(junk.clone().into())
        .send()
        .await
        .unwrap();
    let junk_sha = hex::encode(Sha256::digest(&junk));
    let e = snapshots::restore(&ctx, sid, &bucket, &junk_key, &junk_sha).await.unwrap_err();
    assert!(e.public.contains("refused the snapshot"), "{e:?}");
    let e = snapshots::restore(&ctx, sid, &bucket, "snapshots/missing.snap", &junk_sha)
        .await
        .unwrap_err();
    assert!(e.public.contains("does not exist"), "{e:?}");
    assert_eq!(c.get_secret("a").await, None);
    assert_eq!(c.get_secret("b").await.as_deref(), Some("beta-value"));

    // Restore: A is back, B is gone, the server unsealed itself, the agent token still works.
    let out = snapshots::restore(&ctx, sid, &bucket, &key, &sha256.to_uppercase()).await;
    assert_eq!(out.expect("restore"), CommandOutput::SnapshotRestored);
    assert!(c.unsealed().await);
    assert_eq!(c.get_secret("a").await.as_deref(), Some("alpha-value"));
    assert_eq!(c.get_secret("b").await, None);
    c.node.vault.lookup_self(&c.agent_token).await.expect("agent token after restore");

    // Delete, twice (idempotent); a deleted snapshot cannot be restored.
    for _ in 0..2 {
        let out = snapshots::delete(&ctx, sid, &bucket, &key).await.expect("delete");
        assert_eq!(out, CommandOutput::SnapshotDeleted);
    }
    assert!(!c.keys(&bucket).await.contains(&key));
    let e = snapshots::restore(&ctx, sid, &bucket, &key, &sha256).await.unwrap_err();
    assert!(e.public.contains("does not exist"), "{e:?}");

    // The server still serves after everything.
    support::eventually("an unsealed server", Duration::from_secs(10), || async {
        c.unsealed().await.then_some(())
    })
    .await;
    c.shutdown().await;
}
