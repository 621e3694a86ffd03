//! A moto server for the tests: the one `./dev test` started (`COFFER_TEST_MOTO_URL`), or one
//! this test process starts on a free port and that dies with it.

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

fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("COFFER_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dev = root.join(".dev/venv/bin/moto_server");
    if dev.exists() {
        dev
    } else {
        PathBuf::from("/tmp/coffer/venv/bin/moto_server")
    }
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
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    Moto { url: format!("http://127.0.0.1:{port}"), _child: Some(Mutex::new(child)) }
}

/// The moto endpoint, waiting (with a deadline) until it answers.
pub async fn url() -> String {
    let moto = MOTO.get_or_init(|| match std::env::var("COFFER_TEST_MOTO_URL") {
        Ok(url) => Moto { url, _child: None },
        Err(_) => spawn(),
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
