//! `coffer-agent` binary: parses the command line, sets up logging, runs the agent.
#![forbid(unsafe_code)]

use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COFFER_AGENT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cfg =
        coffer_agent::config::parse_args(std::env::args().skip(1), |k| std::env::var(k).ok())?;
    coffer_agent::run(cfg).await.context("coffer-agent failed")
}
