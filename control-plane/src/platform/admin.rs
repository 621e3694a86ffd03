//! The `coffer-control-plane operator create` admin command: the only way to create a platform
//! operator. Deliberately not an API: creating the first operator must not depend on an
//! operator already existing, and whoever can run this command already holds the database
//! credentials.
//!
//! The password comes from `COFFER_OPERATOR_PASSWORD` or stdin (one line; on a terminal with
//! echo turned off), never from the command line where `ps` and shell history would see it,
//! and is never printed.

use std::io::{BufRead as _, IsTerminal as _, Read as _, Write as _};

use secrecy::SecretString;

use super::{CreatedOperator, Platform, PlatformError};
use crate::config::Settings;
use crate::store;

pub const PASSWORD_ENV: &str = "COFFER_OPERATOR_PASSWORD";

/// Longest accepted line; the password policy allows far less.
const MAX_LINE: u64 = 4096;

/// The new operator's password from the environment or stdin.
pub fn read_password() -> Result<SecretString, PlatformError> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        if !p.is_empty() {
            return Ok(SecretString::from(p));
        }
    }
    let stdin = std::io::stdin();
    let _echo = if stdin.is_terminal() {
        let mut err = std::io::stderr();
        let _ = write!(err, "Password for the new operator: ");
        let _ = err.flush();
        Some(EchoOff::new())
    } else {
        None
    };
    let mut line = String::new();
    stdin.lock().take(MAX_LINE).read_line(&mut line).map_err(|e| {
        PlatformError::Invalid(format!("could not read the password from stdin: {e}"))
    })?;
    if _echo.is_some() {
        let _ = writeln!(std::io::stderr());
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(PlatformError::Invalid(format!(
            "no password: set {PASSWORD_ENV} or write it to stdin"
        )));
    }
    Ok(SecretString::from(password.to_owned()))
}

/// Connects, applies migrations (the table may be new) and creates the operator.
pub async fn create_operator(
    settings: &Settings,
    email: &str,
    password: SecretString,
) -> Result<CreatedOperator, PlatformError> {
    let pool = store::connect(&settings.database).await?;
    store::migrate(&pool).await?;
    let platform = Platform::new(
        pool.clone(),
        &settings.platform,
        settings.auth.password_hash,
        Default::default(),
    )?;
    let created = platform.create_operator(email, password).await;
    pool.close().await;
    created
}

/// Turns terminal echo off for as long as it lives (through `stty`, which acts on the
/// terminal inherited as its stdin). Best effort: without `stty` the prompt still works.
struct EchoOff {
    active: bool,
}

impl EchoOff {
    fn new() -> EchoOff {
        let active = stty("-echo");
        EchoOff { active }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if self.active {
            stty("echo");
        }
    }
}

fn stty(arg: &str) -> bool {
    std::process::Command::new("stty")
        .arg(arg)
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}
