use std::sync::Arc;

use super::*;
use crate::{error::SnapshotError, store::Area, test_util::TempDir};

/// An initialized, unsealed in-memory barrier and its root key.
pub(super) fn unsealed() -> (Barrier, RootKey) {
    let barrier = Barrier::new(Store::open_in_memory().unwrap());
    let root = RootKey::generate();
    barrier.initialize(&root).unwrap();
    barrier.unseal(&root).unwrap();
    (barrier, root)
}

fn raw(b: &Barrier, path: &str) -> Vec<u8> {
    b.store().get(Area::Sealed, path).unwrap().unwrap()
}

#[test]
fn barrier_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Barrier>();
}

#[test]
fn round_trips() {
    let (b, _) = unsealed();
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let cases: &[(&str, &[u8])] = &[
        ("a", b"value"),
        ("empty", b""),
        ("nested/deep/path/key", b"\x00\x01\x02\xff"),
        ("unicode/ключ/🔑", "ünïcödé".as_bytes()),
        ("big", &big),
        ("sys/token/id/h0123", b"{\"policies\":[\"default\"]}"),
    ];
    for (path, value) in cases {
        b.put(path, value).unwrap();
    }
    for (path, value) in cases {
        assert_eq!(b.get(path).unwrap().as_deref(), Some(*value), "{path}");
        let stored = raw(&b, path);
        assert_eq!(stored.len(), value.len() + 1 + 4 + 12 + 16, "{path}: layout size");
        if value.len() >= 4 {
            assert!(!stored.windows(value.len()).any(|w| w == *value), "{path}: plaintext on disk");
        }
    }
    assert_eq!(b.get("missing").unwrap(), None);
    b.put("a", b"overwritten").unwrap();
    assert_eq!(b.get("a").unwrap().as_deref(), Some(&b"overwritten"[..]));
    b.delete("a").unwrap();
    assert_eq!(b.get("a").unwrap(), None);
    b.delete("a").unwrap();
}

#[test]
fn empty_path_is_rejected() {
    let (b, _) = unsealed();
    assert!(matches!(b.put("", b"x"), Err(BarrierError::InvalidPath(_))));
    assert!(matches!(b.get(""), Err(BarrierError::InvalidPath(_))));
    assert!(matches!(b.delete(""), Err(BarrierError::InvalidPath(_))));
    assert!(matches!(b.put_plain("", b"x"), Err(BarrierError::InvalidPath(_))));
}

#[test]
fn ciphertext_is_bound_to_its_path() {
    let (b, _) = unsealed();
    b.put("secret/a", b"alpha").unwrap();
    let blob = raw(&b, "secret/a");
    b.store().put(Area::Sealed, "secret/b", &blob).unwrap();
    let err = b.get("secret/b").unwrap_err();
    assert!(matches!(&err, BarrierError::Corrupt { path } if path == "secret/b"), "{err:?}");
    assert_eq!(b.get("secret/a").unwrap().as_deref(), Some(&b"alpha"[..]));
}

#[test]
fn tampering_is_detected() {
    let (b, _) = unsealed();
    b.put("k", b"some secret value").unwrap();
    let good = raw(&b, "k");
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x80;
        b.store().put(Area::Sealed, "k", &bad).unwrap();
        let err = b.get("k").unwrap_err();
        if (1..5).contains(&i) {
            // A flipped term label names a key this keyring does not have.
            assert!(matches!(err, BarrierError::UnknownTerm { .. }), "byte {i}: {err:?}");
        } else {
            assert!(matches!(err, BarrierError::Corrupt { .. }), "byte {i}: {err:?}");
        }
    }
    for len in [0, 1, 5, 17, 32, good.len() - 1] {
        b.store().put(Area::Sealed, "k", &good[..len]).unwrap();
        assert!(matches!(b.get("k"), Err(BarrierError::Corrupt { .. })), "truncated to {len}");
    }
    let mut longer = good.clone();
    longer.push(0);
    b.store().put(Area::Sealed, "k", &longer).unwrap();
    assert!(matches!(b.get("k"), Err(BarrierError::Corrupt { .. })), "extended");
}

