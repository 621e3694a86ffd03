//! One enabled audit device: its persisted configuration, its keyed hasher and where its lines
//! go. Only the `file` type exists (with Vault's special `file_path` values `stdout` and
//! `discard`). Each entry is serialised first and then written with a single
//! `write_all` on an O_APPEND file, so lines never interleave and no lock is held.

use super::hash::Hasher;
use super::AuditError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};

/// A device as persisted through the barrier (the salt is secret: no Debug).
#[derive(Clone, Serialize, Deserialize)]
pub struct DeviceConfig {
    /// Always ends with `/`.
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub local: bool,
    /// Hex HMAC key.
    pub salt: String,
}

enum Sink {
    /// Opened with O_APPEND: each entry is one `write` of the whole line, which the kernel
    /// appends atomically for regular files, so concurrent requests need no lock.
    File(File),
    Stdout,
    Discard,
    /// The log could not be (re)opened after unseal; every write fails, so the server fails
    /// closed instead of serving unaudited requests.
    Broken,
}

pub struct Device {
    pub config: DeviceConfig,
    pub hasher: Hasher,
    /// `log_raw`: write values in plaintext (for debugging; Vault's option).
    pub log_raw: bool,
    /// `hmac_accessor`: hash token accessors too (default true).
    pub hmac_accessor: bool,
    prefix: String,
    sink: Sink,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("path", &self.config.path)
            .field("type", &self.config.kind)
            .finish_non_exhaustive()
    }
}

fn bool_option(
    opts: &BTreeMap<String, String>,
    name: &str,
    default: bool,
) -> Result<bool, AuditError> {
    match opts.get(name).map(|s| s.trim()) {
        None | Some("") => Ok(default),
        Some("true" | "1" | "t" | "T" | "TRUE" | "True") => Ok(true),
        Some("false" | "0" | "f" | "F" | "FALSE" | "False") => Ok(false),
        Some(_) => Err(AuditError::Invalid(format!("option {name:?} must be a boolean"))),
    }
}

/// `mode` is octal like Vault's ("0600" default; "0000" leaves the file's mode alone).
fn mode_option(opts: &BTreeMap<String, String>) -> Result<u32, AuditError> {
    match opts.get("mode").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(0o600),
        Some(m) => u32::from_str_radix(m, 8).ok().filter(|m| *m <= 0o777).ok_or_else(|| {
            AuditError::Invalid("option \"mode\" must be an octal file mode".into())
        }),
    }
}

fn open_file(path: &str, mode: u32) -> Result<File, AuditError> {
    let mut oo = OpenOptions::new();
    oo.append(true).create(true);
    if mode != 0 {
        oo.mode(mode);
    }
    let open_err = |e: std::io::Error| {
        tracing::warn!(file = %path, error = %e, "cannot open audit log");
        AuditError::Invalid(format!("sanity check failed; unable to open {path:?} for writing"))
    };
    let file = oo.open(path).map_err(open_err)?;
    let meta = file.metadata().map_err(open_err)?;
    if meta.is_dir() {
        return Err(AuditError::Invalid(format!("{path:?} is a directory")));
    }
    // Vault also tightens an existing file's mode; device nodes (e.g. /dev/null) are left be.
    let ft = meta.file_type();
    if mode != 0 && ft.is_file() && !(ft.is_char_device() || ft.is_block_device()) {
        file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(open_err)?;
    }
    Ok(file)
}

