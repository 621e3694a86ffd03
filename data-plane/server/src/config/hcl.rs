//! Parses Vault's HCL server configuration. We walk the HCL body ourselves rather than derive a
//! serde model so that unknown blocks and attributes produce a clear error naming them (a typo
//! in a security-relevant setting must not be silently ignored).

use super::{
    Config, ConfigError, ListenerConfig, SealConfig, StorageConfig, TlsFiles, DEFAULT_ADDRESS,
    DEFAULT_MAX_REQUEST_SIZE, DEFAULT_READ_HEADER_TIMEOUT,
};
use hcl::{Block, Body, Expression, Structure};

fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}

/// A scalar attribute value, leniently typed like Vault (`tls_disable = "true"` or `1` works).
enum Scalar<'a> {
    Str(&'a str),
    Bool(bool),
    Num(f64),
}

fn scalar<'a>(key: &str, e: &'a Expression) -> Result<Scalar<'a>, ConfigError> {
    match e {
        Expression::String(s) => Ok(Scalar::Str(s)),
        Expression::Bool(b) => Ok(Scalar::Bool(*b)),
        Expression::Number(n) => n.as_f64().map(Scalar::Num).ok_or_else(|| invalid(key)),
        _ => Err(invalid(format!("attribute {key:?} must be a string, number or boolean"))),
    }
}

fn as_string(key: &str, e: &Expression) -> Result<String, ConfigError> {
    match scalar(key, e)? {
        Scalar::Str(s) => Ok(s.to_owned()),
        Scalar::Num(n) => Ok(n.to_string()),
        Scalar::Bool(b) => Ok(b.to_string()),
    }
}

fn as_bool(key: &str, e: &Expression) -> Result<bool, ConfigError> {
    match scalar(key, e)? {
        Scalar::Bool(b) => Ok(b),
        Scalar::Num(n) => Ok(n != 0.0),
        Scalar::Str(s) => match s {
            "true" | "1" | "t" => Ok(true),
            "false" | "0" | "f" | "" => Ok(false),
            _ => Err(invalid(format!("attribute {key:?} must be a boolean, got {s:?}"))),
        },
    }
}

fn as_u64(key: &str, e: &Expression) -> Result<u64, ConfigError> {
    match scalar(key, e)? {
        Scalar::Num(n) if n >= 0.0 && n.fract() == 0.0 => Ok(n as u64),
        Scalar::Str(s) => {
            s.parse().map_err(|_| invalid(format!("attribute {key:?} must be an integer")))
        }
        _ => Err(invalid(format!("attribute {key:?} must be a non-negative integer"))),
    }
}

fn as_duration(key: &str, e: &Expression) -> Result<u64, ConfigError> {
    match scalar(key, e)? {
        Scalar::Num(n) if n >= 0.0 => Ok(n as u64),
        Scalar::Str(s) => crate::util::duration::parse_str(s)
            .map_err(|m| invalid(format!("attribute {key:?}: {m}"))),
        _ => Err(invalid(format!("attribute {key:?} must be a duration"))),
    }
}

fn label(b: &Block) -> Result<&str, ConfigError> {
    match b.labels() {
        [l] => Ok(l.as_str()),
        _ => Err(invalid(format!("block {:?} needs exactly one label", b.identifier()))),
    }
}

/// Iterates the attributes of a block body, rejecting nested blocks.
fn attributes<'a>(
    what: &str,
    body: &'a Body,
) -> Result<impl Iterator<Item = (&'a str, &'a Expression)>, ConfigError> {
    if let Some(b) = body.blocks().next() {
        return Err(invalid(format!("unexpected block {:?} inside {what}", b.identifier())));
    }
    Ok(body.attributes().map(|a| (a.key(), a.expr())))
}

