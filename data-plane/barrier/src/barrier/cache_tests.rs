//! The read cache seen through the barrier: every write path invalidates, and sealing or
//! restoring leaves no plaintext behind.

use super::tests::unsealed;
use super::*;

fn read(b: &Barrier, path: &str) -> Option<Vec<u8>> {
    b.get(path).unwrap()
}

#[test]
fn every_write_path_invalidates_a_cached_read() {
    let (b, _) = unsealed();
    b.put("k/a", b"1").unwrap();
    b.put("k/b", b"1").unwrap();
    b.put("other", b"1").unwrap();
    for p in ["k/a", "k/b", "other"] {
        assert_eq!(read(&b, p).as_deref(), Some(&b"1"[..]), "{p}");
    }
    assert_eq!(b.cache.len(), 3, "reads are cached");

    b.put("k/a", b"2").unwrap();
    assert_eq!(read(&b, "k/a").as_deref(), Some(&b"2"[..]));
    b.delete("k/a").unwrap();
    assert_eq!(read(&b, "k/a"), None);
    b.transaction(&[TxOp::Put("k/a", b"3"), TxOp::Delete("k/b")]).unwrap();
    assert_eq!(read(&b, "k/a").as_deref(), Some(&b"3"[..]));
    assert_eq!(read(&b, "k/b"), None);
    b.delete_prefix("k/").unwrap();
    assert_eq!(read(&b, "k/a"), None);
    assert_eq!(read(&b, "other").as_deref(), Some(&b"1"[..]));
}

#[test]
fn seal_drops_cached_plaintext_and_refuses_reads() {
    let (b, root) = unsealed();
    b.put("k", b"secret").unwrap();
    assert!(read(&b, "k").is_some());
    b.seal();
    assert_eq!(b.cache.len(), 0);
    assert!(matches!(b.get("k"), Err(BarrierError::Sealed)));
    b.unseal(&root).unwrap();
    assert_eq!(read(&b, "k").as_deref(), Some(&b"secret"[..]));
}

#[test]
fn restore_replaces_cached_values() {
    let (src, src_root) = unsealed();
    src.put("k", b"from snapshot").unwrap();
    let mut snap = Vec::new();
    src.snapshot(&mut snap).unwrap();

    let (dst, _) = unsealed();
    dst.put("k", b"before restore").unwrap();
    assert!(read(&dst, "k").is_some());
    dst.restore(&mut snap.as_slice()).unwrap();
    assert_eq!(dst.cache.len(), 0);
    dst.unseal(&src_root).unwrap();
    assert_eq!(read(&dst, "k").as_deref(), Some(&b"from snapshot"[..]));
}

#[test]
fn rotation_keeps_cached_reads_correct() {
    let (b, _) = unsealed();
    b.put("k", b"1").unwrap();
    assert!(read(&b, "k").is_some());
    b.rotate().unwrap();
    assert_eq!(read(&b, "k").as_deref(), Some(&b"1"[..]));
    b.put("k", b"2").unwrap();
    assert_eq!(read(&b, "k").as_deref(), Some(&b"2"[..]));
}