#[test]
fn lifecycle_errors() {
    let b = Barrier::new(Store::open_in_memory().unwrap());
    let root = RootKey::generate();
    assert!(!b.is_initialized().unwrap());
    assert!(b.is_sealed());
    assert!(matches!(b.unseal(&root), Err(BarrierError::NotInitialized)));
    b.initialize(&root).unwrap();
    assert!(b.is_initialized().unwrap());
    assert!(b.is_sealed(), "initialize must not unseal");
    assert!(matches!(b.initialize(&root), Err(BarrierError::AlreadyInitialized)));
    assert!(matches!(b.initialize(&RootKey::generate()), Err(BarrierError::AlreadyInitialized)));
    let wrong = RootKey::generate();
    assert!(matches!(b.unseal(&wrong), Err(BarrierError::InvalidKey)));
    assert!(b.is_sealed());
    b.unseal(&root).unwrap();
    assert!(!b.is_sealed());
    // Re-unsealing with a wrong key fails and does not replace the loaded keyring.
    assert!(matches!(b.unseal(&wrong), Err(BarrierError::InvalidKey)));
    assert!(!b.is_sealed());
    b.seal();
    assert!(b.is_sealed());
}

#[test]
fn sealed_barrier_refuses_encrypted_operations() {
    let (b, _) = unsealed();
    b.put("x", b"1").unwrap();
    b.seal();
    let sealed = |r: Result<(), BarrierError>, what: &str| {
        assert!(matches!(r, Err(BarrierError::Sealed)), "{what}: {r:?}");
    };
    sealed(b.get("x").map(drop), "get");
    sealed(b.put("x", b"2"), "put");
    sealed(b.delete("x"), "delete");
    sealed(b.list("").map(drop), "list");
    sealed(b.delete_prefix(""), "delete_prefix");
    sealed(b.transaction(&[TxOp::Put("y", b"1")]), "transaction");
    sealed(b.rotate().map(drop), "rotate");
    sealed(b.key_status().map(drop), "key_status");
    // The plain area is usable before unseal: that is its purpose.
    b.put_plain("core/seal-config", b"{}").unwrap();
    assert_eq!(b.get_plain("core/seal-config").unwrap().as_deref(), Some(&b"{}"[..]));
    assert_eq!(b.list_plain("core/").unwrap(), ["seal-config"]);
    b.delete_plain("core/seal-config").unwrap();
    assert_eq!(b.get_plain("core/seal-config").unwrap(), None);
}

#[test]
fn plain_and_encrypted_areas_are_separate() {
    let (b, _) = unsealed();
    b.put("same", b"encrypted").unwrap();
    b.put_plain("same", b"plain").unwrap();
    assert_eq!(b.get("same").unwrap().as_deref(), Some(&b"encrypted"[..]));
    assert_eq!(b.get_plain("same").unwrap().as_deref(), Some(&b"plain"[..]));
    b.delete_prefix("").unwrap();
    assert_eq!(b.get_plain("same").unwrap().as_deref(), Some(&b"plain"[..]));
    // The keyring is in neither listing and survives a full delete_prefix.
    assert!(b.list("").unwrap().is_empty());
    assert_eq!(b.list_plain("").unwrap(), ["same"]);
    b.put("after", b"ok").unwrap();
    assert_eq!(b.get("after").unwrap().as_deref(), Some(&b"ok"[..]));
}

#[test]
fn rotate_keeps_old_entries_and_uses_new_term() {
    let (b, root) = unsealed();
    let first = b.key_status().unwrap();
    assert_eq!(first.term, 1);
    b.put("old", b"written under term 1").unwrap();
    assert_eq!(b.key_status().unwrap().encryptions, 1);
    let second = b.rotate().unwrap();
    assert_eq!(second.term, 2);
    assert_eq!(second.encryptions, 0, "a new term starts uncounted");
    assert!(second.install_time >= first.install_time);
    assert_eq!(b.key_status().unwrap(), second);
    b.put("new", b"written under term 2").unwrap();
    b.transaction(&[TxOp::Put("tx1", b"1"), TxOp::Delete("x"), TxOp::Put("tx2", b"2")]).unwrap();
    assert_eq!(b.key_status().unwrap().encryptions, 3, "one per put, deletes are free");
    assert_eq!(crate::entry::term_of(&raw(&b, "old")), Some(1));
    assert_eq!(crate::entry::term_of(&raw(&b, "new")), Some(2));
    for _ in 0..3 {
        b.rotate().unwrap();
    }
    assert_eq!(b.key_status().unwrap().term, 5);
    // The rotated keyring was persisted: a fresh unseal sees every term.
    b.seal();
    b.unseal(&root).unwrap();
    assert_eq!(b.key_status().unwrap().term, 5);
    assert_eq!(b.get("old").unwrap().as_deref(), Some(&b"written under term 1"[..]));
    assert_eq!(b.get("new").unwrap().as_deref(), Some(&b"written under term 2"[..]));
    b.put("newest", b"x").unwrap();
    assert_eq!(crate::entry::term_of(&raw(&b, "newest")), Some(5));
}

