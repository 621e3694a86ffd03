//! The reconcile loop: every poll, make the set of running agents match the set of running
//! Coffer instances EC2 reports.
//!
//! One task owns all node state (no locks): a tick lists instances per region, starts an agent
//! for each running instance without one, restarts an agent that exited on its own (after a
//! back-off, like an instance that reboots: its data directory persists and the server unseals
//! itself from KMS), and stops the agents of instances that stopped or terminated. Stopping
//! waits up to a deadline, so it runs in background tasks whose completion the loop observes;
//! a slow node never delays the others.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Child;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::address;
use crate::args::RunnerConfig;
use crate::ec2::{self, Ec2, Observed};
use crate::process::{self, AgentLaunch};
use crate::state::{self, NodeRecord, NodeState, StateError};

/// Back-off before the first restart of an agent that exited; doubles up to [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A run at least this long resets the back-off: the next exit is a new incident.
const STABLE_RUN: Duration = Duration::from_secs(60);
const USER_DATA_FILE: &str = "user-data";
const AGENT_LOG_FILE: &str = "agent.log";

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot create {path}: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
}

enum Phase {
    /// No process.
    Idle,
    /// Boxed: a `Child` is large, and `Idle`/`Stopping` carry nothing.
    Running { child: Box<Child>, started: Instant },
    /// A background task is stopping the process group.
    Stopping,
}

struct Node {
    rec: NodeRecord,
    phase: Phase,
    /// Set after the agent exited on its own: the earliest time it may start again.
    restart_at: Option<Instant>,
    backoff: Duration,
}

impl Node {
    fn idle(mut rec: NodeRecord) -> Node {
        rec.state = NodeState::Stopped;
        rec.agent_pid = None;
        rec.server_pid = None;
        Node { rec, phase: Phase::Idle, restart_at: None, backoff: INITIAL_BACKOFF }
    }
}

struct Runner {
    cfg: RunnerConfig,
    ec2: Ec2,
    /// Keyed by instance id; sorted so nodes.json lists nodes in a stable order.
    nodes: BTreeMap<String, Node>,
    /// Instances of another control plane (see `--control-plane-url`): never run here.
    ignored: HashSet<String>,
    /// Regions whose last listing failed, so a down endpoint is logged once, not every tick.
    failing: HashSet<String>,
    stops: JoinSet<String>,
    saved: Vec<u8>,
}

/// Runs until `cancel` fires, then stops every node and returns.
pub async fn run(cfg: RunnerConfig, cancel: CancellationToken) -> Result<(), RunnerError> {
    let nodes_dir = cfg.state_dir.join("nodes");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&nodes_dir)
        .map_err(|source| RunnerError::Dir { path: nodes_dir, source })?;
    let saved = state::load(&cfg.nodes_file())?;
    let ec2 =
        Ec2::new(&cfg.aws_endpoint, &cfg.regions, &cfg.access_key_id, &cfg.secret_access_key).await;
    let mut runner = Runner {
        ec2,
        nodes: BTreeMap::new(),
        ignored: HashSet::new(),
        failing: HashSet::new(),
        stops: JoinSet::new(),
        saved: Vec::new(),
        cfg,
    };
    for rec in saved.nodes {
        runner.stop_leftover(&rec).await;
        runner.nodes.insert(rec.instance_id.clone(), Node::idle(rec));
    }
    runner.save()?;
    tracing::info!(
        regions = ?runner.cfg.regions,
        state_dir = %runner.cfg.state_dir.display(),
        endpoint = %runner.cfg.aws_endpoint,
        "watching EC2 for Coffer instances"
    );
    let mut tick = tokio::time::interval(runner.cfg.poll);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some(done) = runner.stops.join_next() => match done {
                Ok(id) => runner.stopped(&id),
                Err(e) => tracing::error!(error = %e, "a node stop task failed"),
            },
            _ = tick.tick() => runner.reconcile().await,
        }
        runner.save_logged();
    }
    runner.shutdown().await;
    runner.save()
}

impl Runner {
    /// An agent an earlier runner started and could not stop (it was killed): stop it, so the
    /// node starts fresh with its address and storage free.
    async fn stop_leftover(&self, rec: &NodeRecord) {
        let Some(pid) = rec.agent_pid else { return };
        if rec.state != NodeState::Running || !process::is_process_of(pid, &rec.instance_id) {
            return;
        }
        tracing::warn!(instance = %rec.instance_id, pid, "stopping an agent an earlier runner left");
        process::stop_group(pid, None, self.cfg.stop_timeout).await;
    }

    fn render(&self) -> Vec<u8> {
        state::render(self.nodes.values().map(|n| &n.rec))
    }

