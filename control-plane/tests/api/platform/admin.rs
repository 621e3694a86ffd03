//! `coffer-control-plane operator create --email E`: the admin command that creates operators.
//! The password comes from stdin or `COFFER_OPERATOR_PASSWORD` and never appears in output.

use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use super::support::operator_login;
use crate::helpers::{admin_url, spawn_app, unique_email, with_database, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_coffer-control-plane");
const SECRET: &str = "operator-password-under-test";

/// Runs the binary with only the test's environment, feeding `stdin`.
async fn run(app: &TestApp, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let url = with_database(&admin_url(), &app.db_name);
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("NO_COLOR", "1")
        .env("COFFER_DATABASE__URL", url)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn the binary");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).await.expect("write stdin");
    drop(input);
    child.wait_with_output().await.expect("wait for the binary")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test]
async fn operator_create_reads_stdin_or_env_and_never_prints_the_password() {
    let app = spawn_app().await;
    let from_stdin = unique_email();
    let out =
        run(&app, &["operator", "create", "--email", &from_stdin], &[], &format!("{SECRET}\n"))
            .await;
    assert!(out.status.success(), "operator create failed: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&from_stdin), "{}", text(&out));
    assert!(!text(&out).contains(SECRET), "password printed: {}", text(&out));
    operator_login(&app, &from_stdin, SECRET).await.expect(200);

    let from_env = unique_email();
    let out = run(
        &app,
        &["operator", "create", "--email", &from_env],
        &[("COFFER_OPERATOR_PASSWORD", SECRET)],
        "",
    )
    .await;
    assert!(out.status.success(), "operator create failed: {}", text(&out));
    assert!(!text(&out).contains(SECRET), "password printed: {}", text(&out));
    operator_login(&app, &from_env, SECRET).await.expect(200);
    // An operator is not a customer.
    app.login(&from_env, SECRET).await.expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn operator_create_failures_table() {
    let app = spawn_app().await;
    let taken = unique_email();
    let line = format!("{SECRET}\n");
    let out = run(&app, &["operator", "create", "--email", &taken], &[], &line).await;
    assert!(out.status.success(), "{}", text(&out));

    let fresh = unique_email();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["operator", "create", "--email", &taken], line.as_str(), "already exists"),
        (vec!["operator", "create", "--email", &fresh], "short\n", "at least 12"),
        (vec!["operator", "create", "--email", &fresh], "", "no password"),
        (vec!["operator", "create", "--email", "not-an-email"], line.as_str(), "valid address"),
        (vec!["operator", "create"], line.as_str(), "usage"),
        (vec!["operator", "delete", "--email", &fresh], line.as_str(), "usage"),
        (vec!["migrate", "--email", &fresh], line.as_str(), "usage"),
    ];
    for (args, stdin, expect) in cases {
        let out = run(&app, &args, &[], stdin).await;
        let all = text(&out);
        assert!(!out.status.success(), "{args:?} succeeded: {all}");
        assert!(all.contains(expect), "{args:?}: expected {expect:?} in: {all}");
        assert!(!all.contains(SECRET), "{args:?} printed the password: {all}");
    }
    // None of the failures created an account.
    operator_login(&app, &fresh, SECRET).await.expect_error(401, "unauthenticated");
}
