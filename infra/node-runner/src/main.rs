//! `coffer-node-runner` binary: parses the command line, sets up logging, runs the reconcile
//! loop until SIGTERM or Ctrl-C, then stops every node it started.
#![forbid(unsafe_code)]

use std::io::IsTerminal as _;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COFFER_NODE_RUNNER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,aws=warn,hyper=warn")),
        )
        .init();
    let cfg = coffer_node_runner::parse_args(std::env::args().skip(1), |k| std::env::var(k).ok())?;
    let cancel = CancellationToken::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutdown requested");
        on_signal.cancel();
    });
    coffer_node_runner::run(cfg, cancel).await.context("coffer-node-runner failed")
}
