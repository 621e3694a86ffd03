//! The runner against real moto, with a test double for the agent (a script that records how it
//! was started and idles). The real agent + server path is the end-to-end suite's job.
// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use support::{
    agent_args, pid_alive, running_with_agent, unique, user_data, Ec2, Runner, RunnerArgs, REGION,
};

struct World {
    ec2: Ec2,
    _tmp: tempfile::TempDir,
    state: PathBuf,
    agent: PathBuf,
    cp_url: String,
    port: u16,
}

impl World {
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let agent = support::fake_agent(tmp.path());
        World {
            ec2: Ec2::new(REGION).await,
            state: tmp.path().join("state"),
            _tmp: tmp,
            agent,
            cp_url: format!("http://{}.invalid", unique("cp")),
            port: support::free_port(),
        }
    }

    async fn runner(&self) -> Runner {
        Runner::start(&RunnerArgs {
            moto: &self.ec2.moto,
            region: REGION,
            state_dir: &self.state,
            agent_bin: &self.agent,
            cp_url: &self.cp_url,
            node_port: self.port,
        })
        .await
    }

    async fn launch(&self) -> (String, String, String) {
        let cluster = unique("cluster");
        let doc = user_data(&self.cp_url, &cluster);
        let id = self.ec2.launch(&cluster, &doc).await;
        (id, cluster, doc)
    }
}

fn field<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i =
        args.iter().position(|a| a == flag).unwrap_or_else(|| panic!("{flag} missing: {args:?}"));
    &args[i + 1]
}

