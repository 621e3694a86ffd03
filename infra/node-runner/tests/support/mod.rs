//! Test harness: moto, an EC2 client, the runner binary as a child process, a test double of
//! the agent, and polling of `nodes.json` with a deadline.

#![allow(dead_code)]

pub use coffer_test_support::moto;
pub use coffer_test_support::net::free_port;

pub mod proxy;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::Region;
use aws_sdk_ec2::types::{Filter, InstanceType, ResourceType, Tag, TagSpecification};
use base64::Engine as _;
use coffer_test_support::wait;
use serde_json::Value;
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_coffer-node-runner");
/// Regions none of the other suites create clusters in, so a shared moto stays quiet here.
pub const REGION: &str = "ca-central-1";
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A name unique to this test run (process and call).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Polls `probe` until it returns `Some`, or panics naming `what` and the last observation.
pub async fn eventually<T>(what: &str, mut probe: impl FnMut() -> (Option<T>, String)) -> T {
    wait::until(what, DEADLINE, || {
        let (got, seen) = probe();
        std::future::ready(got.ok_or(seen))
    })
    .await
}

pub fn pid_alive(pid: u32) -> bool {
    // A zombie is gone for our purposes; /proc/PID/stat says Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        }
        Err(_) => false,
    }
}

/// EC2 in one region of moto, as the engine would use it.
pub struct Ec2 {
    pub client: aws_sdk_ec2::Client,
    pub moto: String,
    pub region: String,
}

impl Ec2 {
    pub async fn new(region: &str) -> Ec2 {
        let moto = moto::url().await;
        let base = coffer_node_runner::ec2::sdk_config(&moto, "test", "test").await;
        let conf = aws_sdk_ec2::config::Builder::from(&base).region(Region::new(region.to_owned()));
        Ec2 {
            client: aws_sdk_ec2::Client::from_conf(conf.build()),
            moto,
            region: region.to_owned(),
        }
    }

    async fn image(&self) -> String {
        let name = Filter::builder().name("name").values("al2023-ami-2023*x86_64").build();
        let found =
            self.client.describe_images().owners("amazon").filters(name).send().await.unwrap();
        let mut ids: Vec<&str> = found.images().iter().filter_map(|i| i.image_id()).collect();
        ids.sort_unstable();
        ids.first().map(|s| (*s).to_owned()).unwrap_or_else(|| "ami-12c6146b".to_owned())
    }

    /// Launches an instance tagged like the engine does, with `user_data` (raw JSON) as user
    /// data; returns its id.
    pub async fn launch(&self, cluster_id: &str, user_data: &str) -> String {
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(Tag::builder().key("coffer:cluster-id").value(cluster_id).build())
            .tags(Tag::builder().key("coffer:managed-by").value("coffer").build())
            .build();
        let out = self
            .client
            .run_instances()
            .image_id(self.image().await)
            .instance_type(InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .user_data(base64::engine::general_purpose::STANDARD.encode(user_data))
            .tag_specifications(tags)
            .send()
            .await
            .unwrap();
        out.instances()[0].instance_id().unwrap().to_owned()
    }

    pub async fn terminate(&self, id: &str) {
        self.client.terminate_instances().instance_ids(id).send().await.unwrap();
    }
}

/// A bootstrap-like document naming `cp_url`, as the runner filters on it.
pub fn user_data(cp_url: &str, cluster_id: &str) -> String {
    serde_json::json!({
        "version": 1,
        "cluster_id": cluster_id,
        "control_plane_url": cp_url,
        "join_token": unique("cfj"),
    })
    .to_string()
}

/// The test double of `coffer-agent`: records its arguments, its AWS environment and its pid in
/// its data directory, then idles like a running node until signalled.
pub fn fake_agent(dir: &Path) -> PathBuf {
    let path = dir.join("fake-agent");
    std::fs::write(
        &path,
        r#"#!/bin/sh
data=""; prev=""
for a in "$@"; do [ "$prev" = "--data-dir" ] && data=$a; prev=$a; done
env | grep '^AWS_' | sort > "$data/agent-env"
echo $$ >> "$data/agent-pids"
# Last, and renamed into place: tests take this file as the sign that the others are written.
printf '%s\n' "$@" > "$data/agent-args.tmp" && mv "$data/agent-args.tmp" "$data/agent-args"
exec sleep 120
"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The runner binary under test, with its state in a directory of its own.
pub struct Runner {
    child: Child,
    pub state_dir: PathBuf,
    pub node_port: u16,
    pub log: PathBuf,
}

pub struct RunnerArgs<'a> {
    pub moto: &'a str,
    pub region: &'a str,
    pub state_dir: &'a Path,
    pub agent_bin: &'a Path,
    pub cp_url: &'a str,
    pub node_port: u16,
}

impl Runner {
    pub async fn start(a: &RunnerArgs<'_>) -> Runner {
        let log = a.state_dir.join(format!("{}.log", unique("runner")));
        std::fs::create_dir_all(a.state_dir).unwrap();
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(BIN)
            .args(["--aws-endpoint", a.moto, "--regions", a.region, "--poll-ms", "100"])
            .arg("--state-dir")
            .arg(a.state_dir)
            .arg("--agent-bin")
            .arg(a.agent_bin)
            .args(["--server-bin", "/nonexistent/coffer-server", "--control-plane-url", a.cp_url])
            .args(["--node-port", &a.node_port.to_string(), "--stop-timeout-ms", "5000"])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let runner =
            Runner { child, state_dir: a.state_dir.to_owned(), node_port: a.node_port, log };
        let log = runner.log.clone();
        eventually("the runner to start watching", || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            (text.contains("watching EC2").then_some(()), text)
        })
        .await;
        runner
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// SIGTERM, then wait (with the deadline) for a clean exit.
    pub async fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = tokio::time::timeout(DEADLINE, self.child.wait()).await.unwrap().unwrap();
        assert!(status.success(), "runner exited with {status}: {}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn nodes(&self) -> Vec<Value> {
        read_nodes(&self.state_dir)
    }

    /// Waits until `instance`'s record satisfies `ok`; returns it.
    pub async fn wait_node(
        &self,
        instance: &str,
        what: &str,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(what, || {
            let nodes = self.nodes();
            let found = nodes.iter().find(|n| n["instance_id"] == instance).cloned();
            (found.filter(|n| ok(n)), format!("{nodes:?}\nrunner log:\n{}", self.log_text()))
        })
        .await
    }
}

pub fn read_nodes(state_dir: &Path) -> Vec<Value> {
    let Ok(raw) = std::fs::read(state_dir.join("nodes.json")) else { return Vec::new() };
    let doc: Value = serde_json::from_slice(&raw).unwrap();
    doc["nodes"].as_array().cloned().unwrap_or_default()
}

pub fn running_with_agent(n: &Value) -> bool {
    n["state"] == "running" && n["agent_pid"].as_u64().is_some_and(|p| pid_alive(p as u32))
}

/// The recorded agent start (args file written by the fake agent).
pub async fn agent_args(data_dir: &Path) -> Vec<String> {
    let file = data_dir.join("agent-args");
    eventually("the agent to record its arguments", || {
        let text = std::fs::read_to_string(&file).ok();
        let seen = format!("{text:?}");
        (text.map(|t| t.lines().map(str::to_owned).collect()), seen)
    })
    .await
}
