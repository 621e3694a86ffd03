//! One moto server (AWS APIs on loopback) per test process: the one `./dev test` started
//! (`COFFER_TEST_MOTO_URL`), or one started here on a free port that dies with the process.
//!
//! Shared, not one per test: moto takes seconds to start, and the tests already isolate
//! themselves by unique names (keys, buckets, cluster ids, regions), as they must against the
//! `./dev test` server anyway.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::{net, wait};

/// How long a server may take to answer: moto imports a lot of Python on a loaded machine.
const START_WITHIN: Duration = Duration::from_secs(60);
/// Starts on fresh ports after a server exited at once (most likely: another process took the
/// port between `free_port` and moto's bind).
const ATTEMPTS: usize = 3;

/// Runs moto under a shell that kills it when our end of the shell's stdin closes, which the
/// kernel does when this process exits however it exits (even SIGKILL): no stray servers after
/// a test run. The shell itself exits when moto does, so a failed start shows at once.
/// (`cat` runs in the background on a copy of stdin: a background job's own stdin is
/// /dev/null.)
const SUPERVISOR: &str = r#"exec 3<&0; "$0" -H 127.0.0.1 -p "$1" </dev/null >/dev/null 2>&1 3<&- & m=$!; { cat >/dev/null; kill $m 2>/dev/null; } <&3 & exec 3<&-; wait $m"#;

struct Moto {
    url: String,
    /// For a server started here: the supervising shell, whose stdin pipe closing (at process
    /// exit, as the static is never dropped) stops the server.
    _supervisor: Option<Child>,
}

static MOTO: OnceCell<Moto> = OnceCell::const_new();

/// The moto endpoint (`http://host:port`, no trailing slash for a started one), once it accepts
/// connections. Panics when there is none: `COFFER_TEST_MOTO_URL` unset and no `moto_server`.
pub async fn url() -> String {
    match try_url().await {
        Some(url) => url,
        None => panic!(
            "no moto: set COFFER_TEST_MOTO_URL or install moto_server (./dev test does both); \
             looked for it at {:?}",
            candidates()
        ),
    }
}

/// As [`url`], but `None` instead of a panic when there is no moto to use, for suites that
/// skip rather than fail on a machine without one.
pub async fn try_url() -> Option<String> {
    if let Some(moto) = MOTO.get() {
        return Some(moto.url.clone());
    }
    let moto = match std::env::var("COFFER_TEST_MOTO_URL") {
        Ok(url) if !url.is_empty() => MOTO.get_or_init(|| external(url)).await,
        _ => {
            let binary = binary()?;
            MOTO.get_or_init(|| async move { start(&binary).await }).await
        }
    };
    Some(moto.url.clone())
}

/// A server someone else runs: waits until it accepts connections.
async fn external(url: String) -> Moto {
    let addr = authority(&url);
    let what = format!("moto at {url} to accept connections");
    wait::until(&what, START_WITHIN, || tokio::net::TcpStream::connect(addr.as_str())).await;
    Moto { url, _supervisor: None }
}

/// Where `moto_server` may be, in order: `$COFFER_MOTO_SERVER` (the binary itself),
/// `$COFFER_VENV`, the repository's `.dev/venv`, the shared `/tmp/coffer/venv`, then `PATH`.
fn candidates() -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Some(binary) = std::env::var_os("COFFER_MOTO_SERVER") {
        found.push(PathBuf::from(binary));
    }
    if let Some(venv) = std::env::var_os("COFFER_VENV") {
        found.push(PathBuf::from(venv).join("bin/moto_server"));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    found.push(root.join(".dev/venv/bin/moto_server"));
    found.push(PathBuf::from("/tmp/coffer/venv/bin/moto_server"));
    if let Some(path) = std::env::var_os("PATH") {
        found.extend(std::env::split_paths(&path).map(|dir| dir.join("moto_server")));
    }
    found
}

fn binary() -> Option<PathBuf> {
    candidates().into_iter().find(|p| p.is_file())
}

/// Starts `binary` (called as `binary -H 127.0.0.1 -p PORT`) under [`SUPERVISOR`] and waits
/// until it accepts connections, on a new port when it exits first.
async fn start(binary: &Path) -> Moto {
    for _ in 0..ATTEMPTS {
        let port = net::free_port();
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(SUPERVISOR)
            .arg(binary)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            // Not the test's own output pipes: the test runner would wait for them to close.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start sh for {}: {e}", binary.display()));
        let deadline = Instant::now() + START_WITHIN;
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                let url = format!("http://127.0.0.1:{port}");
                return Moto { url, _supervisor: Some(shell) };
            }
            match shell.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) => {}
                Err(e) => panic!("status of {}: {e}", binary.display()),
            }
            assert!(
                Instant::now() < deadline,
                "{} did not accept connections on port {port} within {START_WITHIN:?}",
                binary.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("{} exited at start {ATTEMPTS} times (port taken? broken venv?)", binary.display())
}

/// `host:port` of an `http(s)://[user@]host[:port][/path]` URL, with the scheme's default port.
fn authority(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    let has_port = host_port
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if has_port {
        host_port.to_owned()
    } else {
        let default = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
        format!("{host_port}:{default}")
    }
}

#[cfg(test)]
mod tests;