    fn save(&mut self) -> Result<(), RunnerError> {
        let bytes = self.render();
        if bytes != self.saved {
            state::save(&self.cfg.nodes_file(), &bytes)?;
            self.saved = bytes;
        }
        Ok(())
    }

    fn save_logged(&mut self) {
        if let Err(e) = self.save() {
            tracing::error!(error = %e, "cannot write nodes.json");
        }
    }

    async fn reconcile(&mut self) {
        self.reap_exits();
        let ec2 = &self.ec2;
        let listings =
            futures::future::join_all(self.cfg.regions.iter().map(|r| ec2.instances(r))).await;
        let regions = self.cfg.regions.clone();
        for (region, listing) in regions.iter().zip(listings) {
            match listing {
                Ok(instances) => {
                    if self.failing.remove(region) {
                        tracing::info!(%region, "listing instances works again");
                    }
                    self.reconcile_region(region, &instances).await;
                }
                // Never stop nodes because EC2 did not answer: they keep running as they are.
                Err(e) => {
                    if self.failing.insert(region.clone()) {
                        tracing::warn!(%region, error = %e, "cannot list instances; nodes left as they are");
                    }
                }
            }
        }
        for node in self.nodes.values_mut() {
            if let (Phase::Running { .. }, Some(pid)) = (&node.phase, node.rec.agent_pid) {
                node.rec.server_pid = process::first_child(pid);
            }
        }
    }

    /// Agents that exited on their own: clean up what is left of their process group (the
    /// server), then start them again after the back-off.
    fn reap_exits(&mut self) {
        let now = Instant::now();
        for (id, node) in &mut self.nodes {
            let Phase::Running { child, started } = &mut node.phase else { continue };
            let status = match child.try_wait() {
                Ok(None) => continue,
                Ok(Some(status)) => status.to_string(),
                Err(e) => format!("unknown ({e})"),
            };
            if started.elapsed() >= STABLE_RUN {
                node.backoff = INITIAL_BACKOFF;
            }
            tracing::warn!(instance = %id, %status, backoff_ms = node.backoff.as_millis() as u64,
                "agent exited; restarting it like a rebooted instance");
            node.restart_at = Some(now + node.backoff);
            node.backoff = (node.backoff * 2).min(MAX_BACKOFF);
            node.phase = Phase::Stopping;
            if let Some(pgid) = node.rec.agent_pid.take() {
                let (id, timeout) = (id.clone(), self.cfg.stop_timeout);
                self.stops.spawn(async move {
                    process::stop_group(pgid, None, timeout).await;
                    id
                });
            } else {
                node.phase = Phase::Idle;
            }
            node.rec.server_pid = None;
        }
    }

