//! The `coffer-control-plane` binary as an operator runs it: `migrate` and `serve` with a TOML
//! config file or `COFFER_` environment variables, and a clean exit on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::helpers::fresh_database;

const BIN: &str = env!("CARGO_BIN_EXE_coffer-control-plane");

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    // Only what the test sets: a developer's own COFFER_* variables must not leak in.
    cmd.args(args).env_clear().env("NO_COLOR", "1").kill_on_drop(true);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// Forwards every output line of `child` (stdout and stderr) into a channel.
fn output_lines(child: &mut Child) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
            }
        });
    }
    rx
}

/// Removes ANSI escape sequences, in case the binary colours its logs anyway.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads lines until the "listening" log line and returns the address it names.
async fn listening_addr(lines: &mut mpsc::UnboundedReceiver<String>) -> String {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.recv().await {
            let line = strip_ansi(&line);
            if line.contains("listening") {
                if let Some(pos) = line.find("addr=") {
                    let addr: String = line[pos + 5..]
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect();
                    return Some(addr);
                }
            }
            seen.push(line);
        }
        None
    })
    .await;
    match found {
        Ok(Some(addr)) => addr,
        _ => panic!("serve never logged its listening address; output:\n{}", seen.join("\n")),
    }
}

#[tokio::test]
async fn migrate_then_serve_from_a_config_file_and_stop_on_sigterm() {
    let (url, _) = fresh_database().await;
    let dir = std::env::temp_dir().join(format!("coffer-cp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("control-plane.toml");
    let key = dir.join("msp.key");
    let toml = format!(
        "[database]\nurl = \"{url}\"\n\n[http]\nlisten_addr = \"127.0.0.1:0\"\n\n[msp]\n\
         signing_key_file = \"{}\"\ngenerate_if_missing = true\n",
        key.display()
    );
    std::fs::write(&config, toml).expect("write config");
    let config = config.to_str().expect("utf-8 path");

    let migrate = command(&["migrate", "--config", config]).output().await.expect("run migrate");
    assert!(
        migrate.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.expect("connect");
    let (version,): (String,) =
        sqlx::query_as("SELECT version FROM releases ORDER BY version DESC LIMIT 1")
            .fetch_one(&mut db)
            .await
            .expect("releases seeded");
    assert_eq!(version, "1.0.0");
    // Migrating again is a no-op, not an error.
    let again = command(&["migrate", "--config", config]).output().await.expect("run migrate");
    assert!(
        again.status.success(),
        "second migrate failed: {}",
        String::from_utf8_lossy(&again.stderr)
    );

    let mut child = command(&["serve", "--config", config]).spawn().expect("spawn serve");
    let mut lines = output_lines(&mut child);
    let addr = listening_addr(&mut lines).await;
    let health = reqwest::get(format!("http://{addr}/v1/health")).await.expect("health request");
    assert_eq!(health.status().as_u16(), 200);

    let pid = child.id().expect("serve pid").to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().await.expect("run kill");
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("serve did not exit after SIGTERM")
        .expect("wait for serve");
    assert!(status.success(), "serve exited with {status}");
    assert!(key.exists(), "serve generated no MSP signing key");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn serve_reads_environment_variables() {
    let (url, _) = fresh_database().await;
    let key =
        std::env::temp_dir().join(format!("coffer-msp-{}.key", uuid::Uuid::new_v4().simple()));
    let mut child = command(&["serve"])
        .env("COFFER_DATABASE__URL", &url)
        .env("COFFER_HTTP__LISTEN_ADDR", "127.0.0.1:0")
        .env("COFFER_MSP__SIGNING_KEY_FILE", &key)
        .env("COFFER_MSP__GENERATE_IF_MISSING", "true")
        .spawn()
        .expect("spawn serve");
    let mut lines = output_lines(&mut child);
    let addr = listening_addr(&mut lines).await;
    let health = reqwest::get(format!("http://{addr}/v1/health")).await.expect("health request");
    assert_eq!(health.status().as_u16(), 200);
    let pid = child.id().expect("serve pid").to_string();
    Command::new("kill").args(["-INT", &pid]).status().await.expect("run kill");
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("no exit on SIGINT")
        .expect("wait");
    assert!(status.success(), "serve exited with {status}");
    std::fs::remove_file(&key).expect("serve generated the MSP key named in the environment");
}

#[tokio::test]
async fn bad_invocations_fail_without_revealing_secrets() {
    let check =
        |args: &'static [&'static str], env: &'static [(&'static str, &'static str)]| (args, env);
    let secret_url = "postgres://coffer:hunter2-secret@127.0.0.1:1/coffer"; // tidy: not-a-port
    let cases = [
        check(&[], &[]),
        check(&["frobnicate"], &[]),
        check(&["serve", "--config"], &[]),
        check(&["serve", "--config", "/nonexistent/coffer.toml"], &[]),
        // No database URL at all.
        check(&["serve"], &[]),
    ];
    for (args, env) in cases {
        let mut cmd = command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
            .await
            .expect("exits")
            .expect("run");
        assert!(!out.status.success(), "{args:?} succeeded");
    }
    // An unreachable database fails start-up, and the error never prints the password.
    let out = command(&["migrate"])
        .env("COFFER_DATABASE__URL", secret_url)
        .env("COFFER_DATABASE__CONNECT_TIMEOUT_SECS", "2")
        .output();
    let out =
        tokio::time::timeout(Duration::from_secs(30), out).await.expect("exits").expect("run");
    assert!(!out.status.success(), "migrate against a closed port succeeded");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("hunter2-secret"), "the database password was printed:\n{text}");
}
