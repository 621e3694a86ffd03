//! Audit shipping: the node's audit log, tailed and uploaded to the cluster's audit bucket.
//!
//! The audit file is the customer's compliance record and lives on one disk; shipping it to S3
//! (SSE-KMS under the cluster key) is what makes it survive the node. Lines are batched by time
//! (`flush_interval`, 60 s by default) and size (`max_batch_bytes`), gzip'd, and written under
//! the contract's deterministic key (`batch::object_key`: stream offsets + the first line's hour)
//! with `first-time` / `last-time` / `lines` metadata.
//!
//! Exactly-once in effect: the batch's range and key are checkpointed before the upload and the
//! offset after it (see `checkpoint`), so a crash anywhere re-uploads the same range to the same
//! key. Only whole lines are shipped; a line the server is still writing waits for the next
//! round. Rotation (the file at the path gets a new identity) drains the old file through the
//! still-open handle before moving on; truncation (the file shrinks below the offset) starts
//! over at its beginning. Entries are already HMAC'd by the server's audit device, so the
//! shipper never handles a secret in the clear.

pub mod batch;
pub mod checkpoint;
pub mod settings;
pub mod source;
pub mod upload;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coffer_node_api::BootstrapDocument;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::server::ServerLayout;
use checkpoint::{Checkpoint, Pending};
pub use settings::{ShipSettings, INTERVAL_ENV};
use source::Source;
use upload::Target;

#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error("audit file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("checkpoint {path}: {source}")]
    Checkpoint { path: PathBuf, source: std::io::Error },
    #[error("blocking task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// Stopped by cancellation while work was outstanding (the checkpoint covers it).
    #[error("cancelled")]
    Cancelled,
    /// The test fault point fired (see [`AuditShipper::crash_after_uploads`]).
    #[error("injected crash between upload and checkpoint")]
    InjectedCrash,
}

/// Everything the shipper needs; built once after provisioning.
#[derive(Debug, Clone)]
pub struct AuditShipper {
    s3: aws_sdk_s3::Client,
    target: Target,
    cluster_id: Uuid,
    node_index: u32,
    audit_file: PathBuf,
    checkpoint_file: PathBuf,
    settings: ShipSettings,
    crash_after_uploads: Option<u32>,
    /// Unix time of the newest shipped line; 0 until one is known. Shared by clones.
    shipped_through: Arc<AtomicI64>,
}

