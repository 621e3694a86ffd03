//! Loading a config from disk the ways Vault accepts: one HCL file, one JSON file (same
//! structure), or a directory whose `.hcl`/`.json` files are merged (how Helm/Kubernetes
//! deployments split storage and listener). JSON is rewritten to the equivalent HCL so there is
//! exactly one parser and one set of validation rules.

use super::{parse, Config, ConfigError};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Top-level keys that are blocks (the rest are attributes).
const BLOCKS: &[&str] = &["storage", "backend", "listener", "seal", "telemetry"];
/// Blocks without a label.
const UNLABELED: &[&str] = &["telemetry"];

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })
}

fn is_json(path: &Path, text: &str) -> bool {
    path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{')
}

/// A JSON scalar/array as an HCL expression. `${`/`%{` are escaped so text stays literal.
fn expr(v: &Value) -> Result<String, ConfigError> {
    let s = serde_json::to_string(v).map_err(|e| ConfigError::Syntax(e.to_string()))?;
    Ok(s.replace("${", "$${").replace("%{", "%%{"))
}

/// A block body: object values become nested blocks, everything else attributes.
fn body(out: &mut String, obj: &serde_json::Map<String, Value>) -> Result<(), ConfigError> {
    for (k, v) in obj {
        if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(ConfigError::Invalid(format!("invalid config key {k:?}")));
        }
        match v {
            Value::Object(inner) => {
                out.push_str(&format!("{k} {{\n"));
                body(out, inner)?;
                out.push_str("}\n");
            }
            other => out.push_str(&format!("{k} = {}\n", expr(other)?)),
        }
    }
    Ok(())
}

fn block(out: &mut String, name: &str, v: &Value) -> Result<(), ConfigError> {
    let bad = || ConfigError::Invalid(format!("block {name:?} must be an object"));
    match v {
        Value::Array(items) => items.iter().try_for_each(|i| block(out, name, i)),
        Value::Object(obj) if UNLABELED.contains(&name) => {
            out.push_str(&format!("{name} {{\n"));
            body(out, obj)?;
            out.push_str("}\n");
            Ok(())
        }
        Value::Object(labels) => {
            for (label, inner) in labels {
                let inner = inner.as_object().ok_or_else(bad)?;
                out.push_str(&format!("{name} {} {{\n", expr(&Value::String(label.clone()))?));
                body(out, inner)?;
                out.push_str("}\n");
            }
            Ok(())
        }
        _ => Err(bad()),
    }
}

/// Rewrites a JSON config document as HCL.
pub fn json_to_hcl(text: &str) -> Result<String, ConfigError> {
    let v: Value = serde_json::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
    let top =
        v.as_object().ok_or_else(|| ConfigError::Syntax("config must be a JSON object".into()))?;
    let mut out = String::new();
    for (k, v) in top {
        if BLOCKS.contains(&k.as_str()) {
            block(&mut out, k, v)?;
        } else {
            body(&mut out, &[(k.clone(), v.clone())].into_iter().collect())?;
        }
    }
    Ok(out)
}

fn file_text(path: &Path) -> Result<String, ConfigError> {
    let text = read(path)?;
    if is_json(path, &text) {
        json_to_hcl(&text)
    } else {
        Ok(text)
    }
}

/// Loads `path`: an HCL or JSON file, or a directory of them (merged in name order).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let meta = std::fs::metadata(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    if !meta.is_dir() {
        return parse(&file_text(path)?);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "hcl" || e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ConfigError::Invalid(format!("no .hcl or .json files in {}", path.display())));
    }
    let mut merged = String::new();
    for f in &files {
        merged.push_str(&file_text(f)?);
        merged.push('\n');
    }
    parse(&merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_configs_map_to_the_same_config() {
        let c = parse(
            &json_to_hcl(
                r#"{
              "storage": {"raft": {"path": "/tmp/x", "node_id": "n"}},
              "listener": [{"tcp": {"address": "127.0.0.1:0", "tls_disable": true,
                                    "telemetry": {"unauthenticated_metrics_access": true}}}],
              "seal": {"awskms": {"kms_key_id": "k", "region": "r"}},
              "telemetry": {"disable_hostname": true},
              "api_addr": "http://x${y}",
              "disable_mlock": true
            }"#,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(c.storage.kind, "raft");
        assert_eq!(c.listeners[0].address, "127.0.0.1:0");
        assert!(c.listeners[0].unauthenticated_metrics_access);
        assert_eq!(c.api_addr.as_deref(), Some("http://x${y}"));
        assert!(c.seal.is_some());
        assert!(json_to_hcl("[1]").is_err());
        assert!(json_to_hcl(r#"{"storage": 5}"#).is_err());
    }

    #[test]
    fn directories_merge() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.hcl"), "storage \"redb\" {\n path = \"/tmp/y\"\n}\n")
            .unwrap();
        std::fs::write(
            dir.path().join("b.json"),
            r#"{"listener": {"tcp": {"address": "127.0.0.1:0", "tls_disable": "true"}}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let c = load(dir.path()).unwrap();
        assert_eq!(c.storage.kind, "redb");
        assert_eq!(c.listeners.len(), 1);
        let empty = tempfile::tempdir().unwrap();
        assert!(load(empty.path()).is_err());
    }
}
