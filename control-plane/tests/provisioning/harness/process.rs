//! The control plane as the operator runs it: the built binary, configured only through
//! `COFFER_*` environment variables, as a child process this test can crash and restart.
//!
//! Output lines are kept (bounded) so a failing test can show what the process logged.

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::aws::ADMIN_ARN;

const BIN: &str = env!("CARGO_BIN_EXE_coffer-control-plane");
const KEPT_LINES: usize = 400;

/// How to start a control-plane process.
#[derive(Clone, Debug)]
pub struct CpConfig {
    pub database_url: String,
    /// Where the engine sends every AWS call (moto, or the fault proxy in front of it).
    pub aws_endpoint: String,
    /// `COFFER_FAULT_EXIT_AFTER_STEP`.
    pub exit_after_step: Option<String>,
    /// Extra `COFFER_*` variables, applied last.
    pub env: Vec<(String, String)>,
    /// The MSP signing key a deployment must configure; generated on first start.
    pub msp_key_file: String,
}

impl CpConfig {
    pub fn new(database_url: &str, aws_endpoint: &str) -> CpConfig {
        CpConfig {
            database_url: database_url.to_owned(),
            aws_endpoint: aws_endpoint.to_owned(),
            exit_after_step: None,
            env: Vec::new(),
            msp_key_file: std::env::temp_dir()
                .join(format!("coffer-test-msp-{}.key", uuid::Uuid::new_v4().simple()))
                .display()
                .to_string(),
        }
    }

    pub fn set(mut self, key: &str, value: impl ToString) -> CpConfig {
        self.env.push((key.to_owned(), value.to_string()));
        self
    }

    fn vars(&self) -> Vec<(String, String)> {
        let fixed = [
            ("COFFER_DATABASE__URL", self.database_url.as_str()),
            ("COFFER_HTTP__LISTEN_ADDR", "127.0.0.1:0"),
            ("COFFER_TELEMETRY__LOG_FILTER", "info,sqlx=warn,aws=warn,hyper=warn"),
            ("COFFER_PROVISIONING__ENABLED", "true"),
            // Short intervals so tests (and the benchmark) are not dominated by waiting.
            ("COFFER_PROVISIONING__POLL_INTERVAL_MS", "50"),
            ("COFFER_PROVISIONING__LEASE_DURATION_MS", "1500"),
            ("COFFER_PROVISIONING__RETRY__INITIAL_BACKOFF_MS", "20"),
            ("COFFER_PROVISIONING__RETRY__MAX_BACKOFF_MS", "400"),
            ("COFFER_PROVISIONING__RETRY__MAX_ATTEMPTS", "30"),
            ("COFFER_PROVISIONING__AWS__ENDPOINT_URL", self.aws_endpoint.as_str()),
            ("COFFER_PROVISIONING__AWS__ACCESS_KEY_ID", "test"),
            ("COFFER_PROVISIONING__AWS__SECRET_ACCESS_KEY", "test"),
            ("COFFER_PROVISIONING__AWS__CONTROL_PLANE_PRINCIPAL_ARN", ADMIN_ARN),
            ("COFFER_PROVISIONING__AWS__S3_FORCE_PATH_STYLE", "true"),
            ("COFFER_MSP__SIGNING_KEY_FILE", self.msp_key_file.as_str()),
            ("COFFER_MSP__GENERATE_IF_MISSING", "true"),
        ];
        let mut vars: Vec<(String, String)> =
            fixed.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        vars.extend(self.env.iter().cloned());
        vars
    }
}

/// A running control-plane process. Killed when dropped.
pub struct CpProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub pid: u32,
    lines: Arc<Mutex<VecDeque<String>>>,
    claims: Arc<AtomicU64>,
}

/// What the engine logs each time this replica claims an operation.
const CLAIM_LINE: &str = "claimed operation";

type Kept = (Arc<Mutex<VecDeque<String>>>, Arc<AtomicU64>, mpsc::UnboundedReceiver<String>);