impl Device {
    /// Validates the configuration and opens the sink. `strict` (enabling) turns an
    /// unopenable file into an error; on unseal the device is kept but fails every write.
    pub fn open(config: DeviceConfig, strict: bool) -> Result<Device, AuditError> {
        if config.kind != "file" {
            return Err(AuditError::Invalid(format!("unknown backend type: {:?}", config.kind)));
        }
        let salt = hex::decode(&config.salt).map_err(|_| AuditError::Corrupt("audit salt"))?;
        let hasher = Hasher::new(&salt).ok_or(AuditError::Corrupt("audit salt"))?;
        let opts = &config.options;
        let log_raw = bool_option(opts, "log_raw", false)?;
        let hmac_accessor = bool_option(opts, "hmac_accessor", true)?;
        match opts.get("format").map(String::as_str) {
            None | Some("") | Some("json") => {}
            Some(f) => return Err(AuditError::Invalid(format!("unsupported audit format {f:?}"))),
        }
        let mode = mode_option(opts)?;
        let file_path = opts
            .get("file_path")
            .or_else(|| opts.get("path"))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AuditError::Invalid("file_path is required".into()))?;
        let sink = match file_path {
            "stdout" => Sink::Stdout,
            "discard" => Sink::Discard,
            p => match open_file(p, mode) {
                Ok(f) => Sink::File(f),
                Err(e) if strict => return Err(e),
                Err(_) => Sink::Broken,
            },
        };
        let prefix = opts.get("prefix").cloned().unwrap_or_default();
        Ok(Device { config, hasher, log_raw, hmac_accessor, prefix, sink })
    }

    /// Whether the sink could not be opened (every write fails).
    pub fn is_broken(&self) -> bool {
        matches!(self.sink, Sink::Broken)
    }

    /// Hashes a sensitive string unless the device logs raw values.
    pub fn hash(&self, s: &str) -> String {
        if self.log_raw {
            s.to_owned()
        } else {
            self.hasher.hash(s)
        }
    }

    /// Writes one serialised entry as one line.
    pub fn write_entry(&self, json: &[u8]) -> std::io::Result<()> {
        let mut line = Vec::with_capacity(self.prefix.len() + json.len() + 1);
        line.extend_from_slice(self.prefix.as_bytes());
        line.extend_from_slice(json);
        line.push(b'\n');
        match &self.sink {
            // `&File` is unbuffered: the line reaches the kernel in this call, no flush needed.
            Sink::File(f) => (&*f).write_all(&line),
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(&line)?;
                out.flush()
            }
            Sink::Discard => Ok(()),
            Sink::Broken => Err(std::io::Error::other("audit log is not open")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn check_mode(value: Option<&str>, expect: Option<u32>) {
        let o = opts(&value.map(|v| vec![("mode", v)]).unwrap_or_default());
        assert_eq!(mode_option(&o).ok(), expect, "mode {value:?}");
    }

    #[test]
    fn modes() {
        check_mode(None, Some(0o600));
        check_mode(Some(""), Some(0o600));
        check_mode(Some("0640"), Some(0o640));
        check_mode(Some("600"), Some(0o600));
        check_mode(Some("0000"), Some(0));
        check_mode(Some("0800"), None);
        check_mode(Some("1777"), None);
        check_mode(Some("rw"), None);
    }

    fn check_bool(value: Option<&str>, default: bool, expect: Option<bool>) {
        let o = opts(&value.map(|v| vec![("log_raw", v)]).unwrap_or_default());
        assert_eq!(bool_option(&o, "log_raw", default).ok(), expect, "log_raw {value:?}");
    }

    #[test]
    fn booleans() {
        check_bool(None, false, Some(false));
        check_bool(None, true, Some(true));
        check_bool(Some("true"), false, Some(true));
        check_bool(Some("1"), false, Some(true));
        check_bool(Some("False"), true, Some(false));
        check_bool(Some(""), true, Some(true));
        check_bool(Some("yes"), false, None);
    }

    fn config(options: &[(&str, &str)]) -> DeviceConfig {
        DeviceConfig {
            path: "t/".into(),
            kind: "file".into(),
            description: String::new(),
            options: opts(options),
            local: false,
            salt: hex::encode([7u8; 32]),
        }
    }

    #[test]
    fn open_validates_and_writes_lines() {
        assert!(Device::open(config(&[]), true).is_err(), "file_path is required");
        let mut bad_kind = config(&[("file_path", "discard")]);
        bad_kind.kind = "socket".into();
        assert!(Device::open(bad_kind, true).is_err());
        let mut bad_salt = config(&[("file_path", "discard")]);
        bad_salt.salt = "zz".into();
        assert!(Device::open(bad_salt, true).is_err());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let p = path.to_str().unwrap();
        let d = Device::open(config(&[("file_path", p), ("prefix", "> ")]), true).unwrap();
        d.write_entry(b"{\"a\":1}").unwrap();
        d.write_entry(b"{\"b\":2}").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "> {\"a\":1}\n> {\"b\":2}\n");
        assert!(!d.is_broken());

        // Unopenable: an error when enabling, a broken (always failing) device on unseal.
        let missing = dir.path().join("no/such/dir/x.log");
        let cfg = config(&[("file_path", missing.to_str().unwrap())]);
        assert!(Device::open(cfg.clone(), true).is_err());
        let broken = Device::open(cfg, false).unwrap();
        assert!(broken.is_broken());
        assert!(broken.write_entry(b"{}").is_err());
    }
}
