//! Snapshot stream format and the code that writes and restores it.
//!
//! ```text
//! magic "COFFSNAP" | format u32 BE
//! record*: area u8 (1 sealed, 2 plain, 3 meta) | key_len u32 BE | key | value_len u32 BE | value
//! end:     0u8
//! trailer: SHA-256 of every byte before it
//! ```
//!
//! Entries are copied raw: sealed entries stay encrypted and the keyring stays sealed under the
//! root key, so a snapshot is exactly as sensitive as the store file. The writer reads from one
//! redb read transaction, so the snapshot is a consistent point in time even while writes
//! continue. Restore streams records into one write transaction and commits only after the
//! checksum matches, so a corrupt or truncated snapshot leaves the store untouched.

use std::io::{BufReader, BufWriter, Read, Write};

use redb::ReadableTable;
use sha2::{Digest, Sha256};

use crate::{
    error::{BarrierError, SnapshotError, StorageError},
    store::{Area, Store},
};

const MAGIC: &[u8; 8] = b"COFFSNAP";
const FORMAT: u32 = 1;
const END: u8 = 0;
/// Bounds that reject garbage lengths early; far above anything the server writes.
const MAX_KEY_LEN: u32 = 1 << 20;
const MAX_VALUE_LEN: u32 = 1 << 30;

fn area_code(area: Area) -> u8 {
    match area {
        Area::Sealed => 1,
        Area::Plain => 2,
        Area::Meta => 3,
    }
}

/// Index into [`Area::ALL`] of the area a record code names.
fn area_index(code: u8) -> Option<usize> {
    Area::ALL.iter().position(|a| area_code(*a) == code)
}

fn bounded_len(len: usize, max: u32, what: &'static str) -> Result<u32, SnapshotError> {
    u32::try_from(len).ok().filter(|l| *l <= max).ok_or(SnapshotError::Malformed(what))
}

/// A writer that hashes everything passing through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.inner.write_all(bytes)
    }
}

pub(crate) fn write(store: &Store, out: &mut dyn Write) -> Result<(), BarrierError> {
    let io = |e: std::io::Error| BarrierError::Snapshot(SnapshotError::Io(e));
    let txn = store.db().begin_read().map_err(StorageError::from)?;
    let mut w = HashingWriter { inner: BufWriter::new(out), hasher: Sha256::new() };
    w.put(MAGIC).map_err(io)?;
    w.put(&FORMAT.to_be_bytes()).map_err(io)?;
    for area in Area::ALL {
        let table = txn.open_table(area.table()).map_err(StorageError::from)?;
        for item in table.iter().map_err(StorageError::from)? {
            let (key, value) = item.map_err(StorageError::from)?;
            let (key, value) = (key.value().as_bytes(), value.value());
            // The writer enforces the reader's limits: a snapshot that was written can be restored.
            let key_len = bounded_len(key.len(), MAX_KEY_LEN, "key too long")?;
            let value_len = bounded_len(value.len(), MAX_VALUE_LEN, "value too long")?;
            w.put(&[area_code(area)]).map_err(io)?;
            w.put(&key_len.to_be_bytes()).map_err(io)?;
            w.put(key).map_err(io)?;
            w.put(&value_len.to_be_bytes()).map_err(io)?;
            w.put(value).map_err(io)?;
        }
    }
    w.put(&[END]).map_err(io)?;
    let digest = w.hasher.finalize();
    w.inner.write_all(&digest).map_err(io)?;
    w.inner.flush().map_err(io)?;
    Ok(())
}

/// A reader that hashes everything it hands out and maps EOF to `Truncated`.
struct HashingReader<R: Read> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    fn exact<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let mut buf = [0u8; N];
        read_exact(&mut self.inner, &mut buf)?;
        self.hasher.update(buf);
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_be_bytes(self.exact::<4>()?))
    }

    /// Reads `len` bytes; the buffer grows with the data actually present, so a forged length
    /// cannot make us allocate a gigabyte up front.
    fn bytes(&mut self, len: u32) -> Result<Vec<u8>, SnapshotError> {
        let mut buf = Vec::new();
        let got = (&mut self.inner).take(u64::from(len)).read_to_end(&mut buf)?;
        if got != len as usize {
            return Err(SnapshotError::Truncated);
        }
        self.hasher.update(&buf);
        Ok(buf)
    }
}

fn read_exact(r: &mut impl Read, buf: &mut [u8]) -> Result<(), SnapshotError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => SnapshotError::Truncated,
        _ => SnapshotError::Io(e),
    })
}

pub(crate) fn restore(store: &Store, input: &mut dyn Read) -> Result<(), BarrierError> {
    let mut r = HashingReader { inner: BufReader::new(input), hasher: Sha256::new() };
    if &r.exact::<8>()? != MAGIC {
        return Err(SnapshotError::BadMagic.into());
    }
    let format = r.u32()?;
    if format != FORMAT {
        return Err(SnapshotError::UnsupportedVersion(format).into());
    }
    let txn = store.db().begin_write().map_err(StorageError::from)?;
    match fill(&txn, &mut r) {
        Ok(()) => {
            txn.commit().map_err(StorageError::from)?;
            Ok(())
        }
        Err(e) => {
            // Nothing was committed; dropping the changes leaves the store as it was.
            txn.abort().map_err(StorageError::from)?;
            Err(e)
        }
    }
}

/// Clears every area and loads the records into `txn`; succeeds only if the trailer matches.
fn fill<R: Read>(
    txn: &redb::WriteTransaction,
    r: &mut HashingReader<R>,
) -> Result<(), BarrierError> {
    let mut tables = Vec::with_capacity(Area::ALL.len());
    for area in Area::ALL {
        let mut table = txn.open_table(area.table()).map_err(StorageError::from)?;
        table.retain(|_, _| false).map_err(StorageError::from)?;
        tables.push(table);
    }
    loop {
        let [code] = r.exact::<1>()?;
        if code == END {
            break;
        }
        let index = area_index(code).ok_or(SnapshotError::Malformed("unknown record type"))?;
        let key_len = r.u32()?;
        if key_len > MAX_KEY_LEN {
            return Err(SnapshotError::Malformed("key too long").into());
        }
        let key = String::from_utf8(r.bytes(key_len)?)
            .map_err(|_| SnapshotError::Malformed("key is not UTF-8"))?;
        let value_len = r.u32()?;
        if value_len > MAX_VALUE_LEN {
            return Err(SnapshotError::Malformed("value too long").into());
        }
        let value = r.bytes(value_len)?;
        tables[index].insert(key.as_str(), value.as_slice()).map_err(StorageError::from)?;
    }
    let expected: [u8; 32] = r.hasher.clone().finalize().into();
    let mut trailer = [0u8; 32];
    read_exact(&mut r.inner, &mut trailer)?;
    if trailer != expected {
        return Err(SnapshotError::ChecksumMismatch.into());
    }
    let mut extra = [0u8; 1];
    if r.inner.read(&mut extra).map_err(SnapshotError::Io)? != 0 {
        return Err(SnapshotError::Malformed("trailing data after checksum").into());
    }
    Ok(())
}