fn keep_lines(child: &mut Child) -> Kept {
    let kept = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_LINES)));
    let claims = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::unbounded_channel();
    let pipes: Vec<Box<dyn tokio::io::AsyncRead + Unpin + Send>> = [
        child.stdout.take().map(|o| Box::new(o) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        child.stderr.take().map(|e| Box::new(e) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    for pipe in pipes {
        let (kept, claims, tx) = (kept.clone(), claims.clone(), tx.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains(CLAIM_LINE) {
                    claims.fetch_add(1, Ordering::Relaxed);
                }
                {
                    let mut k = kept.lock().unwrap();
                    if k.len() == KEPT_LINES {
                        k.pop_front();
                    }
                    k.push_back(line.clone());
                }
                let _ = tx.send(line);
            }
        });
    }
    (kept, claims, rx)
}

/// The address in the "control plane listening addr=..." line.
fn listening_addr(line: &str) -> Option<String> {
    if !line.contains("listening") {
        return None;
    }
    let pos = line.find("addr=")?;
    let addr: String = line[pos + 5..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    (!addr.is_empty()).then_some(addr)
}

impl CpProcess {
    /// Starts the binary and waits (bounded) until it listens.
    pub async fn start(config: &CpConfig) -> CpProcess {
        // COFFER_CP_BIN: run another build of the binary (the benchmark uses a release one).
        let bin = std::env::var("COFFER_CP_BIN").unwrap_or_else(|_| BIN.to_owned());
        let mut cmd = Command::new(bin);
        // Only what the test sets: a developer's own COFFER_* variables must not leak in.
        cmd.arg("serve").env_clear().env("NO_COLOR", "1").kill_on_drop(true);
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        for (k, v) in config.vars() {
            cmd.env(k, v);
        }
        if let Some(step) = &config.exit_after_step {
            cmd.env("COFFER_FAULT_EXIT_AFTER_STEP", step);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
        let mut child = cmd.spawn().expect("spawn the control plane");
        let pid = child.id().expect("child pid");
        let (lines, claims, mut rx) = keep_lines(&mut child);
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = rx.recv().await {
                if let Some(addr) = listening_addr(&line) {
                    return Some(addr);
                }
            }
            None
        })
        .await;
        let proc = CpProcess { child, base: String::new(), pid, lines, claims };
        match found {
            Ok(Some(addr)) => CpProcess { base: format!("http://{addr}"), ..proc },
            _ => panic!("control plane never listened; output:\n{}", proc.output()),
        }
    }

    /// The last lines the process printed.
    pub fn output(&self) -> String {
        let k = self.lines.lock().unwrap();
        k.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// How many operations this process has claimed so far (from its log).
    pub fn claims(&self) -> u64 {
        self.claims.load(Ordering::Relaxed)
    }

    /// Waits (bounded) for the process to exit by itself.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("wait for the control plane"),
            Err(_) => {
                panic!("control plane did not exit within {within:?}; output:\n{}", self.output())
            }
        }
    }

    /// Whether the process has exited (without waiting).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("poll the child")
    }

    /// CPU time (user + system) the process used so far, in clock ticks, from /proc.
    pub fn cpu_ticks(&self) -> u64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).expect("read /proc stat");
        cpu_ticks_from_stat(&stat).expect("parse /proc stat")
    }

    /// SIGTERM and wait for a clean exit.
    pub async fn stop(mut self) {
        let pid = self.pid.to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().await.expect("run kill");
        assert!(ok.success(), "kill -TERM {pid} failed");
        let status = self.wait_exit(Duration::from_secs(20)).await;
        assert!(status.success(), "control plane exited with {status}; output:\n{}", self.output());
    }
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field 2)
/// is parenthesised and may contain spaces, so fields are counted after its closing paren.
pub fn cpu_ticks_from_stat(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime is field 14, so index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[test]
fn cpu_ticks_parse() {
    let check = |input: &str, expect: Option<u64>| {
        assert_eq!(cpu_ticks_from_stat(input), expect, "{input}")
    };
    check("42 (coffer) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 4 0", Some(10));
    check("42 (a b) c) R 1 42 42 0 -1 0 0 0 0 0 120 30 0 0 20 0 1 0", Some(150));
    check("42 (coffer) S 1", None);
    check("garbage", None);
}

#[test]
fn listening_line() {
    let check = |input: &str, expect: Option<&str>| {
        assert_eq!(listening_addr(input).as_deref(), expect, "{input}")
    };
    check("INFO control plane listening addr=127.0.0.1:4321", Some("127.0.0.1:4321")); // tidy: not-a-port
    check("INFO something else addr=127.0.0.1:1", None); // tidy: not-a-port
    check("INFO listening", None);
}
