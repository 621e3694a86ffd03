//! The seal state machine: initialisation (generate the root key, split it into Shamir shares),
//! and unsealing (collect shares until the threshold, combine, open the barrier). No HTTP here.
//!
//! Like Vault, a single share means the share IS the root key (Shamir needs threshold >= 2),
//! and a threshold of 1 with several shares is refused. Key shares in progress are zeroized.

use crate::core::error::{CoreError, CoreResult};
use coffer_barrier::{shamir, Barrier, BarrierError, RootKey};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use zeroize::Zeroizing;

/// Plaintext key of the seal configuration (needed before unseal).
const SEAL_CONFIG_KEY: &str = "core/seal-config";
/// Plaintext key of the root key wrapped by the auto-seal (KMS).
const WRAPPED_ROOT_KEY: &str = "core/wrapped-root-key";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealConfig {
    #[serde(rename = "type")]
    pub kind: String,
    pub secret_shares: u8,
    pub secret_threshold: u8,
    #[serde(default)]
    pub recovery_shares: u8,
    #[serde(default)]
    pub recovery_threshold: u8,
}

impl SealConfig {
    pub fn is_auto(&self) -> bool {
        self.kind != "shamir"
    }
}

/// An auto-unseal mechanism (e.g. AWS KMS) that wraps the root key. Synchronous on purpose:
/// the core has no async; implementations bridge to their runtime and are only called from
/// blocking threads. Errors are log-only strings (they may name infrastructure).
pub trait AutoSeal: Send + Sync {
    /// Vault's seal type name (`awskms`).
    fn kind(&self) -> &'static str;
    fn wrap(&self, root: &RootKey) -> Result<Vec<u8>, String>;
    fn unwrap(&self, blob: &[u8]) -> Result<RootKey, String>;
}

/// Result of an unseal attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum UnsealOutcome {
    /// More shares needed: how many are held now.
    Progress(u8),
    /// The barrier is open.
    Unsealed,
    /// Already unsealed before this call.
    AlreadyUnsealed,
}

/// Output of initialisation. The shares are secret: zeroized on drop, never logged.
pub struct InitResult {
    pub shares: Vec<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for InitResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InitResult({} shares, <redacted>)", self.shares.len())
    }
}

#[derive(Default)]
struct Progress {
    shares: Vec<Zeroizing<Vec<u8>>>,
    nonce: String,
}

#[derive(Default)]
pub struct SealManager {
    progress: Mutex<Progress>,
    auto: std::sync::OnceLock<std::sync::Arc<dyn AutoSeal>>,
    /// The root key while unsealed (as Vault keeps it in memory): needed to reopen the barrier
    /// after a snapshot restore. Zeroized on drop; cleared on seal.
    root: Mutex<Option<RootKey>>,
}

impl SealManager {
    pub fn config(&self, barrier: &Barrier) -> CoreResult<Option<SealConfig>> {
        match barrier.get_plain(SEAL_CONFIG_KEY)? {
            None => Ok(None),
            Some(b) => Ok(Some(serde_json::from_slice(&b)?)),
        }
    }

    /// Validates the parameters, creates and stores the root key, and returns the shares.
    /// The barrier stays sealed afterwards (as in Vault).
    pub fn initialize(
        &self,
        barrier: &Barrier,
        shares: u64,
        threshold: u64,
    ) -> CoreResult<(InitResult, RootKey)> {
        if barrier.is_initialized()? {
            return Err(CoreError::bad("Vault is already initialized"));
        }
        if shares == 0 || shares > 255 {
            return Err(CoreError::bad("secret_shares must be between 1 and 255"));
        }
        if threshold == 0 || threshold > shares {
            return Err(CoreError::bad(
                "secret_threshold must be at least 1 and at most secret_shares",
            ));
        }
        if threshold == 1 && shares > 1 {
            return Err(CoreError::bad("threshold must be greater than one for multiple shares"));
        }
        let root = RootKey::generate();
        let parts: Vec<Zeroizing<Vec<u8>>> = if shares == 1 {
            vec![Zeroizing::new(root.expose().to_vec())]
        } else {
            shamir::split(root.expose(), shares as u8, threshold as u8)
                .map_err(CoreError::internal)?
                .into_iter()
                .map(Zeroizing::new)
                .collect()
        };
        barrier.initialize(&root)?;
        let cfg = SealConfig {
            kind: "shamir".into(),
            secret_shares: shares as u8,
            secret_threshold: threshold as u8,
            recovery_shares: 0,
            recovery_threshold: 0,
        };
        barrier.put_plain(SEAL_CONFIG_KEY, &serde_json::to_vec(&cfg)?)?;
        Ok((InitResult { shares: parts }, root))
    }

