//! The audit file being tailed.
//!
//! The shipper keeps the file open and reads it by offset (`pread`), so after a rotation
//! (rename, then the server reopens its log on SIGHUP) it can still drain the lines the server
//! wrote to the old file, then move to the new one. Identity (device + inode) tells a rotated-in
//! file from the one being read; a length below the shipped offset tells a truncation.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::checkpoint::FileId;

/// Read size while looking for the end of a line longer than a batch.
const LINE_CHUNK: usize = 64 * 1024;

fn id_of(meta: &std::fs::Metadata) -> FileId {
    FileId { dev: meta.dev(), ino: meta.ino() }
}

/// The identity of whatever file is at `path` now; `None` when there is none.
pub fn id_at(path: &Path) -> std::io::Result<Option<FileId>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(id_of(&m))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A regular file in `dir` with identity `id`: where a rotated audit file went.
pub fn find_by_id(dir: &Path, id: FileId) -> std::io::Result<Option<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() && id_of(&meta) == id {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

/// An open audit file. Cheap to clone (shared handle) so reads can run on the blocking pool.
#[derive(Clone, Debug)]
pub struct Source {
    file: Arc<File>,
    pub id: FileId,
}

impl Source {
    /// Opens `path` for reading; `None` when it does not exist (yet).
    pub fn open(path: &Path) -> std::io::Result<Option<Source>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let id = id_of(&file.metadata()?);
        Ok(Some(Source { file: Arc::new(file), id }))
    }

    /// The file's current length.
    pub fn size(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// The byte at `pos`, `None` past the end.
    pub fn byte_at(&self, pos: u64) -> std::io::Result<Option<u8>> {
        let mut b = [0u8; 1];
        Ok((read_full_at(&self.file, &mut b, pos)? == 1).then_some(b[0]))
    }

    /// Reads `[start, end)` exactly (for re-shipping a pending batch); `None` when the file no
    /// longer holds that range.
    pub fn read_range(&self, start: u64, end: u64) -> std::io::Result<Option<Vec<u8>>> {
        let Ok(n) = usize::try_from(end.saturating_sub(start)) else { return Ok(None) };
        if self.size()? < end {
            return Ok(None);
        }
        let mut buf = vec![0; n];
        match self.file.read_exact_at(&mut buf, start) {
            Ok(()) => Ok(Some(buf)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whole lines from `start`: up to `max` bytes, or — when a single line is longer than
    /// `max` — exactly that line. Empty when no complete line follows `start`.
    pub fn read_lines(&self, start: u64, max: usize) -> std::io::Result<Vec<u8>> {
        let len = self.size()?;
        let avail = usize::try_from(len.saturating_sub(start)).unwrap_or(usize::MAX);
        let mut buf = vec![0; avail.min(max)];
        let n = read_full_at(&self.file, &mut buf, start)?;
        buf.truncate(n);
        let whole = super::batch::whole_lines(&buf).len();
        if whole > 0 {
            buf.truncate(whole);
            return Ok(buf);
        }
        // No newline within `max`: keep reading until the line ends (or the data does).
        let mut pos = start + n as u64;
        let mut chunk = vec![0; LINE_CHUNK];
        loop {
            let got = read_full_at(&self.file, &mut chunk, pos)?;
            if got == 0 {
                return Ok(Vec::new());
            }
            let part = &chunk[..got];
            if let Some(i) = part.iter().position(|&b| b == b'\n') {
                buf.extend_from_slice(&part[..=i]);
                return Ok(buf);
            }
            buf.extend_from_slice(part);
            pos += got as u64;
        }
    }
}

/// Fills as much of `buf` as the file holds from `offset`; returns the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_whole_lines_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.log");
        assert!(Source::open(&p).unwrap().is_none());
        assert_eq!(id_at(&p).unwrap(), None);
        let mut w = std::fs::File::create(&p).unwrap();
        w.write_all(b"aa\nbbbb\ncc").unwrap();
        let s = Source::open(&p).unwrap().unwrap();
        let check = |start: u64, max: usize, expect: &[u8]| {
            assert_eq!(s.read_lines(start, max).unwrap(), expect, "start {start} max {max}");
        };
        check(0, 100, b"aa\nbbbb\n");
        check(0, 5, b"aa\n");
        check(0, 1, b"aa\n"); // a line longer than max is returned whole
        check(3, 2, b"bbbb\n");
        check(8, 100, b""); // "cc" is not a whole line yet
        w.write_all(b"c\n").unwrap();
        check(8, 100, b"ccc\n");
        check(12, 100, b"");
        assert_eq!(s.read_range(3, 8).unwrap().as_deref(), Some(&b"bbbb\n"[..]));
        assert_eq!(s.read_range(3, 80).unwrap(), None);
        assert_eq!(s.size().unwrap(), 12);
        assert_eq!(s.byte_at(2).unwrap(), Some(b'\n'));
        assert_eq!(s.byte_at(12).unwrap(), None);

        // Rotation: the old file keeps its identity under a new name.
        let rotated = dir.path().join("audit.log.1");
        std::fs::rename(&p, &rotated).unwrap();
        std::fs::write(&p, b"new\n").unwrap();
        assert_ne!(id_at(&p).unwrap(), Some(s.id));
        assert_eq!(find_by_id(dir.path(), s.id).unwrap(), Some(rotated));
        assert_eq!(
            s.read_lines(0, 3).unwrap(),
            b"aa\n",
            "the open handle still reads the old file"
        );
        let gone = FileId { dev: s.id.dev, ino: u64::MAX };
        assert_eq!(find_by_id(dir.path(), gone).unwrap(), None);
    }
}
