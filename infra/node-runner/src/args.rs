//! The runner's command line, parsed into a [`RunnerConfig`].
//!
//! Plain flag parsing (no CLI framework) keeps this local-only tool cheap to build; the parser is
//! a pure function of the arguments and an environment lookup so it is tested as a table.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "usage: coffer-node-runner --aws-endpoint URL --regions R1,R2 \
--state-dir DIR --agent-bin PATH --server-bin PATH [--node-port 8200] [--poll-ms 500] \
[--control-plane-url URL] [--stop-timeout-ms 15000]";

/// Everything the runner needs to know, resolved once at start-up.
#[derive(Clone, PartialEq, Eq)]
pub struct RunnerConfig {
    /// The EC2 (moto) endpoint the runner watches; agents get it as `AWS_ENDPOINT_URL` too.
    pub aws_endpoint: String,
    pub regions: Vec<String>,
    /// Holds `nodes.json` and one directory per node (`nodes/<instance id>/`).
    pub state_dir: PathBuf,
    pub agent_bin: PathBuf,
    pub server_bin: PathBuf,
    /// The port every node's server listens on, each on its own loopback address.
    pub node_port: u16,
    pub poll: Duration,
    /// Only instances whose bootstrap document names this control plane are run; `None`: all.
    /// Lets several stacks (a developer's and a test run's) share one moto server.
    pub control_plane_url: Option<String>,
    /// How long a node may take to stop after SIGTERM before its process group is killed.
    pub stop_timeout: Duration,
    /// Static credentials for EC2 and for the agents (`AWS_ACCESS_KEY_ID`/`_SECRET_ACCESS_KEY`,
    /// default `test`): a local runtime never uses a real account.
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl fmt::Debug for RunnerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunnerConfig")
            .field("aws_endpoint", &self.aws_endpoint)
            .field("regions", &self.regions)
            .field("state_dir", &self.state_dir)
            .field("agent_bin", &self.agent_bin)
            .field("server_bin", &self.server_bin)
            .field("node_port", &self.node_port)
            .field("poll", &self.poll)
            .field("control_plane_url", &self.control_plane_url)
            .field("stop_timeout", &self.stop_timeout)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl RunnerConfig {
    /// `STATE/nodes.json`.
    pub fn nodes_file(&self) -> PathBuf {
        self.state_dir.join("nodes.json")
    }

    /// `STATE/nodes/<instance id>`: the node's data directory, user data file and agent log.
    pub fn node_dir(&self, instance_id: &str) -> PathBuf {
        self.state_dir.join("nodes").join(instance_id)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}\n{USAGE}")]
pub struct UsageError(String);

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

fn number<T: std::str::FromStr>(name: &str, raw: &str) -> Result<T, UsageError> {
    raw.parse().map_err(|_| usage(format!("{name} {raw:?} is not a valid number")))
}

/// Parses the arguments after the program name; `env` looks up environment variables.
pub fn parse_args<I>(
    args: I,
    env: impl Fn(&str) -> Option<String>,
) -> Result<RunnerConfig, UsageError>
where
    I: IntoIterator<Item = String>,
{
    let mut it = args.into_iter();
    let (mut endpoint, mut regions, mut state, mut agent, mut server) =
        (None, None, None, None, None);
    let (mut port, mut poll, mut cp_url, mut stop) = (None, None, None, None);
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg, None),
        };
        let value = match inline.or_else(|| it.next()) {
            Some(v) if !v.trim().is_empty() => v,
            _ => return Err(usage(format!("{name} needs a value"))),
        };
        let slot = match name.as_str() {
            "--aws-endpoint" => &mut endpoint,
            "--regions" => &mut regions,
            "--state-dir" => &mut state,
            "--agent-bin" => &mut agent,
            "--server-bin" => &mut server,
            "--node-port" => &mut port,
            "--poll-ms" => &mut poll,
            "--control-plane-url" => &mut cp_url,
            "--stop-timeout-ms" => &mut stop,
            _ => return Err(usage(format!("unknown flag {name:?}"))),
        };
        if slot.replace(value).is_some() {
            return Err(usage(format!("{name} given twice")));
        }
    }
    let required =
        |v: Option<String>, name: &str| v.ok_or_else(|| usage(format!("{name} is required")));
    let regions: Vec<String> = required(regions, "--regions")?
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    if regions.is_empty() {
        return Err(usage("--regions names no region"));
    }
    let node_port: u16 = port.as_deref().map_or(Ok(8200), |p| number("--node-port", p))?;
    if node_port == 0 {
        return Err(usage("--node-port must not be 0: agents need a port they can advertise"));
    }
    let poll_ms: u64 = poll.as_deref().map_or(Ok(500), |p| number("--poll-ms", p))?;
    if poll_ms < 10 {
        return Err(usage("--poll-ms must be at least 10"));
    }
    let stop_ms: u64 = stop.as_deref().map_or(Ok(15_000), |p| number("--stop-timeout-ms", p))?;
    let credential =
        |k: &str| env(k).filter(|v| !v.is_empty()).unwrap_or_else(|| "test".to_owned());
    Ok(RunnerConfig {
        aws_endpoint: required(endpoint, "--aws-endpoint")?,
        regions,
        state_dir: required(state, "--state-dir")?.into(),
        agent_bin: required(agent, "--agent-bin")?.into(),
        server_bin: required(server, "--server-bin")?.into(),
        node_port,
        poll: Duration::from_millis(poll_ms),
        control_plane_url: cp_url.map(|u| u.trim_end_matches('/').to_owned()),
        stop_timeout: Duration::from_millis(stop_ms),
        access_key_id: credential("AWS_ACCESS_KEY_ID"),
        secret_access_key: credential("AWS_SECRET_ACCESS_KEY"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str =
        "--aws-endpoint http://127.0.0.1:9 --state-dir /s --agent-bin /a --server-bin /b";

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    /// Regions, node port, poll ms, control plane url.
    type Parsed<'a> = (&'a [&'a str], u16, u64, Option<&'a str>);

    /// `expect`: the parsed fields, or the start of the error.
    fn check(line: &str, expect: Result<Parsed<'_>, &str>) {
        let env = |k: &str| (k == "AWS_SECRET_ACCESS_KEY").then(|| "s3cret".to_owned());
        match (parse_args(args(line), env), expect) {
            (Ok(c), Ok((regions, port, poll, cp))) => {
                assert_eq!(c.regions, regions, "{line}");
                assert_eq!(c.node_port, port, "{line}");
                assert_eq!(c.poll, Duration::from_millis(poll), "{line}");
                assert_eq!(c.control_plane_url.as_deref(), cp, "{line}");
                assert_eq!(c.access_key_id, "test");
                assert_eq!(c.secret_access_key, "s3cret");
                assert_eq!(c.nodes_file(), PathBuf::from("/s/nodes.json"));
                assert_eq!(c.node_dir("i-1"), PathBuf::from("/s/nodes/i-1"));
            }
            (Err(UsageError(m)), Err(want)) => assert!(m.starts_with(want), "{m:?} !~ {want:?}"),
            (got, want) => panic!("{line}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn command_line() {
        check(&format!("{BASE} --regions us-east-1"), Ok((&["us-east-1"], 8200, 500, None)));
        check(
            &format!("{BASE} --regions=us-east-1,,eu-west-1 --node-port 9200 --poll-ms=50"),
            Ok((&["us-east-1", "eu-west-1"], 9200, 50, None)),
        );
        check(
            &format!("{BASE} --regions r --control-plane-url http://127.0.0.1:8080/"),
            Ok((&["r"], 8200, 500, Some("http://127.0.0.1:8080"))),
        );
        check(BASE, Err("--regions is required"));
        check(&format!("{BASE} --regions ,"), Err("--regions names no region"));
        check(&format!("{BASE} --regions r --node-port 0"), Err("--node-port must not be 0"));
        check(
            &format!("{BASE} --regions r --node-port 70000"),
            Err("--node-port \"70000\" is not"),
        );
        check(&format!("{BASE} --regions r --poll-ms 5"), Err("--poll-ms must be at least 10"));
        check(&format!("{BASE} --regions r --frob 1"), Err("unknown flag \"--frob\""));
        check(&format!("{BASE} --regions r --regions s"), Err("--regions given twice"));
        check(&format!("{BASE} --regions"), Err("--regions needs a value"));
        check(
            "--regions r --state-dir /s --agent-bin /a --server-bin /b",
            Err("--aws-endpoint is required"),
        );
    }

    #[test]
    fn debug_output_hides_the_secret_key() {
        let env = |k: &str| (k == "AWS_SECRET_ACCESS_KEY").then(|| "hunter2".to_owned());
        let c = parse_args(args(&format!("{BASE} --regions r")), env);
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
