//! The agent's typed configuration and its command line.
//!
//! `coffer-agent run --bootstrap FILE|--user-data FILE --server-bin PATH --data-dir DIR
//! --listen ADDR [--advertise-addr URL] [--instance-id ID] [--control-plane-ca FILE]`. The CA
//! file (PEM) is trusted for the control plane on top of the system roots and of the bootstrap
//! document's `control_plane_ca_pem`. The advertise address is where
//! customers reach this node's API (reported in heartbeats); it defaults to `http://{listen}`. The KMS endpoint override comes from `AWS_ENDPOINT_URL`
//! (moto in tests, a VPC endpoint in production); credentials come from the AWS default chain
//! (the instance role) unless a caller embeds the agent with explicit ones.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::audit_ship::ShipSettings;

pub const USAGE: &str = "usage: coffer-agent run (--bootstrap FILE | --user-data FILE) \
--server-bin PATH --data-dir DIR --listen ADDR [--advertise-addr URL] [--instance-id ID] \
[--control-plane-ca FILE]";

/// Where the bootstrap document comes from. Both hold the same document; `UserData` is the raw
/// EC2 user data file (JSON or base64 of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapSource {
    File(PathBuf),
    UserData(PathBuf),
}

impl BootstrapSource {
    pub fn path(&self) -> &Path {
        match self {
            BootstrapSource::File(p) | BootstrapSource::UserData(p) => p,
        }
    }
}

/// Explicit AWS credentials, for embedding the agent where no instance role exists (tests).
#[derive(Clone)]
pub struct StaticAwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

impl fmt::Debug for StaticAwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticAwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub bootstrap: BootstrapSource,
    /// The `coffer-server` executable.
    pub server_bin: PathBuf,
    /// Holds the server's storage, its generated config, the audit log and the agent's secrets.
    pub data_dir: PathBuf,
    /// The server's listener address.
    pub listen: SocketAddr,
    /// Where customers reach this node's Vault API (`http://...` or `https://...`).
    pub advertise_addr: String,
    /// The EC2 instance id sent at registration.
    pub instance_id: String,
    /// Extra PEM CA bundle trusted for the control plane (`--control-plane-ca`).
    pub control_plane_ca: Option<PathBuf>,
    /// KMS endpoint override (`AWS_ENDPOINT_URL`).
    pub kms_endpoint: Option<String>,
    /// `None`: the AWS default credential chain.
    pub aws_credentials: Option<StaticAwsCredentials>,
    /// Audit shipping cadence (`COFFER_AGENT_AUDIT_SHIP_INTERVAL_SECS` shortens it for tests).
    pub audit_ship: ShipSettings,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("{0}\n{USAGE}")]
    Usage(String),
}

fn usage(msg: impl Into<String>) -> CliError {
    CliError::Usage(msg.into())
}

/// Parses the arguments after the program name; `env` looks up environment variables.
pub fn parse_args<I>(args: I, env: impl Fn(&str) -> Option<String>) -> Result<AgentConfig, CliError>
where
    I: IntoIterator<Item = String>,
{
    let mut it = args.into_iter();
    match it.next().as_deref() {
        Some("run") => {}
        Some(other) => return Err(usage(format!("unknown command {other:?}"))),
        None => return Err(usage("a command is required")),
    }
    let (mut bootstrap, mut server_bin, mut data_dir, mut listen, mut instance_id) =
        (None, None, None, None, None);
    let (mut advertise_addr, mut control_plane_ca): (Option<String>, Option<String>) = (None, None);
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg, None),
        };
        let value = match inline.or_else(|| it.next()) {
            Some(v) if !v.is_empty() => v,
            _ => return Err(usage(format!("{name} needs a value"))),
        };
        let slot = match name.as_str() {
            "--bootstrap" | "--user-data" => {
                if bootstrap.is_some() {
                    return Err(usage("give only one of --bootstrap and --user-data"));
                }
                let p = PathBuf::from(value);
                bootstrap = Some(if name == "--bootstrap" {
                    BootstrapSource::File(p)
                } else {
                    BootstrapSource::UserData(p)
                });
                continue;
            }
            "--server-bin" => &mut server_bin,
            "--data-dir" => &mut data_dir,
            "--listen" => &mut listen,
            "--instance-id" => &mut instance_id,
            "--advertise-addr" => &mut advertise_addr,
            "--control-plane-ca" => &mut control_plane_ca,
            _ => return Err(usage(format!("unknown flag {name:?}"))),
        };
        *slot = Some(value);
    }
    let listen = listen.ok_or_else(|| usage("--listen is required"))?;
    let listen: SocketAddr =
        listen.parse().map_err(|_| usage(format!("--listen {listen:?} is not an ip:port")))?;
    let advertise_addr = match advertise_addr {
        None => format!("http://{listen}"),
        Some(a) if is_http_url(&a) => a.trim_end_matches('/').to_owned(),
        Some(a) => {
            return Err(usage(format!(
                "--advertise-addr {a:?} is not an http(s)://host[:port] URL"
            )))
        }
    };
    Ok(AgentConfig {
        bootstrap: bootstrap.ok_or_else(|| usage("--bootstrap or --user-data is required"))?,
        server_bin: server_bin.ok_or_else(|| usage("--server-bin is required"))?.into(),
        data_dir: data_dir.ok_or_else(|| usage("--data-dir is required"))?.into(),
        listen,
        advertise_addr,
        instance_id: instance_id.unwrap_or_else(|| "unknown".to_owned()),
        control_plane_ca: control_plane_ca.map(PathBuf::from),
        kms_endpoint: env("AWS_ENDPOINT_URL").filter(|s| !s.trim().is_empty()),
        aws_credentials: None,
        audit_ship: ShipSettings::from_env(&env),
    })
}

