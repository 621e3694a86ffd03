//! `coffer-control-plane serve|migrate [--config FILE]`, and the admin command
//! `coffer-control-plane operator create --email E [--config FILE]` (password from
//! `COFFER_OPERATOR_PASSWORD` or stdin).
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use coffer_control_plane::config::Settings;
use coffer_control_plane::startup::Application;
use coffer_control_plane::{platform, store, telemetry};
use tokio_util::sync::CancellationToken;

const USAGE: &str = "usage: coffer-control-plane <serve|migrate> [--config FILE]\n       \
                     coffer-control-plane operator create --email EMAIL [--config FILE]";

enum Command {
    Serve,
    Migrate,
    /// Creates a platform operator account.
    OperatorCreate {
        email: String,
    },
}

fn parse_args() -> anyhow::Result<(Command, Option<PathBuf>)> {
    let mut args = std::env::args().skip(1);
    let command = match args.next().as_deref() {
        Some("serve") => Command::Serve,
        Some("migrate") => Command::Migrate,
        Some("operator") if args.next().as_deref() == Some("create") => {
            Command::OperatorCreate { email: String::new() }
        }
        _ => bail!(USAGE),
    };
    let mut config = None;
    let mut email = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = Some(PathBuf::from(args.next().context(USAGE)?)),
            "--email" if matches!(command, Command::OperatorCreate { .. }) => {
                email = Some(args.next().context(USAGE)?)
            }
            _ => bail!(USAGE),
        }
    }
    let command = match command {
        Command::OperatorCreate { .. } => Command::OperatorCreate { email: email.context(USAGE)? },
        other => other,
    };
    Ok((command, config))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (command, config) = parse_args()?;
    let settings = Settings::load(config.as_deref())?;
    let _telemetry = telemetry::init(&settings.telemetry);
    match command {
        Command::Migrate => {
            let pool = store::connect(&settings.database).await?;
            store::migrate(&pool).await?;
            tracing::info!("migrations applied");
        }
        Command::OperatorCreate { email } => {
            let password = platform::admin::read_password()?;
            let created = platform::admin::create_operator(&settings, &email, password).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "created operator {} ({})", created.email, created.id)?;
        }
        Command::Serve => {
            let app = Application::build(settings).await?;
            let shutdown = CancellationToken::new();
            tokio::spawn(cancel_on_signal(shutdown.clone()));
            app.run_until_stopped(shutdown).await?;
        }
    }
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
    shutdown.cancel();
}
