//! The `coffer-server` binary: parse Vault-style flags, load the HCL config (or dev mode),
//! serve until SIGINT/SIGTERM.
#![forbid(unsafe_code)]

use anyhow::Context as _;
use coffer_server::cli::{self, Command, ServerArgs};
use coffer_server::{Config, Server};
use std::io::Write as _;
use tokio_util::sync::CancellationToken;

fn main() -> anyhow::Result<()> {
    let cmd = cli::parse(std::env::args().skip(1))?;
    let args = match cmd {
        Command::Help => {
            writeln!(std::io::stdout(), "{}", cli::USAGE)?;
            return Ok(());
        }
        Command::Version => {
            writeln!(std::io::stdout(), "Coffer v{}", coffer_server::core::VERSION)?;
            return Ok(());
        }
        Command::Server(a) => a,
    };
    init_tracing(args.log_level.as_deref());
    let config = load_config(&args)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Durable writes queue on redb's single writer; a bounded pool caps memory under a
        // write storm instead of parking hundreds of threads on the same lock.
        .max_blocking_threads(64)
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(config))
}

fn init_tracing(level: Option<&str>) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COFFER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level.unwrap_or("info")));
    // Colour only on a terminal: log shippers reading a file or pipe get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

fn load_config(args: &ServerArgs) -> anyhow::Result<Config> {
    if args.dev {
        // Like Vault, the environment fills in flags that were not given.
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let addr = args
            .dev_listen_address
            .clone()
            .or_else(|| env("VAULT_DEV_LISTEN_ADDRESS"))
            .unwrap_or_else(|| coffer_server::config::DEFAULT_ADDRESS.to_owned());
        let token = args.dev_root_token_id.clone().or_else(|| env("VAULT_DEV_ROOT_TOKEN_ID"));
        return Ok(Config::dev(&addr, token));
    }
    let path = args.config.as_deref().context("-config is required")?;
    coffer_server::config::load(std::path::Path::new(path))
        .with_context(|| format!("invalid config {path}"))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let server = Server::build(config).await?;
    let addr = server.local_addr().context("no listener configured")?;
    if let Some(dev) = server.dev_credentials() {
        // Dev mode prints its credentials, exactly as Vault's dev server does.
        let scheme = if server.is_tls() { "https" } else { "http" };
        let mut out = std::io::stdout().lock();
        writeln!(out, "==> Coffer server started in dev mode (in-memory storage, unsealed).")?;
        writeln!(out, "WARNING! dev mode is enabled! Never use it in production.")?;
        writeln!(out)?;
        writeln!(out, "    $ export VAULT_ADDR='{scheme}://{addr}'")?;
        writeln!(out)?;
        writeln!(out, "Unseal Key: {}", dev.unseal_key_b64)?;
        writeln!(out, "Root Token: {}", dev.root_token)?;
        writeln!(out)?;
        out.flush()?;
    }
    tracing::info!(address = %addr, "coffer server started");
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown signal received");
        c.cancel();
    });
    server.run(cancel).await;
    tracing::info!("coffer server stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
