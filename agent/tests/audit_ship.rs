//! Audit shipping against real processes: the provisioned `coffer-server` writes its audit
//! file, the shipper tails it into moto's S3. The invariant checked throughout: the objects,
//! ordered by their key's offsets, are contiguous and concatenate to exactly the lines the
//! server wrote (nothing lost, nothing twice), across a crash between upload and checkpoint,
//! a rotation and a truncation.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod ags_support;
mod support;

use std::io::Read;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aws_sdk_s3::types::ServerSideEncryption;
use coffer_agent::audit_ship::batch::{line_time, whole_lines};
use coffer_agent::audit_ship::checkpoint::Checkpoint;
use coffer_agent::audit_ship::{self, AuditShipper, ShipSettings};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

fn settings() -> ShipSettings {
    ShipSettings {
        flush_interval: Duration::from_secs(1),
        // Small, so the traffic below spans several objects per phase.
        max_batch_bytes: 6 * 1024,
        poll_interval: Duration::from_millis(100),
    }
}

/// One shipped object, parsed from its key.
#[derive(Debug)]
struct Shipped {
    key: String,
    start: u64,
    end: u64,
    hour: String,
}

fn parse_key(prefix: &str, key: &str) -> Shipped {
    let rest = key.strip_prefix(prefix).unwrap_or_else(|| panic!("{key} outside {prefix}"));
    let parts: Vec<&str> = rest.split('/').collect();
    assert_eq!(parts.len(), 5, "{key}");
    let name = parts[4].strip_suffix(".jsonl.gz").unwrap();
    let (start, end) = name.split_once('-').unwrap();
    assert_eq!((start.len(), end.len()), (20, 20), "{key}");
    Shipped {
        key: key.to_owned(),
        start: start.parse().unwrap(),
        end: end.parse().unwrap(),
        hour: parts[..4].join("/"),
    }
}

fn gunzip(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz).read_to_end(&mut out).unwrap();
    out
}

/// Every shipped object in offset order, checked contiguous from 0, and their concatenation.
async fn shipped(c: &ags_support::Cluster) -> (Vec<Shipped>, Vec<u8>) {
    let prefix = format!("audit/{}/node-{}/", c.doc.cluster_id, c.doc.node_index);
    let mut objects: Vec<Shipped> =
        c.keys(&c.doc.audit_bucket).await.iter().map(|k| parse_key(&prefix, k)).collect();
    objects.sort_by_key(|o| o.start);
    let mut all = Vec::new();
    let mut at = 0;
    for o in &objects {
        assert_eq!(o.start, at, "objects must be contiguous: {objects:#?}");
        let lines = gunzip(&c.object(&c.doc.audit_bucket, &o.key).await);
        assert_eq!(lines.len() as u64, o.end - o.start, "{}", o.key);
        assert_eq!(whole_lines(&lines), &lines[..], "only whole lines: {}", o.key);
        all.extend_from_slice(&lines);
        at = o.end;
    }
    (objects, all)
}

/// Waits until the shipped objects are exactly `expect()` (re-evaluated: the file may grow).
async fn until_shipped(c: &ags_support::Cluster, what: &str, expect: impl Fn() -> Vec<u8>) {
    support::eventually(what, WAIT, || async {
        let (_, all) = shipped(c).await;
        let want = expect();
        (!want.is_empty() && all == want).then_some(())
    })
    .await;
}

fn whole_file(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_default();
    whole_lines(&bytes).to_vec()
}

