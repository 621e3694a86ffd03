//! Keeps one `coffer-server` process running.
//!
//! A supervisor task owns the child: when it exits for any reason other than our shutdown it is
//! started again, with a backoff that grows while it keeps crashing (so a broken binary or
//! config does not spin a core) and resets once a run lasted long enough to count as healthy.
//! The current pid and the restart count are published through atomics so callers (and tests
//! that kill the server) can observe the supervisor without locking it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::ServerError;
use crate::vault::{Health, VaultClient};

const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A run this long resets the backoff.
const HEALTHY_RUN: Duration = Duration::from_secs(30);

/// How to start the server.
#[derive(Clone)]
pub struct ServerCommand {
    pub bin: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
    /// Extra environment (AWS credentials when not using the instance role). Values may be
    /// secret, so this type has no `Debug`.
    pub env: Vec<(String, String)>,
}

impl ServerCommand {
    fn spawn(&self) -> Result<Child, ServerError> {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(&self.log).map_err(
                |source| ServerError::Log { path: self.log.display().to_string(), source },
            )?;
        let err_log = log
            .try_clone()
            .map_err(|source| ServerError::Log { path: self.log.display().to_string(), source })?;
        Command::new(&self.bin)
            .arg("server")
            .arg(format!("-config={}", self.config.display()))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ServerError::Spawn { bin: self.bin.display().to_string(), source })
    }
}

pub struct Supervisor {
    pid: Arc<AtomicU32>,
    restarts: Arc<AtomicU32>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Supervisor {
    /// Starts the server and the task that keeps it running. Fails only if the first start
    /// fails (a missing binary is a configuration error, not something to retry forever).
    pub fn start(cmd: ServerCommand) -> Result<Supervisor, ServerError> {
        let child = cmd.spawn()?;
        let pid = Arc::new(AtomicU32::new(child.id().unwrap_or(0)));
        let restarts = Arc::new(AtomicU32::new(0));
        let (stop, stop_rx) = watch::channel(false);
        let task =
            tokio::spawn(supervise(cmd, child, Arc::clone(&pid), Arc::clone(&restarts), stop_rx));
        Ok(Supervisor { pid, restarts, stop, task })
    }

    /// The running server's pid (0 while it is being restarted).
    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::Acquire)
    }

    /// How many times the server was restarted after exiting.
    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Acquire)
    }

    /// Stops the server (SIGKILL via the child handle) and the supervisor.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "server supervisor task failed");
        }
    }
}

async fn supervise(
    cmd: ServerCommand,
    mut child: Child,
    pid: Arc<AtomicU32>,
    restarts: Arc<AtomicU32>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let started = Instant::now();
        tokio::select! {
            status = child.wait() => {
                pid.store(0, Ordering::Release);
                match status {
                    Ok(s) => tracing::warn!(status = %s, "coffer-server exited; restarting"),
                    Err(e) => tracing::warn!(error = %e, "waiting on coffer-server failed"),
                }
            }
            _ = stop.changed() => {
                let _ = child.kill().await;
                pid.store(0, Ordering::Release);
                return;
            }
        }
        if started.elapsed() >= HEALTHY_RUN {
            backoff = MIN_BACKOFF;
        }
        // Restart, retrying spawn failures with the same backoff, until stopped.
        loop {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            match cmd.spawn() {
                Ok(c) => {
                    child = c;
                    pid.store(child.id().unwrap_or(0), Ordering::Release);
                    restarts.fetch_add(1, Ordering::AcqRel);
                    tracing::info!(pid = child.id(), "coffer-server restarted");
                    break;
                }
                Err(e) => tracing::error!(error = %e, "cannot restart coffer-server"),
            }
        }
    }
}

/// Polls `sys/health` until the server answers and `ready` accepts its state, or `timeout`.
pub async fn wait_ready(
    client: &VaultClient,
    timeout: Duration,
    ready: impl Fn(&Health) -> bool,
) -> Result<Health, ServerError> {
    let deadline = Instant::now() + timeout;
    loop {
        match client.health().await {
            Ok(h) if ready(&h) => return Ok(h),
            Ok(h) => tracing::debug!(?h, "server not ready yet"),
            Err(e) => tracing::debug!(error = %e, "server not answering yet"),
        }
        if Instant::now() >= deadline {
            return Err(ServerError::NotReady(timeout));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates the directories the server writes to.
pub fn prepare_dirs(data_dir: &Path, audit_file: &Path) -> Result<(), ServerError> {
    crate::files::private_dir(data_dir)?;
    if let Some(parent) = audit_file.parent() {
        crate::files::private_dir(parent)?;
    }
    Ok(())
}