#[tokio::test]
async fn a_running_instance_gets_an_agent_with_its_address_user_data_and_aws_environment() {
    let w = World::new().await;
    let runner = w.runner().await;
    let (id, cluster, doc) = w.launch().await;
    let node = runner.wait_node(&id, "the node to run", running_with_agent).await;

    assert_eq!(node["cluster_id"], cluster.as_str());
    assert_eq!(node["region"], REGION);
    let data_dir = PathBuf::from(node["data_dir"].as_str().unwrap());
    assert_eq!(data_dir, w.state.join("nodes").join(&id));
    let address = node["address"].as_str().unwrap();
    assert!(address.starts_with("127.") && address.ends_with(&format!(":{}", w.port)), "{address}");
    assert_eq!(node["api_url"], format!("http://{address}").as_str());

    let args = agent_args(&data_dir).await;
    assert_eq!(args[0], "run");
    assert_eq!(field(&args, "--instance-id"), id);
    assert_eq!(field(&args, "--listen"), address);
    assert_eq!(field(&args, "--advertise-addr"), format!("http://{address}"));
    assert_eq!(field(&args, "--data-dir"), data_dir.to_str().unwrap());
    assert_eq!(field(&args, "--server-bin"), "/nonexistent/coffer-server");
    let user_data = Path::new(field(&args, "--user-data"));
    assert_eq!(std::fs::read_to_string(user_data).unwrap(), doc, "decoded user data");
    let mode = std::fs::metadata(user_data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the user data holds the join token");

    let env = std::fs::read_to_string(data_dir.join("agent-env")).unwrap();
    for want in [
        format!("AWS_ENDPOINT_URL={}", w.ec2.moto),
        format!("AWS_REGION={REGION}"),
        "AWS_ACCESS_KEY_ID=test".to_owned(),
        "AWS_SECRET_ACCESS_KEY=test".to_owned(),
    ] {
        assert!(env.lines().any(|l| l == want), "{want} not in agent env:\n{env}");
    }
    w.ec2.terminate(&id).await;
    runner.stop().await;
}

#[tokio::test]
async fn a_killed_agent_is_restarted_and_a_terminated_instance_stops_its_agent() {
    let w = World::new().await;
    let runner = w.runner().await;
    let (id, _, _) = w.launch().await;
    let first = runner.wait_node(&id, "the node to run", running_with_agent).await;
    let first_pid = first["agent_pid"].as_u64().unwrap() as u32;
    assert_eq!(first["restarts"], 0);
    let data_dir = PathBuf::from(first["data_dir"].as_str().unwrap());
    let pids_file = data_dir.join("agent-pids");
    // The runner saves the pid as soon as it spawns; the agent records it a moment later. Killing
    // it before then would lose the first entry (seen once on a loaded 2-core CI machine).
    support::eventually("the first agent to record its pid", || {
        let text = std::fs::read_to_string(&pids_file).unwrap_or_default();
        (text.lines().any(|l| l.parse() == Ok(first_pid)).then_some(()), text)
    })
    .await;

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first_pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let second = runner
        .wait_node(&id, "the agent to be restarted", |n| {
            running_with_agent(n) && n["restarts"] == 1 && n["agent_pid"] != first["agent_pid"]
        })
        .await;
    assert_eq!(second["address"], first["address"], "a restart keeps the address");
    assert_eq!(second["data_dir"], first["data_dir"], "a restart keeps the data");
    let second_pid = second["agent_pid"].as_u64().unwrap() as u32;
    let pids: Vec<u32> = support::eventually("the restarted agent to record its pid", || {
        let text = std::fs::read_to_string(&pids_file).unwrap_or_default();
        let pids: Vec<u32> = text.lines().filter_map(|l| l.parse().ok()).collect();
        (pids.contains(&second_pid).then(|| pids.clone()), text)
    })
    .await;
    assert_eq!(pids, [first_pid, second_pid], "started exactly twice");

    w.ec2.terminate(&id).await;
    let stopped = runner
        .wait_node(&id, "the node to stop", |n| n["state"] == "stopped" && n["agent_pid"].is_null())
        .await;
    assert_eq!(stopped["restarts"], 1);
    assert!(!pid_alive(second_pid), "the agent of a terminated instance is gone");
    runner.stop().await;
}

#[tokio::test]
async fn addresses_survive_a_runner_restart_and_the_runner_stops_its_nodes_on_sigterm() {
    let w = World::new().await;
    let runner = w.runner().await;
    let (a, _, _) = w.launch().await;
    let (b, _, _) = w.launch().await;
    let node_a = runner.wait_node(&a, "node a to run", running_with_agent).await;
    let node_b = runner.wait_node(&b, "node b to run", running_with_agent).await;
    assert_ne!(node_a["address"], node_b["address"], "two instances, two addresses");
    let pids = [&node_a, &node_b].map(|n| n["agent_pid"].as_u64().unwrap() as u32);

    runner.stop().await;
    for pid in pids {
        assert!(!pid_alive(pid), "agent {pid} outlived the runner");
    }
    let saved = support::read_nodes(&w.state);
    assert_eq!(saved.len(), 2);
    assert!(saved.iter().all(|n| n["state"] == "stopped" && n["agent_pid"].is_null()), "{saved:?}");

    let runner = w.runner().await;
    for (id, before) in [(&a, &node_a), (&b, &node_b)] {
        let after = runner.wait_node(id, "the node to run again", running_with_agent).await;
        assert_eq!(after["address"], before["address"], "{id} moved");
        assert_ne!(after["agent_pid"], before["agent_pid"]);
        assert_eq!(after["restarts"], 0, "a runner restart is not an agent crash");
    }
    w.ec2.terminate(&a).await;
    w.ec2.terminate(&b).await;
    runner.stop().await;
}

#[tokio::test]
async fn instances_of_another_control_plane_are_left_alone() {
    let w = World::new().await;
    let runner = w.runner().await;
    let other_cluster = unique("cluster");
    let other = w
        .ec2
        .launch(&other_cluster, &user_data("http://another-control-plane.invalid", &other_cluster))
        .await;
    let (mine, _, _) = w.launch().await;
    runner.wait_node(&mine, "my node to run", running_with_agent).await;
    // Both were listed in the same tick or earlier: the other one was looked at and ignored.
    assert!(
        runner.nodes().iter().all(|n| n["instance_id"] != other.as_str()),
        "{:?}",
        runner.nodes()
    );
    assert!(!w.state.join("nodes").join(&other).exists());
    w.ec2.terminate(&other).await;
    w.ec2.terminate(&mine).await;
    runner.stop().await;
}

#[tokio::test]
async fn a_stopped_instance_stops_its_node_and_a_started_one_runs_again_at_the_same_address() {
    let w = World::new().await;
    let runner = w.runner().await;
    let (id, _, _) = w.launch().await;
    let first = runner.wait_node(&id, "the node to run", running_with_agent).await;
    let first_pid = first["agent_pid"].as_u64().unwrap() as u32;

    w.ec2.client.stop_instances().instance_ids(&id).send().await.unwrap();
    runner
        .wait_node(&id, "the node to stop", |n| n["state"] == "stopped" && n["agent_pid"].is_null())
        .await;
    assert!(!pid_alive(first_pid));

    w.ec2.client.start_instances().instance_ids(&id).send().await.unwrap();
    let again = runner
        .wait_node(&id, "the node to run again", |n| {
            running_with_agent(n) && n["agent_pid"] != first["agent_pid"]
        })
        .await;
    assert_eq!(again["address"], first["address"]);
    assert_eq!(again["restarts"], 0, "an instance start is not an agent crash");
    w.ec2.terminate(&id).await;
    runner.stop().await;
}

#[tokio::test]
async fn nodes_keep_running_while_ec2_does_not_answer() {
    let w = World::new().await;
    let proxy = support::proxy::Proxy::start(&w.ec2.moto).await;
    let runner = Runner::start(&RunnerArgs {
        moto: &proxy.url,
        region: REGION,
        state_dir: &w.state,
        agent_bin: &w.agent,
        cp_url: &w.cp_url,
        node_port: w.port,
    })
    .await;
    let (id, _, _) = w.launch().await;
    let before = runner.wait_node(&id, "the node to run", running_with_agent).await;

    proxy.set_up(false);
    // Several polls fail (each region listing is a refused connection) ...
    support::eventually("several listings to fail", || {
        let n = proxy.refused();
        ((n >= 4).then_some(()), format!("{n} refused"))
    })
    .await;
    assert!(runner.log_text().contains("cannot list instances"), "{}", runner.log_text());
    // ... and the node still runs, untouched.
    let during = runner.nodes().into_iter().find(|n| n["instance_id"] == id.as_str()).unwrap();
    assert!(running_with_agent(&during), "{during}");
    assert_eq!(during["agent_pid"], before["agent_pid"]);

    proxy.set_up(true);
    w.ec2.terminate(&id).await;
    runner
        .wait_node(&id, "the node to stop once EC2 answers again", |n| n["state"] == "stopped")
        .await;
    runner.stop().await;
}
