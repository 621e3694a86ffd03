//! Command-line parsing in Vault's (Go `flag` package) style: `-flag=value`, `-flag value`,
//! single or double dash, boolean flags bare. Hand-written because the grammar is tiny and
//! clap's conventions (long flags need `--`) would break scripts written for `vault`.

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Server(ServerArgs),
    Version,
    Help,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ServerArgs {
    pub config: Option<String>,
    pub dev: bool,
    pub dev_root_token_id: Option<String>,
    pub dev_listen_address: Option<String>,
    pub log_level: Option<String>,
}

pub const USAGE: &str = "Usage: coffer-server server [-config=FILE] [-dev] \
[-dev-root-token-id=ID] [-dev-listen-address=ADDR] [-log-level=LEVEL]";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("unknown command {0:?}\n{USAGE}")]
    UnknownCommand(String),
    #[error("unknown flag {0:?}\n{USAGE}")]
    UnknownFlag(String),
    #[error("flag {0:?} needs a value")]
    MissingValue(String),
    #[error("either -config or -dev is required\n{USAGE}")]
    NoMode,
}

pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, CliError> {
    let mut it = args.into_iter();
    let cmd = match it.next() {
        None => return Ok(Command::Help),
        Some(c) => c,
    };
    match cmd.as_str() {
        "server" => {}
        "version" | "-version" | "--version" | "-v" => return Ok(Command::Version),
        "help" | "-help" | "--help" | "-h" => return Ok(Command::Help),
        _ => return Err(CliError::UnknownCommand(cmd)),
    }
    let mut out = ServerArgs::default();
    while let Some(arg) = it.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(CliError::UnknownFlag(arg));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (flag, None),
        };
        let mut value = |inline: Option<String>| -> Result<String, CliError> {
            match inline {
                Some(v) => Ok(v),
                None => it.next().ok_or_else(|| CliError::MissingValue(name.to_owned())),
            }
        };
        match name {
            "config" => out.config = Some(value(inline)?),
            "dev-root-token-id" => out.dev_root_token_id = Some(value(inline)?),
            "dev-listen-address" => out.dev_listen_address = Some(value(inline)?),
            "log-level" => out.log_level = Some(value(inline)?),
            "dev" => out.dev = inline.map(|v| v != "false").unwrap_or(true),
            "h" | "help" => return Ok(Command::Help),
            _ => return Err(CliError::UnknownFlag(arg)),
        }
    }
    if !out.dev && out.config.is_none() {
        return Err(CliError::NoMode);
    }
    Ok(Command::Server(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str], expect: Result<Command, CliError>) {
        assert_eq!(parse(args.iter().map(|s| s.to_string())), expect, "args {args:?}");
    }

    #[test]
    fn flags() {
        let cfg = |p: &str| ServerArgs { config: Some(p.into()), ..Default::default() };
        check(&["server", "-config=a.hcl"], Ok(Command::Server(cfg("a.hcl"))));
        check(&["server", "--config", "a.hcl"], Ok(Command::Server(cfg("a.hcl"))));
        check(&["server", "-config", "a.hcl"], Ok(Command::Server(cfg("a.hcl"))));
        check(
            &["server", "-dev", "-dev-root-token-id=root", "--dev-listen-address", "127.0.0.1:0"],
            Ok(Command::Server(ServerArgs {
                dev: true,
                dev_root_token_id: Some("root".into()),
                dev_listen_address: Some("127.0.0.1:0".into()),
                ..Default::default()
            })),
        );
        check(&["server"], Err(CliError::NoMode));
        check(&["server", "-config"], Err(CliError::MissingValue("config".into())));
        check(&["server", "-nope"], Err(CliError::UnknownFlag("-nope".into())));
        check(&["server", "stray"], Err(CliError::UnknownFlag("stray".into())));
        check(&["serve"], Err(CliError::UnknownCommand("serve".into())));
        check(&["version"], Ok(Command::Version));
        check(&[], Ok(Command::Help));
    }
}