/// `http://host[:port]` or `https://...`, with no path beyond `/`, whitespace or control
/// characters: it is shown to customers as the node's address.
fn is_http_url(s: &str) -> bool {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    match rest.map(|r| r.trim_end_matches('/')) {
        Some(host) => {
            !host.is_empty()
                && !host.contains('/')
                && host.chars().all(|c| c.is_ascii_graphic() && c != '@')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn check(line: &str, expect: Result<(&str, &str, Option<&str>), &str>) {
        check_advertise(line, expect, None);
    }

    fn check_advertise(
        line: &str,
        expect: Result<(&str, &str, Option<&str>), &str>,
        advertise: Option<&str>,
    ) {
        let env = |k: &str| (k == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:9".to_owned());
        let got = parse_args(args(line), env);
        match (got, expect) {
            (Ok(c), Ok((boot, listen, id))) => {
                assert_eq!(c.bootstrap.path(), Path::new(boot));
                assert_eq!(c.listen.to_string(), listen);
                assert_eq!(c.kms_endpoint.as_deref(), Some("http://127.0.0.1:9"));
                assert_eq!(Some(c.instance_id.as_str()), id.or(Some("unknown")));
                let default_advertise = format!("http://{listen}");
                assert_eq!(c.advertise_addr, advertise.unwrap_or(&default_advertise));
            }
            (Err(CliError::Usage(m)), Err(want)) => assert!(m.contains(want), "{m:?} !~ {want:?}"),
            (got, want) => panic!("{line}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn command_line() {
        let base = "--server-bin /bin/s --data-dir /d --listen 127.0.0.1:8200";
        check(&format!("run --bootstrap /b.json {base}"), Ok(("/b.json", "127.0.0.1:8200", None)));
        check(
            &format!("run --user-data=/ud {base} --instance-id i-1"),
            Ok(("/ud", "127.0.0.1:8200", Some("i-1"))),
        );
        check(&format!("run {base}"), Err("--bootstrap or --user-data is required"));
        check(&format!("run --bootstrap /a --user-data /b {base}"), Err("only one of"));
        check("run --bootstrap /b --server-bin /s --data-dir /d", Err("--listen is required"));
        check("run --bootstrap /b --server-bin /s --data-dir /d --listen nope", Err("not an ip"));
        check(&format!("run --bootstrap /b {base} --frob 1"), Err("unknown flag \"--frob\""));
        check(&format!("run {base} --bootstrap"), Err("--bootstrap needs a value"));
        let with_ca = format!("run --bootstrap /b {base} --control-plane-ca /etc/cp-ca.pem");
        let cfg = parse_args(args(&with_ca), |_| None).unwrap();
        assert_eq!(cfg.control_plane_ca.as_deref(), Some(Path::new("/etc/cp-ca.pem")));
        let cfg = parse_args(args(&format!("run --bootstrap /b {base}")), |_| None).unwrap();
        assert_eq!(cfg.control_plane_ca, None);
        check("serve", Err("unknown command"));
        check("", Err("a command is required"));
    }

    #[test]
    fn advertise_address() {
        let base = "run --bootstrap /b --server-bin /s --data-dir /d --listen 127.0.0.1:8200";
        let ok = Ok(("/b", "127.0.0.1:8200", None));
        for (flag, want) in [
            ("http://127.0.3.7:8200", "http://127.0.3.7:8200"),
            ("https://node-0.c-1.coffer.example:8200/", "https://node-0.c-1.coffer.example:8200"),
        ] {
            check_advertise(&format!("{base} --advertise-addr {flag}"), ok, Some(want));
        }
        for bad in ["127.0.0.1:8200", "ftp://x", "http://", "http://a/b", "http://u@h"] {
            check(&format!("{base} --advertise-addr {bad}"), Err("is not an http(s)://"));
        }
    }
}
