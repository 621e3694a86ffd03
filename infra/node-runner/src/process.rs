//! Agent processes: each started in a process group of its own, so that stopping a node also
//! stops the `coffer-server` its agent started, even when the agent itself already died (a
//! `kill -9`ed agent cannot take its server down; the orphan would keep the port and the storage
//! lock, and the restarted node could never come up).

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How often a stopping group is checked for remaining members.
const STOP_POLL: Duration = Duration::from_millis(50);

/// How to start one node's agent.
#[derive(Debug)]
pub struct AgentLaunch<'a> {
    pub agent_bin: &'a Path,
    pub server_bin: &'a Path,
    pub instance_id: &'a str,
    pub user_data: &'a Path,
    pub data_dir: &'a Path,
    pub listen: SocketAddr,
    pub region: &'a str,
    pub aws_endpoint: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot open agent log {path}: {source}")]
    Log { path: PathBuf, source: std::io::Error },
    #[error("cannot start {bin}: {source}")]
    Spawn { bin: PathBuf, source: std::io::Error },
}

impl AgentLaunch<'_> {
    /// `coffer-agent run ...`, as the contract for the local node runtime names it.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::with_capacity(13);
        let mut push = |a: &dyn AsRef<std::ffi::OsStr>| args.push(a.as_ref().to_owned());
        push(&"run");
        push(&"--user-data");
        push(&self.user_data);
        push(&"--instance-id");
        push(&self.instance_id);
        push(&"--listen");
        push(&self.listen.to_string());
        push(&"--advertise-addr");
        push(&format!("http://{}", self.listen));
        push(&"--data-dir");
        push(&self.data_dir);
        push(&"--server-bin");
        push(&self.server_bin);
        args
    }

    /// Starts the agent in its own process group with stdout and stderr appended to `log`,
    /// after a marker line saying why it starts.
    pub fn spawn(&self, log: &Path, reason: &str) -> Result<Child, ProcessError> {
        let log_err = |source| ProcessError::Log { path: log.to_owned(), source };
        let mut out = OpenOptions::new().create(true).append(true).open(log).map_err(log_err)?;
        writeln!(out, "--- coffer-node-runner: starting the agent ({reason}) ---")
            .map_err(log_err)?;
        let err = out.try_clone().map_err(log_err)?;
        Command::new(self.agent_bin)
            .args(self.args())
            .env("AWS_ENDPOINT_URL", self.aws_endpoint)
            .env("AWS_ACCESS_KEY_ID", self.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", self.secret_access_key)
            .env("AWS_REGION", self.region)
            .env("AWS_DEFAULT_REGION", self.region)
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            // Dropping the handle without a stop (a panic) must not leave the node running.
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ProcessError::Spawn { bin: self.agent_bin.to_owned(), source })
    }
}

/// Whether any live (non-zombie) process is left in group `pgid`.
pub fn group_alive(pgid: u32) -> bool {
    let Ok(raw) = i32::try_from(pgid) else { return false };
    if matches!(killpg(Pid::from_raw(raw), None), Err(Errno::ESRCH)) {
        return false;
    }
    // Members exist, but zombies count for the kernel too and an init that does not reap
    // (some containers) would keep one forever: look for a member that still runs.
    let Ok(procs) = std::fs::read_dir("/proc") else { return true };
    procs.flatten().any(|p| {
        let Ok(stat) = std::fs::read_to_string(p.path().join("stat")) else { return false };
        // "pid (comm) state ppid pgrp ...": comm may contain spaces, so split after ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else { return false };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|g| g.parse::<u32>().ok());
        pgrp == Some(pgid) && state != Some("Z")
    })
}

fn signal_group(pgid: u32, signal: Signal) {
    if let Ok(raw) = i32::try_from(pgid) {
        // ESRCH (already gone) is the outcome we want; nothing else can fail for our own group.
        let _ = killpg(Pid::from_raw(raw), signal);
    }
}

/// Stops the process group `pgid` (the agent's pid): SIGTERM, then SIGKILL once `timeout`
/// passed. Returns when no member is left (reaping the agent through `child` when we have it).
/// Returns whether SIGKILL was needed.
pub async fn stop_group(pgid: u32, mut child: Option<Child>, timeout: Duration) -> bool {
    signal_group(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + timeout;
    let mut killed = false;
    loop {
        if let Some(c) = child.as_mut() {
            if let Ok(Some(_)) = c.try_wait() {
                child = None;
            }
        }
        // A zombie agent still counts as a member until reaped above.
        if child.is_none() && !group_alive(pgid) {
            return killed;
        }
        if !killed && Instant::now() >= deadline {
            tracing::warn!(pgid, "node did not stop in time; killing its process group");
            signal_group(pgid, Signal::SIGKILL);
            killed = true;
        }
        tokio::time::sleep(STOP_POLL).await;
    }
}

/// Whether `pid` is a process whose command line mentions `needle` (so a pid saved by an earlier
/// runner is only signalled if it still is that node's agent, not a recycled pid).
pub fn is_process_of(pid: u32, needle: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| raw.split(|b| *b == 0).any(|arg| arg == needle.as_bytes()))
        .unwrap_or(false)
}

/// The first child of `pid` (the agent's server), from `/proc/PID/task/*/children`.
pub fn first_child(pid: u32) -> Option<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    tasks.flatten().find_map(|task| {
        let children = std::fs::read_to_string(task.path().join("children")).ok()?;
        children.split_whitespace().next().and_then(|c| c.parse().ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_command_line() {
        let launch = AgentLaunch {
            agent_bin: Path::new("/bin/agent"),
            server_bin: Path::new("/bin/server"),
            instance_id: "i-1",
            user_data: Path::new("/s/nodes/i-1/user-data"),
            data_dir: Path::new("/s/nodes/i-1"),
            listen: "127.9.8.7:8200".parse().unwrap(),
            region: "eu-west-1",
            aws_endpoint: "http://127.0.0.1:5000",
            access_key_id: "test",
            secret_access_key: "test",
        };
        let args: Vec<String> =
            launch.args().into_iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args.join(" "),
            "run --user-data /s/nodes/i-1/user-data --instance-id i-1 --listen 127.9.8.7:8200 \
             --advertise-addr http://127.9.8.7:8200 --data-dir /s/nodes/i-1 --server-bin /bin/server"
        );
    }

    #[tokio::test]
    async fn stop_group_takes_down_orphans_of_a_dead_leader() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild");
        // The leader starts a long sleeper in its group, then dies: like a killed agent whose
        // server lives on.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"sleep 600 & echo $! > "$0"; exit 0"#)
            .arg(&pidfile)
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id().unwrap();
        child.wait().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pidfile.exists() {
            assert!(Instant::now() < deadline, "grandchild never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(group_alive(pgid), "the orphan keeps the group alive");
        let killed = stop_group(pgid, None, Duration::from_secs(10)).await;
        assert!(!killed, "sleep stops on SIGTERM");
        assert!(!group_alive(pgid));
    }
}