#[test]
fn transaction_is_ordered_and_atomic() {
    let (b, _) = unsealed();
    b.put("gone", b"x").unwrap();
    b.put("kept", b"x").unwrap();
    b.transaction(&[
        TxOp::Put("a", b"1"),
        TxOp::Delete("gone"),
        TxOp::Put("a", b"2"),
        TxOp::Put("b/c", b"3"),
        TxOp::Delete("never-existed"),
    ])
    .unwrap();
    assert_eq!(b.get("a").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(b.get("b/c").unwrap().as_deref(), Some(&b"3"[..]));
    assert_eq!(b.get("gone").unwrap(), None);
    // One invalid op: nothing at all is applied.
    let err = b.transaction(&[TxOp::Put("z", b"1"), TxOp::Delete("kept"), TxOp::Put("", b"x")]);
    assert!(matches!(err, Err(BarrierError::InvalidPath(_))));
    assert_eq!(b.get("z").unwrap(), None);
    assert_eq!(b.get("kept").unwrap().as_deref(), Some(&b"x"[..]));
    b.transaction(&[]).unwrap();
}

#[test]
fn list_through_barrier() {
    let (b, _) = unsealed();
    for k in ["a", "b/c", "b/d/e"] {
        b.put(k, b"v").unwrap();
    }
    assert_eq!(b.list("").unwrap(), ["a", "b/"]);
    assert_eq!(b.list("b/").unwrap(), ["c", "d/"]);
    b.delete_prefix("b/").unwrap();
    assert_eq!(b.list("").unwrap(), ["a"]);
}

/// A barrier with encrypted, plain and rotated content, plus its root key.
fn populated() -> (Barrier, RootKey) {
    let (b, root) = unsealed();
    b.put("logical/kv/one", b"1").unwrap();
    b.rotate().unwrap();
    b.put("logical/kv/two", b"2").unwrap();
    b.put("sys/policy/p", b"path \"*\" {}").unwrap();
    b.put_plain("core/seal-config", b"{\"type\":\"shamir\"}").unwrap();
    (b, root)
}

fn snapshot_bytes(b: &Barrier) -> Vec<u8> {
    let mut out = Vec::new();
    b.snapshot(&mut out).unwrap();
    out
}

#[test]
fn snapshot_restore_round_trip_replaces_everything() {
    let (src, root) = populated();
    let snap = snapshot_bytes(&src);

    let (dst, other_root) = unsealed();
    dst.put("only-in-destination", b"x").unwrap();
    dst.put_plain("plain-only-in-destination", b"x").unwrap();
    dst.restore(&mut snap.as_slice()).unwrap();
    assert!(dst.is_sealed(), "restore seals");
    assert!(matches!(dst.unseal(&other_root), Err(BarrierError::InvalidKey)));
    dst.unseal(&root).unwrap();
    assert_eq!(dst.key_status().unwrap().term, 2);
    assert_eq!(dst.get("logical/kv/one").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(dst.get("logical/kv/two").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(dst.get("only-in-destination").unwrap(), None);
    assert_eq!(dst.get_plain("plain-only-in-destination").unwrap(), None);
    assert_eq!(
        dst.get_plain("core/seal-config").unwrap().as_deref(),
        Some(&b"{\"type\":\"shamir\"}"[..])
    );
    assert_eq!(dst.list("").unwrap(), ["logical/", "sys/"]);
    // Snapshotting the restored store gives the same bytes: nothing lost or reordered.
    assert_eq!(snapshot_bytes(&dst), snap);
}

#[test]
fn corrupted_snapshots_are_rejected_and_leave_store_untouched() {
    let (src, _) = populated();
    let snap = snapshot_bytes(&src);
    let (dst, dst_root) = unsealed();
    dst.put("precious", b"keep me").unwrap();

    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..snap.len() {
        let mut bad = snap.clone();
        bad[i] ^= 0x01;
        cases.push((format!("flip byte {i}"), bad));
    }
    for len in 0..snap.len() {
        cases.push((format!("truncate to {len}"), snap[..len].to_vec()));
    }
    let mut trailing = snap.clone();
    trailing.push(0);
    cases.push(("trailing byte".into(), trailing));

    for (name, bad) in &cases {
        assert!(dst.restore(&mut bad.as_slice()).is_err(), "{name} accepted");
    }
    // Specific classifications for a few cases.
    let restore = |bytes: &[u8]| dst.restore(&mut &bytes[..]).unwrap_err();
    assert!(matches!(restore(b"NOTASNAPxxxx"), BarrierError::Snapshot(SnapshotError::BadMagic)));
    let mut v2 = snap.clone();
    v2[11] = 2;
    assert!(matches!(restore(&v2), BarrierError::Snapshot(SnapshotError::UnsupportedVersion(2))));
    assert!(matches!(
        restore(&snap[..snap.len() - 1]),
        BarrierError::Snapshot(SnapshotError::Truncated)
    ));
    let mut bad_sum = snap.clone();
    let last = bad_sum.len() - 1;
    bad_sum[last] ^= 1;
    assert!(matches!(restore(&bad_sum), BarrierError::Snapshot(SnapshotError::ChecksumMismatch)));

    assert!(!dst.is_sealed(), "a rejected restore keeps the barrier unsealed");
    dst.seal();
    dst.unseal(&dst_root).unwrap();
    assert_eq!(dst.get("precious").unwrap().as_deref(), Some(&b"keep me"[..]));
    assert_eq!(dst.list("").unwrap(), ["precious"]);
}

#[test]
fn file_store_persists_across_reopen() {
    let dir = TempDir::new();
    let path = dir.path().join("coffer.redb");
    let root = RootKey::generate();
    {
        let b = Barrier::new(Store::open(&path).unwrap());
        b.initialize(&root).unwrap();
        b.unseal(&root).unwrap();
        b.put("k", b"v").unwrap();
        b.rotate().unwrap();
        b.put_plain("p", b"plain").unwrap();
    }
    let b = Barrier::new(Store::open(&path).unwrap());
    assert!(b.is_initialized().unwrap());
    assert!(b.is_sealed());
    assert_eq!(b.get_plain("p").unwrap().as_deref(), Some(&b"plain"[..]));
    b.unseal(&root).unwrap();
    assert_eq!(b.key_status().unwrap().term, 2);
    assert_eq!(b.get("k").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn concurrent_reads_writes_and_rotation() {
    let (b, _) = unsealed();
    let b = Arc::new(b);
    std::thread::scope(|s| {
        for t in 0..4 {
            let b = Arc::clone(&b);
            s.spawn(move || {
                for i in 0..50 {
                    let path = format!("t{t}/k{i}");
                    let value = format!("{t}:{i}");
                    b.put(&path, value.as_bytes()).unwrap();
                    assert_eq!(b.get(&path).unwrap().as_deref(), Some(value.as_bytes()));
                }
            });
        }
        let b = Arc::clone(&b);
        s.spawn(move || {
            for _ in 0..10 {
                b.rotate().unwrap();
            }
        });
    });
    assert_eq!(b.key_status().unwrap().term, 11);
    for t in 0..4 {
        assert_eq!(b.list(&format!("t{t}/")).unwrap().len(), 50);
        for i in 0..50 {
            let got = b.get(&format!("t{t}/k{i}")).unwrap();
            assert_eq!(got.as_deref(), Some(format!("{t}:{i}").as_bytes()));
        }
    }
}

#[test]
fn debug_output_reveals_no_keys() {
    let (b, root) = unsealed();
    let shown = format!("{b:?} {root:?}");
    assert_eq!(shown, "Barrier { sealed: false, .. } RootKey(<redacted>)");
}

#[test]
fn snapshot_of_many_entries_round_trips_through_a_file() {
    let (src, root) = unsealed();
    let values: Vec<(String, Vec<u8>)> = (0..1000usize)
        .map(|i| (format!("m{}/k{i}", i % 7), vec![(i % 251) as u8; (i * 37) % 2000]))
        .collect();
    let ops: Vec<TxOp<'_>> = values.iter().map(|(k, v)| TxOp::Put(k, v)).collect();
    src.transaction(&ops).unwrap();

    let dir = TempDir::new();
    let file = dir.path().join("snap");
    src.snapshot(&mut std::fs::File::create(&file).unwrap()).unwrap();
    let dst = Barrier::new(Store::open(&dir.path().join("restored.redb")).unwrap());
    dst.restore(&mut std::fs::File::open(&file).unwrap()).unwrap();
    dst.unseal(&root).unwrap();
    for (k, v) in &values {
        assert_eq!(dst.get(k).unwrap().as_deref(), Some(v.as_slice()), "{k}");
    }
    assert_eq!(dst.list("").unwrap().len(), 7);
}