    async fn reconcile_region(&mut self, region: &str, instances: &[Observed]) {
        let running: HashMap<&str, &Observed> =
            instances.iter().filter(|o| o.running).map(|o| (o.instance_id.as_str(), o)).collect();
        let gone: Vec<String> = self
            .nodes
            .iter()
            .filter(|(id, n)| n.rec.region == region && !running.contains_key(id.as_str()))
            .filter(|(_, n)| matches!(n.phase, Phase::Running { .. }) || n.restart_at.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            tracing::info!(instance = %id, "instance is no longer running; stopping its node");
            self.begin_stop(&id);
        }
        let now = Instant::now();
        for obs in running.values() {
            let id = obs.instance_id.as_str();
            if self.ignored.contains(id) {
                continue;
            }
            if let Some(n) = self.nodes.get(id) {
                let waiting = n.restart_at.is_some_and(|t| t > now);
                if !matches!(n.phase, Phase::Idle) || waiting {
                    continue;
                }
            }
            if let Err(e) = self.start(region, obs).await {
                tracing::error!(instance = %id, error = %e, "cannot start node");
                if let Some(n) = self.nodes.get_mut(id) {
                    n.restart_at = Some(now + n.backoff);
                    n.backoff = (n.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn begin_stop(&mut self, id: &str) {
        let Some(node) = self.nodes.get_mut(id) else { return };
        node.restart_at = None;
        match std::mem::replace(&mut node.phase, Phase::Stopping) {
            Phase::Running { child, .. } => {
                let Some(pgid) = node.rec.agent_pid.or_else(|| child.id()) else {
                    node.phase = Phase::Idle;
                    return;
                };
                let (id, timeout) = (id.to_owned(), self.cfg.stop_timeout);
                self.stops.spawn(async move {
                    process::stop_group(pgid, Some(*child), timeout).await;
                    id
                });
            }
            Phase::Idle => {
                node.phase = Phase::Idle;
                node.rec.state = NodeState::Stopped;
            }
            Phase::Stopping => {}
        }
    }

    /// A stop task finished: the node's process group is gone.
    fn stopped(&mut self, id: &str) {
        let Some(node) = self.nodes.get_mut(id) else { return };
        node.phase = Phase::Idle;
        node.rec.agent_pid = None;
        node.rec.server_pid = None;
        if node.restart_at.is_none() {
            node.rec.state = NodeState::Stopped;
            tracing::info!(instance = %id, "node stopped");
        }
    }

    /// Starts (or restarts) the node for a running instance, creating its record first.
    async fn start(&mut self, region: &str, obs: &Observed) -> Result<(), StartError> {
        let id = obs.instance_id.as_str();
        let dir = self.cfg.node_dir(id);
        let user_data = dir.join(USER_DATA_FILE);
        if !self.nodes.contains_key(id) || !user_data.exists() {
            let bytes = self.ec2.user_data(region, id).await?;
            if let Some(want) = &self.cfg.control_plane_url {
                if ec2::control_plane_url(&bytes).as_deref() != Some(want.as_str()) {
                    tracing::debug!(instance = %id, "instance of another control plane; ignored");
                    self.ignored.insert(id.to_owned());
                    return Ok(());
                }
            }
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|source| StartError::Io { path: dir.clone(), source })?;
            write_private(&user_data, &bytes)?;
        }
        if !self.nodes.contains_key(id) {
            let taken: HashSet<Ipv4Addr> = self
                .nodes
                .values()
                .filter_map(|n| n.rec.address.parse::<SocketAddrV4>().ok())
                .map(|a| *a.ip())
                .collect();
            let ip = address::allocate(id, self.cfg.node_port, &taken)?;
            let listen = SocketAddrV4::new(ip, self.cfg.node_port);
            let rec = NodeRecord {
                instance_id: id.to_owned(),
                cluster_id: obs.cluster_id.clone(),
                region: region.to_owned(),
                address: listen.to_string(),
                api_url: format!("http://{listen}"),
                agent_pid: None,
                server_pid: None,
                data_dir: dir.clone(),
                state: NodeState::Stopped,
                restarts: 0,
            };
            self.nodes.insert(id.to_owned(), Node::idle(rec));
        }
        let Some(node) = self.nodes.get_mut(id) else { return Ok(()) };
        let listen: SocketAddr = node
            .rec
            .address
            .parse()
            .map_err(|_| StartError::BadAddress(node.rec.address.clone()))?;
        let restart = node.restart_at.is_some();
        let launch = AgentLaunch {
            agent_bin: &self.cfg.agent_bin,
            server_bin: &self.cfg.server_bin,
            instance_id: id,
            user_data: &user_data,
            data_dir: &node.rec.data_dir,
            listen,
            region,
            aws_endpoint: &self.cfg.aws_endpoint,
            access_key_id: &self.cfg.access_key_id,
            secret_access_key: &self.cfg.secret_access_key,
        };
        let reason = if restart {
            format!("restart {} after it exited", node.rec.restarts + 1)
        } else {
            "instance running".to_owned()
        };
        let child = launch.spawn(&node.rec.data_dir.join(AGENT_LOG_FILE), &reason)?;
        if restart {
            node.rec.restarts += 1;
        }
        node.restart_at = None;
        node.rec.agent_pid = child.id();
        node.rec.state = NodeState::Running;
        node.phase = Phase::Running { child: Box::new(child), started: Instant::now() };
        tracing::info!(instance = %id, cluster = %node.rec.cluster_id, address = %node.rec.address,
            pid = ?node.rec.agent_pid, %reason, "node started");
        Ok(())
    }

    /// Stops every node (in parallel) and waits for all of them.
    async fn shutdown(&mut self) {
        let ids: Vec<String> = self.nodes.keys().cloned().collect();
        for id in &ids {
            self.begin_stop(id);
        }
        tracing::info!(stopping = self.stops.len(), "stopping every node");
        while let Some(done) = self.stops.join_next().await {
            match done {
                Ok(id) => self.stopped(&id),
                Err(e) => tracing::error!(error = %e, "a node stop task failed"),
            }
        }
        for node in self.nodes.values_mut() {
            node.restart_at = None;
            node.phase = Phase::Idle;
            node.rec.state = NodeState::Stopped;
            node.rec.agent_pid = None;
            node.rec.server_pid = None;
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    Ec2(#[from] ec2::Ec2Error),
    #[error(transparent)]
    Address(#[from] address::NoFreeAddress),
    #[error(transparent)]
    Process(#[from] process::ProcessError),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("saved address {0:?} is not ip:port")]
    BadAddress(String),
}

/// The user data holds the node's one-time join token: readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StartError> {
    use std::io::Write as _;
    let io = |source| StartError::Io { path: path.to_owned(), source };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)
}
