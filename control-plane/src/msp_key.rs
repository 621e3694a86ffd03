//! The Ed25519 key that signs operator-policy (MSP) bundles, and the `[msp]` config section.
//!
//! Nodes learn the public half from their bootstrap document and apply only bundles it
//! verifies, so this key decides which operator policies every cluster runs. It is read from
//! `msp.signing_key_file` at start-up; a production start without it fails with a clear
//! configuration error rather than inventing a key nobody can recover. For development and
//! tests, `msp.generate_if_missing = true` creates the file (mode 0600) on first start, or,
//! with no file configured at all, keeps an ephemeral key in memory.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use coffer_node_api::msp::{public_key_b64, MspBundle, MspError, SignedBundle};
use ed25519_dalek::SigningKey;
use serde::Deserialize;
use zeroize::Zeroizing;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MspSettings {
    /// 32 raw bytes, or their base64 (one line). Required unless `generate_if_missing`.
    pub signing_key_file: Option<PathBuf>,
    /// Create the key file when it does not exist (or, without a file, use an in-memory key).
    /// For development and tests only: a lost key means re-keying every cluster.
    pub generate_if_missing: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MspKeyError {
    #[error(
        "msp.signing_key_file is not set: configure the operator-policy signing key \
         (COFFER_MSP__SIGNING_KEY_FILE), or set msp.generate_if_missing = true for development"
    )]
    NotConfigured,
    #[error("msp.signing_key_file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "msp.signing_key_file {0} does not hold an Ed25519 key (32 raw bytes or their base64)"
    )]
    Malformed(PathBuf),
}

/// The bundle signing key. Debug never shows the key; it is wiped on drop.
pub struct MspSigner {
    key: SigningKey,
    public_b64: String,
}

impl fmt::Debug for MspSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MspSigner").field("public_key", &self.public_b64).finish_non_exhaustive()
    }
}

impl MspSigner {
    pub fn from_key(key: SigningKey) -> MspSigner {
        let public_b64 = public_key_b64(&key);
        MspSigner { key, public_b64 }
    }

    /// Loads (or, if allowed, creates) the key as configured.
    pub fn load(settings: &MspSettings) -> Result<MspSigner, MspKeyError> {
        match (&settings.signing_key_file, settings.generate_if_missing) {
            (None, false) => Err(MspKeyError::NotConfigured),
            (None, true) => {
                tracing::warn!("using an ephemeral MSP signing key (development only)");
                Ok(MspSigner::from_key(generate()))
            }
            (Some(path), generate_if_missing) => load_file(path, generate_if_missing),
        }
    }

    /// Base64 public key, as it goes into bootstrap documents.
    pub fn public_key_b64(&self) -> &str {
        &self.public_b64
    }

    pub fn sign(&self, bundle: &MspBundle) -> Result<SignedBundle, MspError> {
        SignedBundle::sign(bundle, &self.key)
    }
}

fn generate() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

fn load_file(path: &Path, generate_if_missing: bool) -> Result<MspSigner, MspKeyError> {
    let io = |source| MspKeyError::Io { path: path.to_owned(), source };
    match std::fs::read(path) {
        Ok(bytes) => parse(&Zeroizing::new(bytes))
            .map(MspSigner::from_key)
            .ok_or_else(|| MspKeyError::Malformed(path.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && generate_if_missing => {
            let key = generate();
            let encoded = Zeroizing::new(format!("{}\n", B64.encode(key.to_bytes())));
            let mut file = create_private(path).map_err(io)?;
            file.write_all(encoded.as_bytes()).and_then(|()| file.sync_all()).map_err(io)?;
            tracing::info!(path = %path.display(), "generated a new MSP signing key");
            Ok(MspSigner::from_key(key))
        }
        Err(e) => Err(io(e)),
    }
}

/// Creates a new file readable only by its owner; fails if it exists (two processes starting
/// at once must not overwrite each other's key).
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path)
}

fn parse(bytes: &[u8]) -> Option<SigningKey> {
    if let Ok(raw) = <[u8; 32]>::try_from(bytes) {
        return Some(SigningKey::from_bytes(&raw));
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let decoded = Zeroizing::new(B64.decode(text).ok()?);
    let raw = Zeroizing::new(<[u8; 32]>::try_from(decoded.as_slice()).ok()?);
    Some(SigningKey::from_bytes(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("coffer-msp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn key_files_raw_base64_and_bad() {
        let dir = temp_dir();
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let want = public_key_b64(&key);
        let check = |name: &str, contents: &[u8], expect: Option<&str>| {
            let path = dir.join(name);
            std::fs::write(&path, contents).unwrap();
            let settings = MspSettings { signing_key_file: Some(path), generate_if_missing: true };
            let got = MspSigner::load(&settings).ok().map(|s| s.public_key_b64().to_owned());
            assert_eq!(got.as_deref(), expect, "{name}");
        };
        check("raw", &[9u8; 32], Some(&want));
        check("b64", format!("{}\n", B64.encode([9u8; 32])).as_bytes(), Some(&want));
        check("short", &[9u8; 31], None);
        check("b64-short", B64.encode([9u8; 31]).as_bytes(), None);
        check("text", b"not a key", None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn generation_only_when_allowed_and_then_stable() {
        let dir = temp_dir();
        let path = dir.join("msp.key");
        let strict =
            MspSettings { signing_key_file: Some(path.clone()), generate_if_missing: false };
        assert!(matches!(MspSigner::load(&strict), Err(MspKeyError::Io { .. })));
        assert!(matches!(
            MspSigner::load(&MspSettings::default()),
            Err(MspKeyError::NotConfigured)
        ));

        let dev = MspSettings { signing_key_file: Some(path.clone()), generate_if_missing: true };
        let first = MspSigner::load(&dev).unwrap();
        let again = MspSigner::load(&strict).unwrap();
        assert_eq!(first.public_key_b64(), again.public_key_b64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{first:?}").contains(&B64.encode(first.key.to_bytes())));

        let ephemeral = MspSettings { signing_key_file: None, generate_if_missing: true };
        assert!(MspSigner::load(&ephemeral).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
