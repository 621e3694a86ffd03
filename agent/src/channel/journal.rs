//! The journal of started commands: what makes applying a command at-most-once on this node.
//!
//! The control plane already never re-delivers a command, but a command is only safe to apply
//! once if the node itself remembers what it started across crashes and restarts: a second
//! delivery (a control-plane bug, a replayed response) must be answered `Failed`, not applied.
//! So a command id is appended and fsynced here *before* its handler runs; a crash after the
//! append loses at most that one command's result (the control plane then sees it expire),
//! never applies it twice.
//!
//! Format: one `"{id} {expires_at}\n"` line per command. A torn last line (a crash mid-append,
//! before the fsync returned) is ignored: that command was never started. On open, entries
//! that expired more than [`RETAIN_AFTER_EXPIRY_SECS`] ago are dropped (the file is rewritten
//! atomically): an expired command is refused before the journal is consulted, so forgetting
//! it cannot lead to a second application.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::files::{self, FileError};

/// How long after its expiry a command id is still remembered (generous slack for clock skew).
pub const RETAIN_AFTER_EXPIRY_SECS: i64 = 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("command journal {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    File(#[from] FileError),
}

/// Whether a command may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// First time seen; now journaled.
    Start,
    /// Already started once; must not be applied again.
    Duplicate,
}

pub struct Journal {
    path: PathBuf,
    file: File,
    /// id -> expires_at.
    started: HashMap<Uuid, i64>,
}

impl Journal {
    /// Opens (creating, 0600) the journal at `path`, loading and compacting it; `now` is unix
    /// seconds.
    pub fn open(path: &Path, now: i64) -> Result<Journal, JournalError> {
        let text = files::read_optional(path)?.unwrap_or_default();
        let mut started = HashMap::new();
        let mut dropped = false;
        for line in text.split(|b| *b == b'\n') {
            match parse_line(line) {
                Some((id, exp)) if exp + RETAIN_AFTER_EXPIRY_SECS >= now => {
                    started.insert(id, exp);
                }
                Some(_) => dropped = true,
                None => dropped |= !line.is_empty(),
            }
        }
        if dropped {
            let mut kept = String::with_capacity(started.len() * 48);
            for (id, exp) in &started {
                kept.push_str(&format!("{id} {exp}\n"));
            }
            files::write_private(path, kept.as_bytes())?;
        }
        let file = open_append(path)?;
        Ok(Journal { path: path.to_owned(), file, started })
    }

    /// Journals `id` (durably) unless it was started before.
    pub fn admit(&mut self, id: Uuid, expires_at: i64) -> Result<Admission, JournalError> {
        if self.started.contains_key(&id) {
            return Ok(Admission::Duplicate);
        }
        let io = |source| JournalError::Io { path: self.path.clone(), source };
        self.file.write_all(format!("{id} {expires_at}\n").as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.started.insert(id, expires_at);
        Ok(Admission::Start)
    }

    pub fn len(&self) -> usize {
        self.started.len()
    }

    pub fn is_empty(&self) -> bool {
        self.started.is_empty()
    }
}

fn parse_line(line: &[u8]) -> Option<(Uuid, i64)> {
    let line = std::str::from_utf8(line).ok()?;
    let (id, exp) = line.split_once(' ')?;
    Some((id.parse().ok()?, exp.parse().ok()?))
}

fn open_append(path: &Path) -> Result<File, JournalError> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| JournalError::Io { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn admits_once_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut j = Journal::open(&path, NOW).unwrap();
        assert_eq!(j.admit(a, NOW + 60).unwrap(), Admission::Start);
        assert_eq!(j.admit(a, NOW + 60).unwrap(), Admission::Duplicate);
        assert_eq!(j.admit(b, NOW + 60).unwrap(), Admission::Start);
        drop(j);
        let mut j = Journal::open(&path, NOW).unwrap();
        assert_eq!(j.len(), 2);
        assert_eq!(j.admit(a, NOW + 60).unwrap(), Admission::Duplicate);
        assert_eq!(j.admit(b, NOW + 60).unwrap(), Admission::Duplicate);
    }

    #[test]
    fn torn_lines_and_old_entries_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let keep = Uuid::from_u128(7);
        let old = Uuid::from_u128(8);
        let text = format!(
            "{keep} {}\n{old} {}\n00000000-0000-0000-0000-00000000",
            NOW - 10,
            NOW - RETAIN_AFTER_EXPIRY_SECS - 1
        );
        std::fs::write(&path, text).unwrap();
        let mut j = Journal::open(&path, NOW).unwrap();
        assert_eq!(j.len(), 1);
        assert_eq!(j.admit(keep, NOW - 10).unwrap(), Admission::Duplicate);
        assert_eq!(j.admit(old, NOW + 10).unwrap(), Admission::Start);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.lines().all(|l| parse_line(l.as_bytes()).is_some()), "{text}");
    }
}
