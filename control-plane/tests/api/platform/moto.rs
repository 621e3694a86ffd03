//! A moto server for the sweeper tests: the one `./dev test` started (`COFFER_TEST_MOTO_URL`),
//! or one this test process starts on a free port and that dies with it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

struct Moto {
    url: String,
    /// Holds the pipe whose closing (at process exit) stops the server; see `spawn`.
    _child: Option<Mutex<Child>>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// `moto_server` from `$COFFER_VENV`, the repository's `.dev/venv`, or `/tmp/coffer/venv`.
fn binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = std::env::var_os("COFFER_VENV")
        .map(PathBuf::from)
        .into_iter()
        .chain([root.join(".dev/venv"), PathBuf::from("/tmp/coffer/venv")])
        .map(|venv| venv.join("bin/moto_server"));
    let candidates: Vec<PathBuf> = candidates.collect();
    candidates.iter().find(|p| p.exists()).cloned().unwrap_or_else(|| {
        panic!("no moto_server in {candidates:?}: set COFFER_TEST_MOTO_URL or COFFER_VENV")
    })
}

fn free_port() -> u16 {
    let l = TcpListener::bind(("127.0.0.1", 0)).expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

/// Runs moto under a shell that kills it when our end of its stdin closes, which the kernel
/// does when this process exits however it exits: no stray servers after a test run.
fn spawn() -> Moto {
    let port = free_port();
    let bin = binary();
    let child = Command::new("sh")
        .arg("-c")
        .arg(
            r#""$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & m=$!; cat >/dev/null; kill $m; wait $m"#,
        )
        .arg(&bin)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        // Not the test's own output pipes: the test runner would wait for them to close.
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    Moto { url: format!("http://127.0.0.1:{port}"), _child: Some(Mutex::new(child)) }
}

/// The moto endpoint, waiting (with a deadline) until it answers.
pub async fn url() -> String {
    let moto = MOTO.get_or_init(|| match std::env::var("COFFER_TEST_MOTO_URL") {
        Ok(url) if !url.is_empty() => Moto { url, _child: None },
        _ => spawn(),
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = reqwest::Client::new();
    loop {
        // Any HTTP answer means the server is up.
        if client.get(format!("{}/moto-api/", moto.url)).send().await.is_ok() {
            return moto.url.clone();
        }
        assert!(Instant::now() < deadline, "moto at {} did not come up within 60 s", moto.url);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