fn storage(b: &Block) -> Result<StorageConfig, ConfigError> {
    let kind = label(b)?;
    if !matches!(kind, "redb" | "file" | "raft" | "inmem") {
        return Err(invalid(format!(
            "unsupported storage type {kind:?} (supported: redb, file, raft, inmem)"
        )));
    }
    let mut path = None;
    for (k, v) in attributes("storage", b.body())? {
        match k {
            "path" => path = Some(as_string(k, v)?.into()),
            // Raft/HA settings are meaningful for Vault clusters; a single node ignores them.
            "node_id" | "performance_multiplier" | "retry_join" | "ha_enabled" => {
                tracing::info!(attribute = k, "storage attribute accepted and ignored");
            }
            _ => return Err(invalid(format!("unknown storage attribute {k:?}"))),
        }
    }
    if kind != "inmem" && path.is_none() {
        return Err(invalid(format!("storage {kind:?} requires a path")));
    }
    Ok(StorageConfig { kind: kind.to_owned(), path })
}

fn listener(b: &Block) -> Result<ListenerConfig, ConfigError> {
    let kind = label(b)?;
    if kind != "tcp" {
        return Err(invalid(format!("unsupported listener type {kind:?} (supported: tcp)")));
    }
    let mut address = DEFAULT_ADDRESS.to_owned();
    let mut tls_disable = false;
    let (mut cert, mut key) = (None, None);
    let mut max_request_size = DEFAULT_MAX_REQUEST_SIZE;
    let mut read_header_timeout = DEFAULT_READ_HEADER_TIMEOUT;
    let mut unauthenticated_metrics_access = false;
    for s in b.body().iter() {
        let (k, v) = match s {
            Structure::Attribute(a) => (a.key(), a.expr()),
            Structure::Block(inner) if inner.identifier() == "telemetry" => {
                for (tk, tv) in attributes("listener telemetry", inner.body())? {
                    match tk {
                        "unauthenticated_metrics_access" => {
                            unauthenticated_metrics_access = as_bool(tk, tv)?
                        }
                        _ => {
                            return Err(invalid(format!(
                                "unknown listener telemetry attribute {tk:?}"
                            )))
                        }
                    }
                }
                continue;
            }
            Structure::Block(inner) => {
                return Err(invalid(format!(
                    "unexpected block {:?} inside listener",
                    inner.identifier()
                )))
            }
        };
        match k {
            "address" => address = as_string(k, v)?,
            "tls_disable" => tls_disable = as_bool(k, v)?,
            "tls_cert_file" => cert = Some(as_string(k, v)?.into()),
            "tls_key_file" => key = Some(as_string(k, v)?.into()),
            "max_request_size" => {
                let n = as_u64(k, v)?;
                // Vault: 0 means the default; negative disables (not representable here).
                if n > 0 {
                    max_request_size = usize::try_from(n).unwrap_or(usize::MAX);
                }
            }
            "http_read_header_timeout" => {
                read_header_timeout = std::time::Duration::from_secs(as_duration(k, v)?.max(1));
            }
            "http_read_timeout" | "http_write_timeout" | "http_idle_timeout" => {
                as_duration(k, v)?;
                tracing::info!(attribute = k, "listener timeout accepted; not enforced");
            }
            "cluster_address" | "tls_min_version" | "proxy_protocol_behavior" => {
                tracing::info!(attribute = k, "listener attribute accepted and ignored");
            }
            _ => return Err(invalid(format!("unknown listener attribute {k:?}"))),
        }
    }
    let tls = if tls_disable {
        None
    } else {
        match (cert, key) {
            (Some(cert_file), Some(key_file)) => Some(TlsFiles { cert_file, key_file }),
            _ => return Err(invalid(
                "listener: tls_cert_file and tls_key_file are required unless tls_disable = true",
            )),
        }
    };
    Ok(ListenerConfig {
        address,
        tls,
        max_request_size,
        read_header_timeout,
        unauthenticated_metrics_access,
    })
}

fn seal(b: &Block) -> Result<SealConfig, ConfigError> {
    let kind = label(b)?;
    if kind != "awskms" {
        return Err(invalid(format!("unsupported seal type {kind:?} (supported: awskms)")));
    }
    let mut stanza = std::collections::BTreeMap::new();
    for (k, v) in attributes("seal", b.body())? {
        match k {
            "region" | "kms_key_id" | "endpoint" | "access_key" | "secret_key"
            | "session_token" => {
                stanza.insert(k.to_owned(), as_string(k, v)?);
            }
            "disabled" | "name" | "priority" => {
                tracing::info!(attribute = k, "seal attribute accepted and ignored");
            }
            _ => return Err(invalid(format!("unknown seal attribute {k:?}"))),
        }
    }
    Ok(SealConfig::AwsKms { stanza })
}

