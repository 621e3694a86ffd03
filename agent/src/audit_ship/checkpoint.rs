//! The shipper's durable progress: which file it is reading, how far it has shipped, and the
//! batch it is uploading right now.
//!
//! The pending batch is recorded *before* its upload and cleared (with the offset advanced)
//! only *after* S3 acknowledged it. A crash in between therefore restarts with the exact same
//! byte range and object key, so the re-upload overwrites the object instead of writing a
//! second one with an overlapping range: no duplicates, and nothing skipped.
//!
//! Every write is atomic and durable: a temporary sibling is written and fsync'd, renamed over
//! the checkpoint, and the directory is fsync'd so the rename itself survives a power loss.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A file's identity: renaming keeps it, a rotated-in replacement has a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// A batch being uploaded: bytes `[Checkpoint::offset, end)` of the file, to `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub end: u64,
    pub key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The file `offset` refers to; `None` before the audit file first existed.
    pub file: Option<FileId>,
    /// Bytes of `file` already shipped; always at a line boundary.
    pub offset: u64,
    /// Bytes shipped from earlier files (before rotations or truncations): the position of
    /// `file`'s first byte in the node's audit stream. Object keys use stream positions, so
    /// a new file never reuses the key of an older object.
    pub base: u64,
    pub pending: Option<Pending>,
    /// Unix time of the newest line shipped so far (reported in heartbeats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_through: Option<i64>,
}

impl Checkpoint {
    /// The stream position of `file`'s byte `offset`.
    pub fn position(&self, offset: u64) -> u64 {
        self.base.saturating_add(offset)
    }

    /// The stored checkpoint; `Ok(None)` when there is none yet. An unreadable checkpoint is
    /// an error for the caller to decide on.
    pub fn load(path: &Path) -> std::io::Result<Option<Checkpoint>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Replaces the stored checkpoint atomically and durably.
    pub fn store(&self, path: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ckpt.json");
        assert_eq!(Checkpoint::load(&p).unwrap(), None);
        let mut c = Checkpoint {
            file: Some(FileId { dev: 1, ino: 2 }),
            offset: 10,
            base: 5,
            pending: Some(Pending { end: 20, key: "k".into() }),
            shipped_through: None,
        };
        c.store(&p).unwrap();
        assert_eq!(Checkpoint::load(&p).unwrap().as_ref(), Some(&c));
        c.pending = None;
        c.offset = 20;
        c.shipped_through = Some(1_700_000_000);
        c.store(&p).unwrap();
        assert_eq!(Checkpoint::load(&p).unwrap(), Some(c.clone()));
        assert_eq!(c.position(c.offset), 25);
        assert!(!p.with_extension("tmp").exists());
        std::fs::write(&p, b"{not json").unwrap();
        assert_eq!(Checkpoint::load(&p).unwrap_err().kind(), std::io::ErrorKind::InvalidData);
    }
}