    pub fn set_auto(&self, auto: std::sync::Arc<dyn AutoSeal>) {
        let _ = self.auto.set(auto);
    }

    pub fn auto(&self) -> Option<&dyn AutoSeal> {
        self.auto.get().map(|a| a.as_ref())
    }

    /// Initialisation under an auto-seal: the root key is wrapped by the seal and stored in the
    /// plain area; the operator gets recovery-key shares instead of unseal keys. Returns the
    /// recovery shares, the recovery key and the root key.
    pub fn initialize_auto(
        &self,
        barrier: &Barrier,
        shares: u64,
        threshold: u64,
    ) -> CoreResult<(InitResult, Zeroizing<Vec<u8>>, RootKey)> {
        let auto = self.auto().ok_or_else(|| CoreError::internal("no auto seal configured"))?;
        if barrier.is_initialized()? {
            return Err(CoreError::bad("Vault is already initialized"));
        }
        if shares == 0 || shares > 255 || threshold == 0 || threshold > shares {
            return Err(CoreError::bad(
                "recovery_shares must be 1..255 and recovery_threshold between 1 and recovery_shares",
            ));
        }
        if threshold == 1 && shares > 1 {
            return Err(CoreError::bad("threshold must be greater than one for multiple shares"));
        }
        let root = RootKey::generate();
        let blob = auto.wrap(&root).map_err(|e| {
            tracing::error!(error = %e, "auto-seal could not wrap the root key");
            CoreError::bad("the auto-seal (KMS) could not wrap the root key; see the server log")
        })?;
        let recovery = RootKey::generate();
        let recovery_key = Zeroizing::new(recovery.expose().to_vec());
        let parts: Vec<Zeroizing<Vec<u8>>> = if shares == 1 {
            vec![recovery_key.clone()]
        } else {
            shamir::split(&recovery_key, shares as u8, threshold as u8)
                .map_err(CoreError::internal)?
                .into_iter()
                .map(Zeroizing::new)
                .collect()
        };
        barrier.initialize(&root)?;
        barrier.put_plain(WRAPPED_ROOT_KEY, &blob)?;
        let cfg = SealConfig {
            kind: auto.kind().into(),
            secret_shares: 1,
            secret_threshold: 1,
            recovery_shares: shares as u8,
            recovery_threshold: threshold as u8,
        };
        barrier.put_plain(SEAL_CONFIG_KEY, &serde_json::to_vec(&cfg)?)?;
        Ok((InitResult { shares: parts }, recovery_key, root))
    }

