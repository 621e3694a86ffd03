//! Durability under `kill -9`: every write the barrier acknowledged must be on disk.
//!
//! The test re-executes its own binary as a child that writes entries through the barrier and
//! prints `ack N` after each `put` returns. The parent SIGKILLs the child mid-stream, reopens the
//! store (redb repairs it if needed) and checks that every acknowledged entry reads back.

use std::{
    io::{BufRead, BufReader, Write},
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use coffer_barrier::{Barrier, RootKey, Store, TxOp};

const CHILD_ENV: &str = "COFFER_BARRIER_DURABILITY_DB";
const KEY_ENV: &str = "COFFER_BARRIER_DURABILITY_KEY";
/// Acks to wait for before the kill; the child keeps writing meanwhile.
const KILL_AFTER: usize = 300;
const ROTATE_AT: usize = 100;

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex key"))
        .collect()
}

fn value_for(i: usize) -> Vec<u8> {
    format!("value-{i}-{}", "x".repeat(i % 97)).into_bytes()
}

fn key_for(i: usize) -> String {
    format!("data/{i:06}")
}

/// The writer process. Ignored in normal runs; the parent test runs it explicitly.
#[test]
#[ignore = "child process of acknowledged_writes_survive_sigkill"]
fn durability_child() {
    let db = std::env::var(CHILD_ENV).expect("child needs the db path");
    let root = RootKey::from_bytes(&from_hex(&std::env::var(KEY_ENV).unwrap())).unwrap();
    let barrier = Barrier::new(Store::open(PathBuf::from(db).as_path()).unwrap());
    barrier.unseal(&root).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0..1_000_000usize {
        if i == ROTATE_AT {
            barrier.rotate().unwrap();
        }
        if i % 10 == 9 {
            // Every tenth entry goes through a transaction together with a marker.
            let value = value_for(i);
            let marker = format!("tx/{i:06}");
            barrier
                .transaction(&[TxOp::Put(&key_for(i), &value), TxOp::Put(&marker, b"1")])
                .unwrap();
        } else {
            barrier.put(&key_for(i), &value_for(i)).unwrap();
        }
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = std::env::temp_dir().join(format!(
        "coffer-durability-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("store.redb");
    let root = RootKey::generate();
    {
        let barrier = Barrier::new(Store::open(&db).unwrap());
        barrier.initialize(&root).unwrap();
    }

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "durability_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &db)
        .env(KEY_ENV, to_hex(root.expose()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut acked: Vec<usize> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.len() < KILL_AFTER {
        assert!(Instant::now() < deadline, "child too slow: {} acks", acked.len());
        let line = lines.next().expect("child exited before the kill").unwrap();
        if let Some(n) = ack(&line) {
            acked.push(n);
        }
    }
    // Child::kill is SIGKILL on Unix: no destructors, no flush, no redb shutdown.
    child.kill().unwrap();
    // Acks already in the pipe were printed after their write returned: they count too.
    for line in lines {
        let line = line.unwrap();
        if let Some(n) = ack(&line) {
            acked.push(n);
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "child should have been killed, got {status:?}");

    let barrier = Barrier::new(Store::open(&db).unwrap());
    barrier.unseal(&root).unwrap();
    assert_eq!(barrier.key_status().unwrap().term, 2, "the rotation was acknowledged");
    for &i in &acked {
        assert_eq!(barrier.get(&key_for(i)).unwrap(), Some(value_for(i)), "acked entry {i}");
        if i % 10 == 9 {
            let marker = barrier.get(&format!("tx/{i:06}")).unwrap();
            assert_eq!(marker.as_deref(), Some(&b"1"[..]), "transaction {i} half applied");
        }
    }
    // Acks are sequential, so this also shows nothing was reordered.
    assert_eq!(acked, (0..acked.len()).collect::<Vec<_>>());
    drop(barrier);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The number in an `ack N` line. libtest prints `test durability_child ... ` without a newline
/// before the test's own output, so the first ack shares its line.
fn ack(line: &str) -> Option<usize> {
    line.rsplit_once("ack ").map(|(_, n)| n.trim().parse().expect("ack number"))
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}