impl AuditShipper {
    /// The node's shipper: the layout's audit file to the document's audit bucket.
    pub fn new(s3: aws_sdk_s3::Client, doc: &BootstrapDocument, layout: &ServerLayout) -> Self {
        AuditShipper {
            s3,
            target: Target {
                bucket: doc.audit_bucket.clone(),
                kms_key_arn: doc.kms_key_arn.clone(),
            },
            cluster_id: doc.cluster_id,
            node_index: doc.node_index,
            audit_file: layout.audit_file(),
            checkpoint_file: AuditShipper::checkpoint_path(layout),
            settings: ShipSettings::default(),
            crash_after_uploads: None,
            shipped_through: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Unix time (seconds) of the newest audit line known to be in S3, 0 while none is: a
    /// cheap handle for the heartbeat's `audit_shipped_through`. Survives restarts (it is
    /// kept in the checkpoint).
    pub fn progress(&self) -> Arc<AtomicI64> {
        Arc::clone(&self.shipped_through)
    }

    /// Where the shipper keeps its checkpoint.
    pub fn checkpoint_path(layout: &ServerLayout) -> PathBuf {
        layout.data_dir.join("audit-ship.json")
    }

    pub fn with_settings(mut self, settings: ShipSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Test fault point: after the `n`-th upload of this run, stop before checkpointing it,
    /// exactly as if the process had been killed there.
    #[doc(hidden)]
    pub fn crash_after_uploads(mut self, n: u32) -> Self {
        self.crash_after_uploads = Some(n);
        self
    }
}

/// Ships until `cancel` fires (then ships what is complete, briefly, and returns). Errors are
/// logged and retried with backoff; the checkpoint makes every retry safe.
pub async fn run(ship: AuditShipper, cancel: CancellationToken) {
    let mut backoff = Duration::from_secs(1);
    let mut uploads = 0u32;
    loop {
        let started = Instant::now();
        let mut tail = Tail { ship: &ship, ckpt: Checkpoint::default(), src: None, uploads };
        let result = tail.drive(&cancel).await;
        uploads = tail.uploads;
        match result {
            Ok(()) | Err(ShipError::Cancelled) => return,
            Err(ShipError::InjectedCrash) => {
                tracing::warn!("audit shipper stopped at the injected fault point");
                return;
            }
            Err(e) => tracing::error!(error = %e, "audit shipping failed; retrying"),
        }
        if started.elapsed() > Duration::from_secs(300) {
            backoff = Duration::from_secs(1);
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}

/// How long a shutdown may spend shipping the last complete lines.
const FINAL_FLUSH: Duration = Duration::from_secs(10);

/// One run of the shipper over the file(s), from the checkpoint.
struct Tail<'a> {
    ship: &'a AuditShipper,
    ckpt: Checkpoint,
    src: Option<Source>,
    uploads: u32,
}

fn file_err(path: &Path) -> impl FnOnce(std::io::Error) -> ShipError + '_ {
    move |source| ShipError::File { path: path.to_owned(), source }
}

impl Tail<'_> {
    async fn drive(&mut self, cancel: &CancellationToken) -> Result<(), ShipError> {
        self.resume(cancel).await?;
        let mut last_flush = Instant::now();
        let mut last_len = None;
        let mut tick = tokio::time::interval(self.ship.settings.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopping = tokio::select! {
                () = cancel.cancelled() => true,
                _ = tick.tick() => false,
            };
            if stopping {
                let mut no_rotation = None;
                let last = self.step(cancel, true, &mut no_rotation);
                return match tokio::time::timeout(FINAL_FLUSH, last).await {
                    Ok(r) => r.map(drop),
                    Err(_) => Err(ShipError::Cancelled),
                };
            }
            let due = last_flush.elapsed() >= self.ship.settings.flush_interval;
            if self.step(cancel, due, &mut last_len).await? {
                last_flush = Instant::now();
            }
        }
    }

    /// Loads the checkpoint, opens the file it refers to (following a rotation by identity)
    /// and finishes a batch a crash interrupted.
    async fn resume(&mut self, cancel: &CancellationToken) -> Result<(), ShipError> {
        let path = self.ship.checkpoint_file.clone();
        let loaded = blocking(move || Checkpoint::load(&path)).await?;
        self.ckpt = match loaded {
            Ok(c) => c.unwrap_or_default(),
            Err(e) => {
                // Written atomically, so this is outside interference; starting over re-ships
                // the file under the same keys rather than skipping it.
                tracing::error!(error = %e, "unreadable audit-ship checkpoint; starting over");
                Checkpoint::default()
            }
        };
        if let Some(t) = self.ckpt.shipped_through {
            self.ship.shipped_through.fetch_max(t, Ordering::Relaxed);
        }
        let Some(want) = self.ckpt.file else { return Ok(()) };
        let ship = self.ship;
        let audit = &ship.audit_file;
        let here = source::id_at(audit).map_err(file_err(audit))?;
        let path = if here == Some(want) {
            Some(audit.clone())
        } else {
            let dir = audit.parent().unwrap_or(Path::new("."));
            source::find_by_id(dir, want).map_err(file_err(dir))?
        };
        let src = match &path {
            Some(p) => Source::open(p).map_err(file_err(p))?.filter(|s| s.id == want),
            None => None,
        };
        let Some(src) = src else {
            tracing::warn!(
                offset = self.ckpt.offset,
                "the checkpointed audit file is gone; continuing with the current one"
            );
            self.ckpt.pending = None;
            return self.next_file(None).await;
        };
        self.src = Some(src.clone());
        if let Some(p) = self.ckpt.pending.clone() {
            let start = self.ckpt.offset;
            let range = blocking(move || src.read_range(start, p.end)).await?;
            match range.map_err(file_err(audit))? {
                Some(lines) if lines.last() == Some(&b'\n') => {
                    tracing::info!(key = %p.key, "re-shipping the batch a restart interrupted");
                    self.ship_lines(lines, Some(p.key), cancel).await?;
                }
                _ => {
                    tracing::warn!(key = %p.key, "the interrupted batch's range is gone");
                    self.ckpt.pending = None;
                }
            }
        }
        Ok(())
    }

    /// One look at the file: handles truncation and rotation, ships when `due` (or when a full
    /// batch is waiting). `last_len` is the old file's length at the previous look, to switch
    /// files only once the server has stopped writing to the rotated one. Returns whether
    /// anything was shipped.
    async fn step(
        &mut self,
        cancel: &CancellationToken,
        due: bool,
        last_len: &mut Option<u64>,
    ) -> Result<bool, ShipError> {
        let ship = self.ship;
        let audit = &ship.audit_file;
        let Some(src) = self.src.clone() else {
            let Some(src) = Source::open(audit).map_err(file_err(audit))? else {
                return Ok(false); // the server has not created it yet
            };
            self.next_file(Some(src)).await?;
            return Ok(false);
        };
        let len = src.size().map_err(file_err(audit))?;
        // Shrunk below the offset, or regrown past it with other content (the byte before the
        // offset is always the end of a shipped line).
        let off = self.ckpt.offset;
        let truncated =
            len < off || (off > 0 && src.byte_at(off - 1).map_err(file_err(audit))? != Some(b'\n'));
        if truncated {
            tracing::warn!(
                len,
                offset = self.ckpt.offset,
                "audit file truncated; reading it from 0"
            );
            self.ckpt.base = self.ckpt.position(self.ckpt.offset);
            self.ckpt.offset = 0;
            self.store().await?;
        }
        let rotated = source::id_at(audit).map_err(file_err(audit))?.is_some_and(|id| id != src.id);
        let waiting = len.saturating_sub(self.ckpt.offset);
        let full = waiting >= self.ship.settings.max_batch_bytes as u64;
        let mut shipped = false;
        if waiting > 0 && (due || full || rotated) {
            shipped = self.ship_available(cancel).await?;
        }
        if rotated {
            // Switch once the old file stopped growing: the server writes to it until it has
            // reopened its log (SIGHUP after the rename).
            if *last_len == Some(len) {
                let next = Source::open(audit).map_err(file_err(audit))?;
                self.next_file(next).await?;
                *last_len = None;
            } else {
                *last_len = Some(len);
            }
        }
        Ok(shipped)
    }

    /// Moves the checkpoint to `next` (or to "no file yet"), keeping stream positions growing.
    async fn next_file(&mut self, next: Option<Source>) -> Result<(), ShipError> {
        self.ckpt = Checkpoint {
            file: next.as_ref().map(|s| s.id),
            offset: 0,
            base: self.ckpt.position(self.ckpt.offset),
            pending: None,
            shipped_through: self.ckpt.shipped_through,
        };
        self.src = next;
        self.store().await
    }

    /// Ships every complete line after the offset, in batches.
    async fn ship_available(&mut self, cancel: &CancellationToken) -> Result<bool, ShipError> {
        let Some(src) = self.src.clone() else { return Ok(false) };
        let ship = self.ship;
        let mut shipped = false;
        loop {
            let (s, start, max) = (src.clone(), self.ckpt.offset, ship.settings.max_batch_bytes);
            let lines = blocking(move || s.read_lines(start, max))
                .await?
                .map_err(file_err(&ship.audit_file))?;
            if lines.is_empty() {
                return Ok(shipped);
            }
            self.ship_lines(lines, None, cancel).await?;
            shipped = true;
        }
    }

    /// Compresses and uploads `lines` (bytes from the offset on), checkpointing around the
    /// upload. `key`: the key of an interrupted batch being re-shipped.
    async fn ship_lines(
        &mut self,
        lines: Vec<u8>,
        key: Option<String>,
        cancel: &CancellationToken,
    ) -> Result<(), ShipError> {
        let ship = self.ship;
        let batch =
            blocking(move || batch::build(&lines)).await?.map_err(file_err(&ship.audit_file))?;
        let start = self.ckpt.offset;
        let end = start + batch.len;
        let key = key.unwrap_or_else(|| {
            batch::object_key(
                self.ship.cluster_id,
                self.ship.node_index,
                batch.first_time.unwrap_or_else(OffsetDateTime::now_utc),
                self.ckpt.position(start),
                self.ckpt.position(end),
            )
        });
        self.ckpt.pending = Some(Pending { end, key: key.clone() });
        self.store().await?;

        let mut backoff = Duration::from_millis(500);
        loop {
            match upload::put(&self.ship.s3, &self.ship.target, &key, &batch).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(%key, error = %e, "audit upload failed; retrying");
                    tokio::select! {
                        () = cancel.cancelled() => return Err(ShipError::Cancelled),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
        self.uploads += 1;
        if self.ship.crash_after_uploads.is_some_and(|n| self.uploads >= n) {
            return Err(ShipError::InjectedCrash);
        }
        self.ckpt.offset = end;
        self.ckpt.pending = None;
        if let Some(t) = batch.last_time {
            let t = t.unix_timestamp();
            self.ckpt.shipped_through = Some(self.ckpt.shipped_through.map_or(t, |s| s.max(t)));
        }
        self.store().await?;
        if let Some(t) = self.ckpt.shipped_through {
            ship.shipped_through.fetch_max(t, Ordering::Relaxed);
        }
        tracing::debug!(%key, lines = batch.lines, bytes = batch.len, "audit batch shipped");
        Ok(())
    }

    async fn store(&self) -> Result<(), ShipError> {
        let (ckpt, path) = (self.ckpt.clone(), self.ship.checkpoint_file.clone());
        blocking(move || ckpt.store(&path).map_err(|source| ShipError::Checkpoint { path, source }))
            .await?
    }
}

/// Runs file work on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ShipError> {
    Ok(tokio::task::spawn_blocking(f).await?)
}
