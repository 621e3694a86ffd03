use std::path::Path;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

#[test]
fn authority_is_host_and_port_with_the_scheme_default() {
    let check = |url: &str, expect: &str| assert_eq!(authority(url), expect, "{url}");
    check("http://localhost:4566", "localhost:4566");
    check("http://localhost:4566/", "localhost:4566");
    check("http://moto.local:5000/moto-api/?x=1", "moto.local:5000");
    check("http://user:pw@moto.local:5000/path", "moto.local:5000");
    check("http://moto.local", "moto.local:80");
    check("https://moto.local/x", "moto.local:443");
    check("http://[::1]:5000", "[::1]:5000");
    check("http://[::1]", "[::1]:80");
    check("moto.local:5000", "moto.local:5000");
}

/// A stand-in for `moto_server` that fails its first `fails` starts (as on a taken port), then
/// listens on the `-p` port and records its pid. Paths are baked in: tests must not set_var.
fn fake_server(dir: &Path, fails: u32) -> PathBuf {
    let count = dir.join("starts");
    let pid = dir.join("pid");
    let script = format!(
        r#"#!/bin/sh
n=$(cat '{count}' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '{count}'
[ $n -le {fails} ] && exit 3
echo $$ > '{pid}'
exec python3 -c 'import socket, sys, time
s = socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(); time.sleep(600)' "$2" "$4"
"#,
        count = count.display(),
        pid = pid.display(),
    );
    let path = dir.join("moto_server");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn running(pid: &str) -> bool {
    // A zombie has stopped; /proc/PID/stat says Z after the command name.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

#[tokio::test]
async fn a_started_server_retries_fresh_ports_and_stops_when_the_pipe_closes() {
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_server(dir.path(), 2);
    let moto = start(&binary).await;

    let starts = std::fs::read_to_string(dir.path().join("starts")).unwrap();
    assert_eq!(starts.trim(), "3", "two failed starts, then one that listens");
    let addr = authority(&moto.url);
    assert!(moto.url.starts_with("http://127.0.0.1:"), "{}", moto.url);
    tokio::net::TcpStream::connect(addr.as_str()).await.expect("the server listens");
    let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap().trim().to_owned();
    assert!(running(&pid));

    // What process exit does to the pipe: the supervisor stops the server.
    drop(moto);
    wait::until("the server to stop", START_WITHIN, || std::future::ready(!running(&pid))).await;
}

#[tokio::test]
async fn a_server_that_never_starts_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_server(dir.path(), u32::MAX);
    let outcome = tokio::spawn(async move { start(&binary).await.url }).await;
    let panic = outcome.expect_err("start gives up").into_panic();
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(message.contains("exited at start 3 times"), "{message}");
}

/// The real thing, as every suite uses it: moto from `./dev test` or from the venv.
#[tokio::test]
async fn url_answers_http_like_moto() {
    let url = url().await;
    assert_eq!(url, try_url().await.expect("the same server"), "one server per process");
    let mut conn = tokio::net::TcpStream::connect(authority(&url)).await.unwrap();
    conn.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: moto\r\n\r\n").await.unwrap();
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).await.unwrap();
    assert!(head.starts_with(b"HTTP/1."), "{}", String::from_utf8_lossy(&head));
}