    /// Unseals with the auto-seal: unwraps the stored root key and opens the barrier.
    pub fn auto_unseal(&self, barrier: &Barrier) -> CoreResult<UnsealOutcome> {
        if !barrier.is_sealed() {
            return Ok(UnsealOutcome::AlreadyUnsealed);
        }
        let auto = self.auto().ok_or_else(|| CoreError::bad("no auto seal configured"))?;
        let blob = barrier
            .get_plain(WRAPPED_ROOT_KEY)?
            .ok_or_else(|| CoreError::bad("Vault is not initialized"))?;
        let root = auto.unwrap(&blob).map_err(|e| {
            tracing::error!(error = %e, "auto-unseal failed");
            CoreError::bad("auto-unseal failed: the seal (KMS) could not unwrap the root key")
        })?;
        match barrier.unseal(&root) {
            Ok(()) => {
                self.remember_root(root);
                Ok(UnsealOutcome::Unsealed)
            }
            Err(BarrierError::InvalidKey) => {
                Err(CoreError::bad("auto-unseal: unwrapped key does not open the barrier"))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn progress(&self) -> (u8, String) {
        let p = self.lock();
        (p.shares.len() as u8, p.nonce.clone())
    }

    pub fn reset(&self) {
        *self.lock() = Progress::default();
    }

    pub fn remember_root(&self, root: RootKey) {
        if let Ok(mut g) = self.root.lock() {
            *g = Some(root);
        }
    }

    /// Whether `candidate` is the root key the barrier is unsealed with, compared in constant
    /// time (sys/generate-root proves its key shares with this instead of touching the
    /// barrier). `false` while sealed.
    pub fn is_root_key(&self, candidate: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        match self.root.lock() {
            Ok(g) => g.as_ref().is_some_and(|r| {
                let k: &[u8] = r.expose();
                k.len() == candidate.len() && bool::from(k.ct_eq(candidate))
            }),
            Err(_) => false,
        }
    }

    pub fn forget_root(&self) {
        if let Ok(mut g) = self.root.lock() {
            *g = None;
        }
    }

    /// Reopens the barrier with the remembered root key (after a restore).
    pub fn reopen(&self, barrier: &Barrier) -> CoreResult<()> {
        let g = self.root.lock().map_err(|_| CoreError::internal("root key lock poisoned"))?;
        let root = g.as_ref().ok_or(CoreError::Sealed)?;
        match barrier.unseal(root) {
            Ok(()) => Ok(()),
            Err(BarrierError::InvalidKey) => Err(CoreError::Sealed),
            Err(e) => Err(e.into()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        match self.progress.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Adds one key share; unseals the barrier when the threshold is reached. A wrong
    /// combination resets progress (as Vault does) and reports a client error.
    pub fn submit(
        &self,
        barrier: &Barrier,
        share: Zeroizing<Vec<u8>>,
    ) -> CoreResult<UnsealOutcome> {
        if !barrier.is_sealed() {
            return Ok(UnsealOutcome::AlreadyUnsealed);
        }
        let cfg =
            self.config(barrier)?.ok_or_else(|| CoreError::bad("Vault is not initialized"))?;
        let mut p = self.lock();
        if p.shares.iter().any(|s| **s == *share) {
            return Err(CoreError::bad("given key share is already part of the unseal process"));
        }
        if p.shares.is_empty() {
            p.nonce = crate::util::ids::uuid();
        }
        p.shares.push(share);
        if p.shares.len() < usize::from(cfg.secret_threshold) {
            return Ok(UnsealOutcome::Progress(p.shares.len() as u8));
        }
        let shares = std::mem::take(&mut p.shares);
        p.nonce.clear();
        drop(p);
        let secret: Zeroizing<Vec<u8>> = if cfg.secret_threshold == 1 {
            Zeroizing::new(shares[0].to_vec())
        } else {
            let raw: Vec<Vec<u8>> = shares.iter().map(|s| s.to_vec()).collect();
            let combined = shamir::combine(&raw);
            for mut r in raw {
                zeroize::Zeroize::zeroize(&mut r);
            }
            Zeroizing::new(combined.map_err(|_| CoreError::bad("invalid key shares"))?)
        };
        let root = RootKey::from_bytes(&secret).map_err(|_| CoreError::bad("invalid key"))?;
        match barrier.unseal(&root) {
            Ok(()) => {
                self.remember_root(root);
                Ok(UnsealOutcome::Unsealed)
            }
            Err(BarrierError::InvalidKey) => Err(CoreError::bad(
                "Error unsealing: cipher: message authentication failed (invalid key)",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// Decodes an unseal key as Vault accepts it: hex first, then standard base64.
pub fn decode_key(s: &str) -> CoreResult<Zeroizing<Vec<u8>>> {
    use base64::Engine as _;
    let s = s.trim();
    if let Ok(b) = hex::decode(s) {
        return Ok(Zeroizing::new(b));
    }
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map(Zeroizing::new)
        .map_err(|_| CoreError::bad("'key' must be a valid hex or base64 string"))
}