async fn traffic(c: &ags_support::Cluster, tag: &str, n: usize) {
    for i in 0..n {
        c.put_secret(&format!("{tag}-{i}"), &format!("value-{tag}-{i}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ships_every_line_once_across_crash_rotation_and_truncation() {
    let c = ags_support::Cluster::start().await;
    let audit = c.node.layout.audit_file();
    let ckpt_path = AuditShipper::checkpoint_path(&c.node.layout);
    let secret_value = format!("s3cr3t-{}", uuid::Uuid::new_v4());
    c.mount_kv().await;
    c.put_secret("app", &secret_value).await;
    traffic(&c, "warmup", 10).await;

    // 1. A shipper "killed" right after its first upload, before that checkpoint. Its batch
    //    is everything written so far (the batch limit is large), so only the checkpointed
    //    range can make the restart choose the same object again once more lines exist.
    let ship = AuditShipper::new(c.s3.clone(), &c.doc, &c.node.layout).with_settings(settings());
    let big = ShipSettings { max_batch_bytes: 1 << 20, ..settings() };
    let crashing = tokio::spawn(audit_ship::run(
        ship.clone().with_settings(big).crash_after_uploads(1),
        CancellationToken::new(),
    ));
    tokio::time::timeout(WAIT, crashing).await.expect("stops at the fault point").unwrap();
    let ckpt = Checkpoint::load(&ckpt_path).unwrap().expect("a checkpoint");
    let pending = ckpt.pending.clone().expect("the crash left the batch pending");
    assert_eq!((ckpt.offset, ckpt.base), (0, 0));
    assert_eq!(c.versions(&c.doc.audit_bucket, &pending.key).await, 1, "uploaded once");
    let (before, _) = shipped(&c).await;
    assert_eq!(before.len(), 1, "{before:#?}");
    assert_eq!(before[0].end, pending.end);
    let progress = ship.progress();
    assert_eq!(progress.load(Ordering::Relaxed), 0, "nothing is checkpointed as shipped yet");

    // 2. More lines, then a normal restart: the pending batch is re-uploaded to the same key.
    traffic(&c, "after-crash", 10).await;
    let cancel = CancellationToken::new();
    let running = tokio::spawn(audit_ship::run(ship.clone(), cancel.clone()));
    until_shipped(&c, "everything after the restart", || whole_file(&audit)).await;
    assert_eq!(c.versions(&c.doc.audit_bucket, &pending.key).await, 2, "overwritten, same key");
    let file = whole_file(&audit);
    let last_line = file[..file.len() - 1].rsplit(|&b| b == b'\n').next().unwrap();
    let newest = line_time(last_line).unwrap().unix_timestamp();
    support::eventually("progress to reach the newest line", WAIT, || async {
        (progress.load(Ordering::Relaxed) == newest).then_some(())
    })
    .await;
    let (objects, _) = shipped(&c).await;
    assert!(objects.len() > 3, "several batches: {objects:#?}");

    // Every object: SSE-KMS under the cluster key, the contract's metadata, the hour of its
    // first line in the key.
    for o in &objects {
        let head = c.s3.head_object().bucket(&c.doc.audit_bucket).key(&o.key).send().await.unwrap();
        assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));
        assert_eq!(head.ssekms_key_id(), Some(c.doc.kms_key_arn.as_str()));
        let meta = head.metadata().unwrap();
        let lines = gunzip(&c.object(&c.doc.audit_bucket, &o.key).await);
        let text = String::from_utf8(lines).unwrap();
        let first = line_time(text.lines().next().unwrap().as_bytes()).unwrap();
        let last = line_time(text.lines().last().unwrap().as_bytes()).unwrap();
        assert_eq!(meta["lines"], text.lines().count().to_string(), "{}", o.key);
        let parse = |s: &str| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
        };
        assert_eq!(parse(&meta["first-time"]), first, "{}", o.key);
        assert_eq!(parse(&meta["last-time"]), last, "{}", o.key);
        let hour = format!(
            "{:04}/{:02}/{:02}/{:02}",
            first.year(),
            u8::from(first.month()),
            first.day(),
            first.hour()
        );
        assert_eq!(o.hour, hour, "{}", o.key);
    }

    // 3. Rotation: rename, lines still written to the old file, SIGHUP, lines in the new one.
    let rotated = audit.with_extension("log.1");
    std::fs::rename(&audit, &rotated).unwrap();
    traffic(&c, "old-file", 3).await;
    let pid = c.node.supervisor.pid().to_string();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    support::eventually("the server reopening its audit log", WAIT, || async {
        c.put_secret("probe", "x").await;
        audit.exists().then_some(())
    })
    .await;
    traffic(&c, "new-file", 5).await;
    until_shipped(&c, "both files after the rotation", || {
        let mut want = whole_file(&rotated);
        want.extend(whole_file(&audit));
        want
    })
    .await;

    // 4. Truncation (copytruncate): everything shipped so far stays; the new content follows.
    let (_, prefix) = shipped(&c).await;
    std::fs::OpenOptions::new().write(true).open(&audit).unwrap().set_len(0).unwrap();
    let base = prefix.len() as u64;
    support::eventually("the shipper noticing the truncation", WAIT, || async {
        let k = Checkpoint::load(&ckpt_path).unwrap()?;
        (k.base == base && k.offset == 0).then_some(())
    })
    .await;
    traffic(&c, "truncated", 5).await;
    until_shipped(&c, "the truncated file's new lines", || {
        let mut want = prefix.clone();
        want.extend(whole_file(&audit));
        want
    })
    .await;

    // 5. Stopped, then the file rotates while no shipper runs: the restart finds the old file
    //    by identity, drains it from the checkpoint, then moves to the new one.
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(20), running).await.expect("stops").unwrap();
    let (_, prefix) = shipped(&c).await;
    let k = Checkpoint::load(&ckpt_path).unwrap().unwrap();
    assert_eq!((k.pending.as_ref(), k.base + k.offset), (None, prefix.len() as u64));
    let rotated_down = audit.with_extension("log.2");
    std::fs::rename(&audit, &rotated_down).unwrap();
    traffic(&c, "old-file-while-down", 3).await;
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    support::eventually("the server reopening its audit log", WAIT, || async {
        c.put_secret("probe", "y").await;
        audit.exists().then_some(())
    })
    .await;
    traffic(&c, "new-file-while-down", 3).await;
    let cancel = CancellationToken::new();
    let running = tokio::spawn(audit_ship::run(ship.clone(), cancel.clone()));
    let offset = usize::try_from(k.offset).unwrap();
    until_shipped(&c, "the file rotated while stopped, then the new one", || {
        let mut want = prefix.clone();
        want.extend_from_slice(&whole_file(&rotated_down)[offset..]);
        want.extend(whole_file(&audit));
        want
    })
    .await;

    // Entries are HMAC'd: no secret value or token in clear, though the requests are there.
    let (_, all) = shipped(&c).await;
    let text = String::from_utf8(all).unwrap();
    assert!(text.contains("secret/data/app"), "the write itself is audited");
    assert!(!text.contains(&secret_value), "a KV value reached the shipped audit log");
    assert!(!text.contains(&c.root), "the client token reached the shipped audit log");
    assert!(!text.contains(c.agent_token.expose_secret()));

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(20), running).await.expect("stops").unwrap();
    let k = Checkpoint::load(&ckpt_path).unwrap().unwrap();
    assert_eq!(k.pending, None);
    c.shutdown().await;
}