/// Parses the text of a config file.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let body: Body = hcl::parse(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
    let mut cfg = Config::dev(DEFAULT_ADDRESS, None);
    cfg.dev = None;
    cfg.listeners.clear();
    let mut have_storage = false;
    for s in body.iter() {
        match s {
            Structure::Block(b) => match b.identifier() {
                "storage" | "backend" => {
                    if have_storage {
                        return Err(invalid("only one storage block is allowed"));
                    }
                    cfg.storage = storage(b)?;
                    have_storage = true;
                }
                "listener" => cfg.listeners.push(listener(b)?),
                "seal" => cfg.seal = Some(seal(b)?),
                "telemetry" => {
                    tracing::info!("telemetry block accepted; metrics are served at sys/metrics")
                }
                other => return Err(invalid(format!("unknown config block {other:?}"))),
            },
            Structure::Attribute(a) => {
                let (k, v) = (a.key(), a.expr());
                match k {
                    "api_addr" => cfg.api_addr = Some(as_string(k, v)?),
                    "cluster_name" => cfg.cluster_name = Some(as_string(k, v)?),
                    "default_lease_ttl" => cfg.default_lease_ttl = as_duration(k, v)?,
                    "max_lease_ttl" => cfg.max_lease_ttl = as_duration(k, v)?,
                    "disable_mlock" | "ui" | "cluster_addr" | "log_level" | "disable_cache"
                    | "pid_file" | "log_format" => {
                        tracing::info!(setting = k, "config setting accepted and ignored");
                    }
                    other => return Err(invalid(format!("unknown config setting {other:?}"))),
                }
            }
        }
    }
    if !have_storage {
        return Err(invalid("a storage block is required"));
    }
    if cfg.listeners.is_empty() {
        return Err(invalid("at least one listener block is required"));
    }
    if cfg.default_lease_ttl > cfg.max_lease_ttl {
        return Err(invalid("default_lease_ttl must not exceed max_lease_ttl"));
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_config() {
        let c = parse(
            r#"
            storage "raft" {
              path    = "/tmp/x"
              node_id = "n1"
            }
            listener "tcp" {
              address = "0.0.0.0:8201"
              tls_disable = "true"
              max_request_size = 1024
            }
            seal "awskms" {
              region     = "us-east-1"
              kms_key_id = "k"
              endpoint   = "http://localhost:4566"
            }
            api_addr = "http://127.0.0.1:8201"
            disable_mlock = true
            ui = true
            telemetry { }
            "#,
        )
        .unwrap();
        assert_eq!(c.storage.kind, "raft");
        assert_eq!(c.listeners[0].address, "0.0.0.0:8201");
        assert!(c.listeners[0].tls.is_none());
        assert_eq!(c.listeners[0].max_request_size, 1024);
        assert!(matches!(c.seal, Some(SealConfig::AwsKms { .. })));
    }

    fn check_err(text: &str, needle: &str) {
        let e = parse(text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains(needle), "config {text:?}: error {e:?} lacks {needle:?}");
    }

    #[test]
    fn rejects() {
        let l = r#"listener "tcp" { tls_disable = true }"#;
        check_err(&format!("storage \"redb\" {{ path = \"x\" }}\n{l}\nbogus {{ }}"), "bogus");
        check_err(&format!("storage \"consul\" {{ path = \"x\" }}\n{l}"), "consul");
        check_err(&format!("storage \"redb\" {{ }}\n{l}"), "requires a path");
        check_err(l, "storage block is required");
        check_err("storage \"redb\" { path = \"x\" }\nlistener \"tcp\" { }", "tls_cert_file");
        check_err(&format!("storage \"redb\" {{ path = \"x\" }}\n{l}\nfoo = 1"), "foo");
        check_err("storage \"redb\" { path = ", "syntax");
        check_err(
            "storage \"redb\" { path = \"x\" }\nlistener \"tcp\" { adress = \"x\" }",
            "adress",
        );
    }
}
